//! Faults: kills, Ctrl-C, a daemon that goes away. Whatever happens, the tools
//! lose nothing, never hang, and a rerun finishes the work.

use golden_tests::*;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_kill_at_any_point_of_create_leaves_a_usable_golden() {
    let p = Project::new("ft-kill-create");
    p.instance("t", None);
    assert_eq!(p.tool("golden-create", &["t"]).code, 0);
    // Each step of a create that replaces a pristine, named in the tool
    // (golden::killpoint): the kill lands there on every run.
    for (i, point) in [
        "create:stopped",
        "create:templated",
        "swap:next-made",
        "swap:old-set-aside",
        "swap:renamed",
    ]
    .iter()
    .enumerate()
    {
        p.incus(&["start", "t"]);
        let r = run(golden("golden-create")
            .args(["-q", "t", "--project", &p.name])
            .env("GOLDEN_KILL_AT", point));
        assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
        assert!(
            !p.pristine_like("t").is_empty(),
            "no golden after a kill at {point}"
        );
        let clone = format!("c{i}");
        let r = p.tool("golden-derive", &["-q", "t", &clone]);
        assert_eq!(r.code, 0, "derive after a kill at {point}: {}", r.stderr);
        let r = p.tool("golden-create", &["-q", "t"]);
        assert_eq!(r.code, 0, "create after a kill at {point}: {}", r.stderr);
        assert_eq!(
            p.pristine_like("t"),
            ["pristine"],
            "after a kill at {point}"
        );
    }
}

#[test]
fn there_is_never_a_moment_without_a_golden() {
    let p = Project::new("ft-poll");
    p.instance("t", None);
    assert_eq!(p.tool("golden-create", &["t"]).code, 0);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (polls, empty) = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let (mut polls, mut empty) = (0, Vec::new());
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let seen = p.snapshots("t");
                polls += 1;
                if !seen.iter().any(|n| n.starts_with("pristine")) {
                    empty.push(seen);
                }
            }
            (polls, empty)
        });
        for _ in 0..8 {
            let r = p.tool("golden-create", &["-q", "t"]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        poller.join().unwrap()
    });
    assert!(polls > 10, "the poller must have looked often ({polls})");
    assert!(empty.is_empty(), "states with no pristine: {empty:?}");
}

#[test]
fn a_kill_during_a_bulk_derive_leaves_whole_instances_and_a_rerun_finishes() {
    let p = Project::new("ft-kill-derive");
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let names: Vec<String> = (1..=20).map(|i| format!("k{i}")).collect();
    let mut child = golden("golden-derive")
        .args([
            "-q",
            "-j",
            "2",
            "-H",
            "-o",
            "instance",
            "tpl",
            "--project",
            &p.name,
        ])
        .args(&names)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed as soon as the first clone is reported: the others are under way
    // or not started, whatever the machine's speed.
    let first = first_line(&mut child);
    signal(child.id(), "KILL");
    let _ = child.wait();
    p.wait_operations();
    let made: Vec<String> = p.instances().into_iter().filter(|n| n != "tpl").collect();
    assert!(made.contains(&first), "{first} was reported: {made:?}");
    assert!(
        made.len() < names.len(),
        "a kill after the first clone cannot let all {} be made ({made:?})",
        names.len()
    );
    for n in &made {
        p.incus(&["start", n]);
        assert_eq!(p.get(n)["config"]["user.golden.template"], "tpl");
    }
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--skip-existing", "tpl"]
            .iter()
            .copied()
            .chain(names.iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let recs = json_lines(&r.stdout);
    let skipped = recs.iter().filter(|v| v["status"] == "skipped").count();
    assert_eq!(
        skipped,
        made.len(),
        "what was made is skipped, not made twice"
    );
    assert_eq!(recs.len(), names.len());
    let mut all = names.clone();
    all.push("tpl".into());
    all.sort();
    assert_eq!(p.instances(), all);
}

/// Reads the first line a child writes on its (piped) stdout, and leaves the
/// rest of it to read.
fn first_line(child: &mut std::process::Child) -> String {
    let out = child.stdout.as_mut().expect("piped stdout");
    // Byte by byte: nothing past the line is taken from the pipe.
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = std::io::Read::read(out, &mut byte).unwrap();
        assert!(n == 1, "the tool ended before printing a record");
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// A bulk derive sent `sig` after its first record: it finishes what was under
/// way, prints it, starts nothing new, and exits 130.
fn interrupt_a_bulk_derive(sig: &str, tag: &str, count: usize) {
    let p = Project::new(tag);
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let names: Vec<String> = (1..=count).map(|i| format!("s{i}")).collect();
    let mut child = golden("golden-derive")
        .args([
            "-j",
            "2",
            "-H",
            "-o",
            "instance",
            "tpl",
            "--project",
            &p.name,
        ])
        .args(&names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = vec![first_line(&mut child)];
    signal(child.id(), sig);
    for l in BufReader::new(child.stdout.take().unwrap()).lines() {
        printed.push(l.unwrap());
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "SIG{sig}: {status:?} {err}");
    assert!(
        err.contains("interrupted:") && err.contains("not started"),
        "SIG{sig}: {err}"
    );
    p.wait_operations();
    let mut made: Vec<String> = p.instances().into_iter().filter(|n| n != "tpl").collect();
    made.sort();
    printed.sort();
    assert_eq!(
        printed, made,
        "SIG{sig}: every instance made is printed, and only those"
    );
    assert!(
        made.len() < names.len(),
        "SIG{sig}: nothing new started after the signal"
    );
    // No half-made clone: each one is whole, provenance and all.
    for n in &made {
        assert_eq!(
            p.get(n)["config"]["user.golden.template"],
            "tpl",
            "SIG{sig}: {n}"
        );
    }
}

#[test]
fn ctrl_c_finishes_what_was_sent_prints_it_and_starts_nothing_new() {
    interrupt_a_bulk_derive("INT", "ft-sigint", 16);
}

#[test]
fn sigterm_finishes_what_was_sent_prints_it_and_starts_nothing_new() {
    interrupt_a_bulk_derive("TERM", "ft-sigterm", 12);
}

#[test]
fn an_unreachable_daemon_is_a_clear_error_within_seconds_for_every_tool() {
    let cases: &[(&str, &[&str])] = &[
        ("golden-create", &["x"]),
        ("golden-derive", &["x", "y"]),
        ("golden-publish", &["x", "--alias", "a"]),
        ("golden-ls", &[]),
    ];
    for (tool, args) in cases {
        let t = Instant::now();
        let r = run(golden(tool)
            .args(*args)
            .env("INCUS_DIR", "/nonexistent/golden"));
        assert_eq!(r.code, 1, "{tool}: {}", r.stderr);
        assert!(
            r.stderr.contains("cannot reach Incus") && r.stderr.contains("incus info"),
            "{tool}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.trim().lines().count(), 1, "{tool}: {}", r.stderr);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{tool} took {:?}",
            t.elapsed()
        );
    }
}

/// A second private daemon of this test's own, since it is shut down mid-run:
/// a directory and network namespace of its own (what one test's kill leaves
/// is never met by the next), and the tests that use one take turns.
struct FaultDaemon {
    dir: String,
    netns: String,
    _turn: std::sync::MutexGuard<'static, ()>,
}

static FAULT_DAEMON: std::sync::Mutex<()> = std::sync::Mutex::new(());
static FAULT_DAEMONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl FaultDaemon {
    fn start() -> Self {
        let turn = FAULT_DAEMON.lock().unwrap_or_else(|e| e.into_inner());
        let n = FAULT_DAEMONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = FaultDaemon {
            dir: format!("/tmp/golden-fault-{}-{n}", std::process::id()),
            netns: format!("golden-fault-{}-{n}", std::process::id()),
            _turn: turn,
        };
        assert!(
            d.script("start").success(),
            "second private daemon did not start"
        );
        d
    }
    fn script(&self, verb: &str) -> std::process::ExitStatus {
        std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/incus.sh"))
            .arg(verb)
            .env("GOLDEN_INCUS_DIR", &self.dir)
            .env("GOLDEN_INCUS_NETNS", &self.netns)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    }
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env("INCUS_DIR", &self.dir)
            .env("INCUS_CONF", format!("{}.state/client", self.dir));
        c
    }
    fn incus(&self, args: &[&str]) {
        let out = self.cmd("incus").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "incus {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    /// `incus query PATH` of this daemon: the object, or None if it answers an error.
    fn query(&self, path: &str) -> Option<serde_json::Value> {
        let out = self.cmd("incus").args(["query", path]).output().unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }
    fn pid(&self) -> u32 {
        std::fs::read_to_string(format!("{}.state/incusd.pid", self.dir))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for FaultDaemon {
    fn drop(&mut self) {
        self.script("stop");
    }
}

#[test]
fn a_daemon_that_dies_mid_run_gives_clear_errors_and_a_rerun_completes() {
    let d = FaultDaemon::start();
    d.incus(&["init", "busybox", "tpl", "-q"]);
    d.incus(&["snapshot", "create", "tpl", "pristine"]);
    let names: Vec<String> = (1..=20).map(|i| format!("d{i}")).collect();
    let t = Instant::now();
    let mut child = d
        .cmd(bin("golden-derive"))
        .args(["-q", "-j", "2", "-H", "-o", "instance", "tpl"])
        .args(&names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The daemon dies once the first clone is reported, whatever the machine's
    // speed: the rest are under way or not started.
    let first = first_line(&mut child);
    signal(d.pid(), "KILL");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "it hung: {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    let failed = err
        .lines()
        .filter(|l| l.starts_with("golden-derive: d"))
        .count();
    let done = 1 + String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(failed > 0, "{first} was reported, the rest failed: {err}");
    assert_eq!(
        failed + done,
        names.len(),
        "every record is done or named as failed: {err}"
    );
    assert!(
        err.contains("cannot reach Incus") || err.contains("incus info"),
        "{err}"
    );

    assert!(d.script("start").success(), "the daemon came back");
    let out = d
        .cmd(bin("golden-derive"))
        .args(["-q", "--skip-existing", "-f", "json", "tpl"])
        .args(&names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rerun: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = d
        .cmd("incus")
        .args(["list", "-f", "csv", "-c", "n"])
        .output()
        .unwrap();
    let have: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    for n in &names {
        assert!(have.contains(n), "{n} missing after the rerun");
    }
}

/// What a daemon killed between a copy's two steps leaves (Incus 6.0.4 writes
/// the instance's record, then its volume's record, then the volume): a record
/// with the copy request's config — derive's provenance, its identity pending —
/// and no volume. The window between the two writes is a few milliseconds, too
/// short to kill into on purpose every run, so the volume's record and the
/// (still empty) volume are removed, then the daemon is killed and started again.
fn cut_short(d: &FaultDaemon, names: &[(&str, &str)]) {
    for (name, identity) in names {
        d.incus(&[
            "config",
            "set",
            name,
            &format!("user.golden.identity={identity}"),
        ]);
        // The file helper derive's reset started would outlive the kill (a
        // copy cut short never had one): a snapshot stops it.
        d.incus(&["snapshot", "create", name, "helper-stop"]);
        d.incus(&["snapshot", "delete", name, "helper-stop"]);
        let sql = format!(
            "DELETE FROM storage_volumes WHERE name = '{name}' AND type = 0 AND project_id = \
             (SELECT id FROM projects WHERE name = 'default')"
        );
        d.incus(&["admin", "sql", "global", &sql]);
        let path = format!("{}/storage-pools/gbtrfs/containers/{name}", d.dir);
        let out = std::process::Command::new("nsenter")
            .args([
                "-t",
                &d.pid().to_string(),
                "-m",
                "--",
                "btrfs",
                "subvolume",
                "delete",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    signal(d.pid(), "KILL");
    assert!(d.script("start").success(), "the daemon came back");
}

#[test]
fn a_clone_a_killed_daemon_left_without_a_volume_is_made_again_by_a_rerun() {
    let d = FaultDaemon::start();
    d.incus(&["init", "busybox", "tpl", "-q"]);
    d.incus(&["snapshot", "create", "tpl", "pristine"]);
    let out = d
        .cmd(bin("golden-derive"))
        .args(["-q", "tpl", "c1", "c2", "c3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    cut_short(&d, &[("c1", "pending"), ("c3", "-")]);
    // As a user meets it: the daemon's 404, which is no "file not found".
    let held = d
        .cmd("incus")
        .args(["file", "pull", "c1/etc/hostname", "-"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&held.stderr).contains("Instance storage pool not found"),
        "{held:?}"
    );

    let out = d
        .cmd(bin("golden-derive"))
        .args(["--skip-existing", "-f", "json", "tpl", "c1", "c2", "c3"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let by_name: std::collections::BTreeMap<String, String> = json_lines(&stdout)
        .iter()
        .map(|j| {
            (
                j["instance"].as_str().unwrap().to_string(),
                j["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        by_name.get("c2").map(String::as_str),
        Some("skipped"),
        "{by_name:?}"
    );
    assert!(
        by_name.get("c1").is_some_and(|s| s != "skipped"),
        "{by_name:?}"
    );
    // c1 made again: it has its volume.
    d.incus(&["storage", "volume", "show", "gbtrfs", "container/c1"]);
    // c3, left so after a user took it (its identity no longer pending), is not
    // ours to remove: skipped as the user's; what the user meets then is one
    // line saying what to do.
    assert_eq!(
        by_name.get("c3").map(String::as_str),
        Some("skipped"),
        "{by_name:?}"
    );
    let held = d.cmd(bin("golden-create")).args(["c3"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&held.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(held.status.code(), Some(1), "{stderr}");
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("golden-create: c3")
            && lines[0].contains("without a storage volume")
            && lines[0].contains("incus delete"),
        "{stderr}"
    );
}

/// A daemon killed while it copies a clone leaves the clone's record with its
/// copy cut short: Incus writes the record, then the volume's, then copies
/// the data, and only then sets `volatile.apply_template` (cleared at the
/// first start). Every request about such a clone but its deletion fails
/// ("Failed getting instance pool: Instance storage pool not found", or its
/// rootfs missing), so a rerun that took it for made failed. The rerun with
/// --skip-existing removes it, says so, and copies it again.
#[test]
fn a_clone_whose_copy_the_daemon_died_under_is_made_again_by_a_rerun() {
    let d = FaultDaemon::start();
    // On the dir pool the copy is a full one: long enough to be caught under way.
    d.incus(&["init", "busybox", "tpl", "-q", "-s", "gdir"]);
    let big = big_file(300);
    let push = format!("{}", big.path().display());
    d.incus(&["file", "push", &push, "tpl/big"]);
    d.incus(&["snapshot", "create", "tpl", "pristine"]);
    let child = d
        .cmd(bin("golden-derive"))
        .args(["-q", "-f", "json", "tpl", "c1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The clone's record exists and its copy is under way: the daemon dies,
    // with the copy it runs (its whole process group, as when the host goes).
    let t = Instant::now();
    let config = loop {
        if let Some(i) = d.query("/1.0/instances/c1") {
            break i["config"].clone();
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no record of c1");
    };
    assert!(config["volatile.apply_template"].is_null(), "{config}");
    signal_group(d.pid(), "KILL");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(d.script("start").success(), "the daemon came back");
    let left = d.query("/1.0/instances/c1").expect("c1's record is left");
    assert!(
        left["config"]["volatile.apply_template"].is_null(),
        "{left}"
    );

    let out = d
        .cmd(bin("golden-derive"))
        .args(["--skip-existing", "-f", "json", "tpl", "c1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rerun: {err}");
    assert!(
        err.contains("c1: its copy by an earlier run was cut short"),
        "{err}"
    );
    let rec = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rec[0]["status"], "Stopped", "{rec:?}");
    // Whole: it holds the template's file, and starts.
    let pulled = tempfile::NamedTempFile::new().unwrap();
    let pull = format!("{}", pulled.path().display());
    d.incus(&["file", "pull", "c1/big", &pull]);
    assert_eq!(
        std::fs::metadata(pulled.path()).unwrap().len(),
        300 << 20,
        "c1/big"
    );
    d.incus(&["start", "c1"]);
    d.incus(&["stop", "--force", "c1"]);
}

/// `kill -SIG -- -PGID`: a process and everything it runs in its group.
fn signal_group(pgid: u32, sig: &str) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} -- -{pgid}");
}
