//! Harness for golden's end-to-end tests: a real private incusd (started by
//! `tests/incus.sh start`), one Incus project per test, and the real binaries.
//!
//! Every command run here gets the private daemon's `INCUS_DIR` and a client
//! config of its own (`INCUS_CONF`), so no test can reach a system Incus or a
//! user's remotes.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Set by [`use_cluster`]: every command of the process talks to the private
/// cluster's member 1 instead of the standalone daemon (its INCUS_DIR, INCUS_CONF).
static CLUSTER: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// The private cluster's directory, as `tests/cluster.sh` lays it out
/// (`m1`, `m2`, `m3` in it; pids, logs and the client config in `DIR.state`).
pub fn cluster_dir() -> String {
    std::env::var("GOLDEN_CLUSTER_DIR").unwrap_or_else(|_| "/tmp/golden-cluster".to_string())
}

/// Points every command of this test process (incus, the tools, projects) at
/// the private 3-member cluster (`tests/cluster.sh start`), through member 1.
pub fn use_cluster() {
    CLUSTER.get_or_init(|| {
        let d = cluster_dir();
        (format!("{d}/m1"), format!("{d}.state/client"))
    });
}

/// The private daemon's directory, as `tests/incus.sh` lays it out.
pub fn incus_dir() -> String {
    if let Some((dir, _)) = CLUSTER.get() {
        return dir.clone();
    }
    std::env::var("GOLDEN_INCUS_DIR").unwrap_or_else(|_| "/tmp/golden-incus".to_string())
}

pub fn incus_conf() -> String {
    if let Some((_, conf)) = CLUSTER.get() {
        return conf.clone();
    }
    format!("{}.state/client", incus_dir())
}

/// Fails the test (never skips it) when the private Incus is not running.
pub fn require_daemon() {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| {
        let ok = incus(&["query", "/1.0"]).status.success();
        let script = if CLUSTER.get().is_some() {
            "tests/cluster.sh"
        } else {
            "tests/incus.sh"
        };
        assert!(
            ok,
            "no private Incus answers at INCUS_DIR={}: start it with `{script} start` \
             (or run `make test`, which does)",
            incus_dir()
        );
    });
}

/// A command with the private daemon's environment.
pub fn command(program: impl Into<std::ffi::OsString>) -> Command {
    let mut c = Command::new(program.into());
    c.env("INCUS_DIR", incus_dir())
        .env("INCUS_CONF", incus_conf())
        .env_remove("GOLDEN_TRACE")
        // A table in a pipe fits COLUMNS if the runner's shell exports it.
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    c
}

/// Runs `incus ARGS` against the private daemon.
pub fn incus(args: &[&str]) -> Output {
    command("incus").args(args).output().expect("run incus")
}

/// Runs `incus ARGS` and fails the test if it fails.
pub fn incus_ok(args: &[&str]) -> String {
    let out = incus(args);
    assert!(
        out.status.success(),
        "incus {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Path of one of the workspace's binaries (built by `cargo build` before the tests).
pub fn bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build` first (make test does)",
        path.display()
    );
    path
}

/// A golden tool as a command against the private daemon, with only the
/// tools on its PATH: they speak to Incus themselves, no `incus` binary needed.
pub fn golden(tool: &str) -> Command {
    let mut c = command(bin(tool));
    c.env("PATH", bin(tool).parent().expect("the tools' directory"));
    c
}

/// `make -s` in the environment a user's shell has: without the variables
/// cargo sets for a test binary. ring's build script reruns when
/// CARGO_MANIFEST_DIR changes, so with them `make build` rebuilt the whole
/// release tree (4-8 minutes of every `make test`) that `make demo` had built.
pub fn make_command() -> std::process::Command {
    let mut c = command("make");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let from_cargo = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*name);
        if from_cargo {
            c.env_remove(&*name);
        }
    }
    c.arg("-s");
    c
}

/// The result of a tool run, for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test at the caller's line, with the tool's stderr, unless
    /// the tool exited 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "exit {}: {}", self.code, self.stderr);
        self
    }

    /// Fails the test at the caller's line, with the tool's stderr, unless
    /// the tool exited `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit {} (not {code}): {}",
            self.code, self.stderr
        );
        self
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run tool");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command with `input` on its stdin.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Run {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tool");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait tool");
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses NDJSON output into objects.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// An Incus project of a test's own, removed with everything in it when dropped.
/// It uses the default project's images and profiles (busybox, root disk on the
/// btrfs pool), so fixtures are quick to make.
pub struct Project {
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Config key naming the test project a custom volume belongs to.
const VOLUME_OWNER: &str = "user.golden-test.project";

/// The project an instance URL of the API names (`/1.0/instances/X?project=P`;
/// none: `default`); None for URLs of other objects.
fn url_project(url: &str) -> Option<String> {
    let rest = url.strip_prefix("/1.0/instances/")?;
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    Some(
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix("project="))
            .unwrap_or("default")
            .to_string(),
    )
}

/// The temporary snapshots of golden-create's swap, and the expiry that marks
/// them as its own (golden::model's `PRISTINE_NEXT`, `PRISTINE_OLD`, `SWAP_MARK`).
pub const SWAP_NEXT: &str = "pristine.golden-next";
pub const SWAP_OLD: &str = "pristine.golden-old";
pub const SWAP_MARK: &str = "9999-12-31T00:00:00Z";

impl Project {
    pub fn new(tag: &str) -> Self {
        require_daemon();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Project::named(format!("t{}-{tag}-{n}", std::process::id()))
    }

    /// A project of exactly this name (a leftover of that name is removed first).
    pub fn named(name: String) -> Self {
        require_daemon();
        // A leftover from a killed run of the same pid is removed first.
        let p = Project { name };
        p.purge();
        incus_ok(&[
            "project",
            "create",
            &p.name,
            "-c",
            "features.images=false",
            "-c",
            "features.profiles=false",
            "-c",
            "features.storage.volumes=false",
        ]);
        p
    }

    /// `incus --project THIS ARGS`, which must succeed. After `start`, each
    /// instance started is returned only once its init can take a clean
    /// stop ([`wait_init`]).
    pub fn incus(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = vec!["--project", &self.name];
        all.extend(args);
        let out = incus_ok(&all);
        if args.first() == Some(&"start") {
            for name in args[1..].iter().filter(|a| !a.starts_with('-')) {
                wait_init(&self.name, name);
            }
        }
        out
    }

    /// A stopped busybox container, on `pool` (None: the default btrfs pool).
    pub fn instance(&self, name: &str, pool: Option<&str>) {
        match pool {
            Some(p) => self.incus(&["init", "busybox", name, "-s", p]),
            None => self.incus(&["init", "busybox", name]),
        };
    }

    pub fn snapshot(&self, instance: &str, snap: &str) {
        self.incus(&["snapshot", "create", instance, snap]);
    }

    /// An instance with a `pristine` snapshot, made with plain incus.
    pub fn golden(&self, name: &str, pool: Option<&str>) {
        self.instance(name, pool);
        self.snapshot(name, "pristine");
    }

    /// A temporary snapshot of golden-create's swap, as a run killed half-way
    /// leaves it (named and marked as the swap's own).
    pub fn swap_leftover(&self, instance: &str, snap: &str) {
        let body = format!(r#"{{"name":"{snap}","expires_at":"{SWAP_MARK}"}}"#);
        incus_ok(&[
            "query",
            "-X",
            "POST",
            "--wait",
            "-d",
            &body,
            &format!("/1.0/instances/{instance}/snapshots?project={}", self.name),
        ]);
    }

    /// The same for a custom volume of the default store.
    pub fn volume_swap_leftover(pool: &str, volume: &str, snap: &str) {
        let body = format!(r#"{{"name":"{snap}","expires_at":"{SWAP_MARK}"}}"#);
        incus_ok(&[
            "query",
            "-X",
            "POST",
            "--wait",
            "-d",
            &body,
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{volume}/snapshots?project=default"),
        ]);
    }

    /// Created_at of one of an instance's snapshots, as the daemon reports it.
    pub fn snapshot_created_at(&self, instance: &str, snap: &str) -> String {
        let out = incus_ok(&[
            "query",
            &format!(
                "/1.0/instances/{instance}/snapshots/{snap}?project={}",
                self.name
            ),
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["created_at"].as_str().unwrap().to_string()
    }

    /// A custom volume of this test's own on `pool`, named `PROJECT-SUFFIX` and
    /// marked as this project's, so that it is removed with the project.
    pub fn volume(&self, pool: &str, suffix: &str) -> String {
        let vol = format!("{}-{suffix}", self.name);
        incus_ok(&[
            "storage",
            "volume",
            "create",
            pool,
            &vol,
            &format!("{VOLUME_OWNER}={}", self.name),
        ]);
        vol
    }

    /// Custom volumes (in `default`, where the tests' projects keep them) that
    /// belong to this project: marked as its own by [`Project::volume`], or used
    /// by one of its instances. Exact matches only: project `t1-x-1` never takes
    /// `t1-x-10`'s volumes.
    fn own_volumes(&self) -> Vec<(&'static str, String)> {
        let mut own = Vec::new();
        // `local`: the cluster's pool (each member's own; a volume is found by name).
        for pool in ["gbtrfs", "gdir", "local"] {
            let out = incus(&[
                "query",
                &format!("/1.0/storage-pools/{pool}/volumes/custom?recursion=1&project=default"),
            ]);
            let vols: Vec<serde_json::Value> =
                serde_json::from_slice(&out.stdout).unwrap_or_default();
            for v in vols {
                let marked = v["config"][VOLUME_OWNER] == self.name.as_str();
                let used = v["used_by"].as_array().is_some_and(|u| {
                    u.iter()
                        .filter_map(|u| u.as_str())
                        .any(|u| url_project(u).as_deref() == Some(self.name.as_str()))
                });
                if marked || used {
                    own.push((pool, v["name"].as_str().unwrap_or_default().to_string()));
                }
            }
        }
        own
    }

    fn purge(&self) {
        // Read before the instances go, while `used_by` still names them.
        let volumes = self.own_volumes();
        // Goldens with clones are protected from deletion (golden-derive):
        // lifted first, as a user retiring them does.
        let out = incus(&[
            "query",
            &format!("/1.0/instances?recursion=1&project={}", self.name),
        ]);
        let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for i in all {
            if i["config"]["security.protection.delete"] == "true" {
                let name = i["name"].as_str().unwrap_or_default();
                let _ = incus(&[
                    "config",
                    "unset",
                    name,
                    "security.protection.delete",
                    "--project",
                    &self.name,
                ]);
            }
        }
        for name in instance_names(&self.name) {
            let _ = incus(&["delete", "--force", &name, "--project", &self.name]);
        }
        for (pool, vol) in volumes {
            let _ = incus(&["storage", "volume", "delete", pool, &vol]);
        }
        // Images published from this project's goldens, wherever they were stored.
        for store in [self.name.as_str(), "default"] {
            let out = incus(&["query", &format!("/1.0/images?recursion=1&project={store}")]);
            let images: Vec<serde_json::Value> =
                serde_json::from_slice(&out.stdout).unwrap_or_default();
            for i in images {
                // Only what golden-publish made from here: an unknown project's
                // listing may fall back to `default`, whose images others use.
                // And the images golden-refresh rebuilds from.
                let refreshed = i["properties"]["golden.refresh.template"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&format!("{}/", self.name)));
                if i["properties"]["golden.project"] == self.name.as_str() || refreshed {
                    let fp = i["fingerprint"].as_str().unwrap_or_default();
                    let _ = incus(&["image", "delete", fp, "--project", store]);
                }
            }
        }
        let _ = incus(&["project", "delete", &self.name]);
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.purge();
    }
}

impl Project {
    /// Names of the project's instances, sorted.
    pub fn instances(&self) -> Vec<String> {
        instance_names(&self.name)
    }

    /// An instance's API object.
    pub fn get(&self, instance: &str) -> serde_json::Value {
        let out = incus_ok(&[
            "query",
            &format!("/1.0/instances/{instance}?project={}", self.name),
        ]);
        serde_json::from_str(&out).unwrap()
    }

    /// Snapshot names of an instance, sorted.
    pub fn snapshots(&self, instance: &str) -> Vec<String> {
        let out = incus_ok(&[
            "query",
            &format!(
                "/1.0/instances/{instance}/snapshots?recursion=1&project={}",
                self.name
            ),
        ]);
        let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let mut n: Vec<String> = v
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    }

    /// A golden tool with `--project THIS` appended.
    pub fn tool(&self, tool: &str, args: &[&str]) -> Run {
        run(golden(tool).args(args).args(["--project", &self.name]))
    }
}

/// Names of a project's instances, sorted (empty if the project is unknown).
pub fn instance_names(project: &str) -> Vec<String> {
    let out = incus(&["query", &format!("/1.0/instances?project={project}")]);
    let urls: Vec<String> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut names: Vec<String> = urls
        .iter()
        .filter_map(|u| u.trim_start_matches("/1.0/instances/").split('?').next())
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// The private daemon's pid (its pool mounts live in its own mount namespace).
pub fn daemon_pid() -> String {
    std::fs::read_to_string(format!("{}.state/incusd.pid", incus_dir()))
        .expect("private incusd pid file")
        .trim()
        .to_string()
}

/// Bytes of an instance volume that no other volume shares (btrfs), read in the
/// daemon's mount namespace.
pub fn btrfs_exclusive_bytes(pool: &str, project: &str, instance: &str) -> u64 {
    let path = format!(
        "{}/storage-pools/{pool}/containers/{project}_{instance}",
        incus_dir()
    );
    btrfs_exclusive_in(&daemon_pid(), &path, false)
}

/// Bytes of the btrfs subvolume at `path` that no other shares, read in the
/// mount namespace of the daemon `pid` (after a `sync` if asked).
pub fn btrfs_exclusive_in(pid: &str, path: &str, sync: bool) -> u64 {
    let du = format!("btrfs filesystem du --raw -s {path}");
    let line = if sync { format!("sync && {du}") } else { du };
    let out = Command::new("nsenter")
        .args(["-t", pid.trim(), "-m", "--", "sh", "-c", &line])
        .output()
        .expect("nsenter btrfs");
    assert!(
        out.status.success(),
        "btrfs du: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().nth(1).expect("btrfs du row");
    row.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Bytes used by an instance volume on a dir pool.
pub fn dir_bytes(pool: &str, project: &str, instance: &str) -> u64 {
    let path = format!(
        "{}/storage-pools/{pool}/containers/{project}_{instance}",
        incus_dir()
    );
    let out = Command::new("nsenter")
        .args(["-t", &daemon_pid(), "-m", "--", "du", "-s", "-B1", &path])
        .output()
        .expect("nsenter du");
    assert!(
        out.status.success(),
        "du: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A file of `mib` MiB of bytes that do not compress, for CoW measurements;
/// removed when dropped.
pub fn big_file(mib: usize) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for b in block.chunks_mut(8) {
            // xorshift: cheap bytes no filesystem can compress.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    f
}

impl Project {
    /// Waits until no operation runs in the project (requests a killed tool
    /// left with the daemon go on by themselves).
    pub fn wait_operations(&self) {
        for _ in 0..600 {
            let out = incus_ok(&["query", &format!("/1.0/operations?project={}", self.name)]);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let running = v
                .get("running")
                .and_then(|r| r.as_array())
                .map_or(0, |r| r.len());
            if running == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("operations still running in {} after 60 s", self.name);
    }

    /// Waits until the daemon reports no operation at all for the project, not
    /// even a finished one: Incus forgets finished operations a few seconds after
    /// they end, and then answers `/1.0/operations` with an empty map, which
    /// `incus query` prints as nothing. Polls that state, for up to 60 s.
    /// Operations are listed per project, so other tests' work elsewhere on the
    /// daemon does not matter (the tools ask about one project too).
    pub fn wait_quiet(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let path = format!("/1.0/operations?project={}", self.name);
        loop {
            let out = incus_ok(&["query", &path]);
            let quiet = out.trim().is_empty()
                || serde_json::from_str::<serde_json::Value>(&out)
                    .ok()
                    .and_then(|v| {
                        v.as_object()
                            .map(|m| m.values().all(|l| l.as_array().is_some_and(Vec::is_empty)))
                    })
                    .unwrap_or(false);
            if quiet {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the daemon still lists operations for {} after 60 s: {out}",
                self.name
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// Snapshot names of an instance that stand for pristine (the swap's
    /// temporary ones too), without the generations kept before it.
    pub fn pristine_like(&self, instance: &str) -> Vec<String> {
        self.snapshots(instance)
            .into_iter()
            .filter(|s| s.starts_with("pristine") && !is_generation(s))
            .collect()
    }

    /// Snapshot names of an instance, sorted, without the generations
    /// golden-create kept (`pristine.gN`).
    pub fn snapshots_but_generations(&self, instance: &str) -> Vec<String> {
        self.snapshots(instance)
            .into_iter()
            .filter(|s| !is_generation(s))
            .collect()
    }
}

/// Waits until the init of the running instance `name` has started the
/// first process of its own: only then has it set up its handling of the
/// halt signal. A clean stop (`incus stop`, golden-create's, golden-refresh's)
/// is that one signal, which PID 1 of a container drops while it has no
/// handler for it, and which is not sent again: sent right after a start on
/// a busy machine it was lost, and the stop waited until its timeout ("Failed
/// shutting down instance, status is "Running": context deadline exceeded",
/// fresh runs g-1 and b-1, both on busybox). Reproduced at will with an init
/// that sleeps 4 s before it execs busybox's: `incus stop --timeout 12` fails
/// so after 12 s, and the guest runs on. Busybox init forks its first child
/// (the ASKFIRST shell on the console) after that set-up, systemd its first
/// units. A bounded wait on the daemon's own count of the instance's
/// processes.
pub fn wait_init(project: &str, name: &str) {
    for _ in 0..600 {
        let out = incus(&[
            "query",
            &format!("/1.0/instances/{name}/state?project={project}"),
        ]);
        let state: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        if state["status"] != "Running" || state["processes"].as_i64().unwrap_or(0) >= 2 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{name}: its init started nothing within 30 s");
}

/// A generation golden-create kept: `pristine.gN`.
pub fn is_generation(snapshot: &str) -> bool {
    snapshot
        .strip_prefix("pristine.g")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Sends a signal to a process by number (`kill -SIG PID`).
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

/// The private daemon's network namespace (`tests/incus.sh`), where its
/// managed bridge lives: the guests' addresses are reached from there.
pub fn incus_netns() -> String {
    std::env::var("GOLDEN_INCUS_NETNS").unwrap_or_else(|_| "golden-incus".into())
}

/// The managed bridge of the private daemon (`tests/incus.sh`): DHCP, and
/// static addresses for the tests that need them.
pub const BRIDGE: &str = "goldenbr0";

/// A Debian golden `name` in `project` from the Debian 12 image, provisioned as
/// a real one would be; see [`debian_golden_from`].
pub fn debian_golden(project: &str, name: &str, init: &[&str], script: &str) {
    debian_golden_from("debian12", project, name, init, script);
}

/// A Debian golden `name` in `project` from `image` (`debian12`, `debian13`:
/// systemd, networkd with DHCP, sshd, dbus), provisioned as a real one is: it
/// boots (its first boot makes its machine-id), gets its own hostname, a
/// legacy dhclient lease and a random seed, runs `script` (a shell line), and
/// is made a golden by `golden-create`, whose stop is a real shutdown. `init`:
/// more `incus init` arguments; without a network of its own it gets a NIC on
/// the managed bridge.
pub fn debian_golden_from(image: &str, project: &str, name: &str, init: &[&str], script: &str) {
    let mut args = vec!["init", image, name, "--project", project];
    if !init.iter().any(|a| *a == "--network" || *a == "-n") {
        args.extend(["--network", BRIDGE]);
    }
    args.extend(init);
    incus_ok(&args);
    let state = boot(project, name);
    if state != "running" {
        // Which unit, and why: what a finding needs.
        let why = incus(&[
            "exec",
            name,
            "--project",
            project,
            "--",
            "sh",
            "-c",
            "systemctl --failed --no-legend; journalctl -b -p err --no-pager | tail -20",
        ]);
        panic!(
            "{name} ({image}) booted {state}: {}",
            String::from_utf8_lossy(&why.stdout)
        );
    }
    let script = format!(
        "echo {name} >/etc/hostname && hostname {name} && \
         printf '127.0.0.1\\tlocalhost\\n127.0.1.1\\t{name}.lab {name}\\n' >/etc/hosts && \
         dbus-uuidgen --ensure && \
         mkdir -p /var/lib/dhcp && echo lease >/var/lib/dhcp/dhclient.eth0.leases && \
         head -c 512 /dev/urandom >/var/lib/systemd/random-seed && {script}"
    );
    incus_ok(&[
        "exec",
        name,
        "--project",
        project,
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let r = run(golden("golden-create").args(["-q", name, "--project", project]));
    assert_eq!(r.code, 0, "golden-create {name}: {}", r.stderr);
}

/// Imports an image that `tests/incus.sh start` does not make (it costs a
/// build few tests need): `debian12-cloud`, Debian 12 with cloud-init. Built
/// once per recipe and cached as the others are (`tests/incus.sh image`).
pub fn on_demand_image(alias: &str) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    require_daemon();
    let _held = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/incus.sh"))
        .args(["image", alias])
        .env("GOLDEN_INCUS_DIR", incus_dir())
        .stdin(Stdio::null())
        .output()
        .expect("tests/incus.sh image");
    assert!(
        out.status.success(),
        "tests/incus.sh image {alias}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `name` (unless it runs) and waits until its systemd has finished
/// booting: `systemctl is-system-running --wait`'s answer (`running`,
/// `degraded`, ...).
pub fn boot(project: &str, name: &str) -> String {
    let st = incus_ok(&["query", &format!("/1.0/instances/{name}?project={project}")]);
    let v: serde_json::Value = serde_json::from_str(&st).unwrap();
    if v["status"] != "Running" {
        incus_ok(&["start", name, "--project", project]);
        wait_init(project, name);
    }
    booted(project, name)
}

/// Waits until systemd in the running `name` has finished booting, and
/// returns what it says of the system (`running`, `degraded`, ...).
pub fn booted(project: &str, name: &str) -> String {
    // `incus exec` may come before the guest's init is there: systemctl then
    // cannot reach it; a bounded poll of that state.
    for _ in 0..300 {
        let out = incus(&[
            "exec",
            name,
            "--project",
            project,
            "--",
            "timeout",
            "120",
            "systemctl",
            "is-system-running",
            "--wait",
        ]);
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !said.is_empty() && said != "offline" && said != "starting" && said != "initializing" {
            return said;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{name}: systemd did not finish booting within 30 s");
}

/// A Real Debian golden (the `debian12` and `debian13` images `tests/incus.sh
/// start` builds with mmdebstrap: systemd, networkd, openssh-server, dbus),
/// and its files.
impl Project {
    /// A Debian 12 golden provisioned as a real one would be
    /// ([`debian_golden_from`]).
    pub fn debian_golden(&self, name: &str) {
        self.debian_golden_with(name, &[], "true");
    }

    /// [`Project::debian_golden`], with more `incus init` arguments and a
    /// shell line run last in it.
    pub fn debian_golden_with(&self, name: &str, init: &[&str], script: &str) {
        debian_golden(&self.name, name, init, script);
    }

    /// A golden from `image` (`debian12`, `debian13`), with a shell line run
    /// last in it.
    pub fn debian_golden_from(&self, image: &str, name: &str, script: &str) {
        debian_golden_from(image, &self.name, name, &[], script);
    }

    /// Starts `name` and waits until it has booted; what systemd says.
    pub fn boot(&self, name: &str) -> String {
        boot(&self.name, name)
    }

    /// `sh -c LINE` in a running instance, which must succeed; its stdout.
    /// Read back through the files API from a file in the guest, never from
    /// `incus exec`'s own output: that came back empty, with exit 0, about
    /// once in 100-200 runs on a busy machine (Incus 6.0.4, seen on Debian
    /// 12 and 13: `cat /etc/machine-id; echo end` printed nothing at all),
    /// while the files API read the same file right 200 times in 200.
    pub fn sh(&self, instance: &str, line: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let out = format!(
            "/run/golden-test-{}-{}.out",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.incus(&[
            "exec",
            instance,
            "--",
            "sh",
            "-c",
            &format!("( {line} ) >{out}"),
        ]);
        self.file_or_why(instance, &out).unwrap_or_else(|why| {
            panic!("{instance}: {out} (the output of `{line}`) unreadable: {why}")
        })
    }

    /// The IPv4 address a booted instance holds on eth0, once networkd says
    /// it is configured (its DHCP lease came).
    pub fn ipv4(&self, instance: &str) -> String {
        self.sh(
            instance,
            "/lib/systemd/systemd-networkd-wait-online -i eth0 -4 --timeout=60",
        );
        let state = self.incus_query(&format!("/1.0/instances/{instance}/state"));
        state["network"]["eth0"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["family"] == "inet"))
            .and_then(|a| a["address"].as_str())
            .unwrap_or_else(|| panic!("{instance} has no IPv4 address: {state}"))
            .to_string()
    }

    /// The daemon's answer to GET `path` in this project.
    pub fn incus_query(&self, path: &str) -> serde_json::Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let out = incus_ok(&["query", &format!("{path}{sep}project={}", self.name)]);
        serde_json::from_str(&out).unwrap()
    }
}

/// The SSH host key fingerprint (`SHA256:...`) of type `kind` (ed25519, rsa,
/// ecdsa) that the sshd at `address` shows, as `ssh-keyscan` from the
/// bridge's namespace sees it.
pub fn keyscan(address: &str, kind: &str) -> String {
    keyscan_in(&incus_netns(), address, kind)
}

/// The network namespace of the private cluster's member `member`
/// (`tests/cluster.sh`), where its managed bridge is.
pub fn cluster_netns(member: &str) -> String {
    let ns = std::env::var("GOLDEN_CLUSTER_NETNS").unwrap_or_else(|_| "gcl".to_string());
    format!("{ns}-{member}")
}

/// [`keyscan`] from the network namespace `netns`.
pub fn keyscan_in(netns: &str, address: &str, kind: &str) -> String {
    let line = format!("ssh-keyscan -T 30 -t {kind} {address} 2>/dev/null | ssh-keygen -l -f -");
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", &line])
        .output()
        .expect("ip netns exec ssh-keyscan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.trim().is_empty(),
        "ssh-keyscan -t {kind} {address}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split_whitespace().nth(1).unwrap().to_string()
}

impl Project {
    /// A file of an instance (through the daemon: running or not), or None.
    pub fn file(&self, instance: &str, path: &str) -> Option<String> {
        self.file_or_why(instance, path).ok()
    }

    /// [`Project::file`], or what the daemon said. The daemon's file helper
    /// for an instance may be going away as a request comes ("forkfile.sock:
    /// connect: no such file or directory", golden::incus::Kind::FileHelperGone,
    /// which the tools ask again after): asked again once, as they do.
    pub fn file_or_why(&self, instance: &str, path: &str) -> Result<String, String> {
        let pull = || {
            incus(&[
                "file",
                "pull",
                &format!("{instance}{path}"),
                "-",
                "--project",
                &self.name,
            ])
        };
        let mut out = pull();
        let said = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
        if !out.status.success() && said(&out).contains("forkfile.sock") {
            out = pull();
        }
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(said(&out).trim().to_string())
        }
    }

    /// Writes `content` to a file of an instance (through the daemon).
    pub fn put(&self, instance: &str, path: &str, content: &str) {
        let local = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(local.path(), content).unwrap();
        incus_ok(&[
            "file",
            "push",
            local.path().to_str().unwrap(),
            &format!("{instance}{path}"),
            "--project",
            &self.name,
        ]);
    }

    /// `ssh-keygen -l -f` of a key file pulled from an instance: its fingerprint.
    pub fn fingerprint(&self, instance: &str, path: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("key");
        incus_ok(&[
            "file",
            "pull",
            &format!("{instance}{path}"),
            local.to_str().unwrap(),
            "--project",
            &self.name,
        ]);
        // ssh-keygen refuses a private key others can read.
        std::fs::set_permissions(&local, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let out = Command::new("ssh-keygen")
            .args(["-l", "-f"])
            .arg(&local)
            .output()
            .expect("ssh-keygen (openssh-client; tests/incus.sh install adds it)");
        assert!(
            out.status.success(),
            "ssh-keygen -l -f {instance}{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        line.split_whitespace().nth(1).unwrap().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_project_reads_the_project_of_instance_urls_only() {
        assert_eq!(
            url_project("/1.0/instances/c?project=t1-x-1").as_deref(),
            Some("t1-x-1")
        );
        assert_eq!(
            url_project("/1.0/instances/c/snapshots/pristine?project=p").as_deref(),
            Some("p")
        );
        assert_eq!(url_project("/1.0/instances/c").as_deref(), Some("default"));
        assert_eq!(url_project("/1.0/profiles/default?project=p"), None);
    }

    #[test]
    fn a_project_purges_exactly_its_own_volumes() {
        let volume_exists = |vol: &str| {
            incus(&["storage", "volume", "show", "gbtrfs", vol])
                .status
                .success()
        };
        let base = format!("t{}-purge", std::process::id());
        let one = Project::named(format!("{base}-1"));
        let ten = Project::named(format!("{base}-10"));
        let one_vol = one.volume("gbtrfs", "data");
        let ten_vol = ten.volume("gbtrfs", "data");
        // Not marked, but used by one of ten's instances.
        let used = format!("{base}-10-used");
        incus_ok(&["storage", "volume", "create", "gbtrfs", &used]);
        ten.instance("i", None);
        ten.incus(&["storage", "volume", "attach", "gbtrfs", &used, "i", "/data"]);
        drop(one);
        assert!(!volume_exists(&one_vol));
        assert!(volume_exists(&ten_vol) && volume_exists(&used));
        drop(ten);
        assert!(!volume_exists(&ten_vol) && !volume_exists(&used));
    }
}
