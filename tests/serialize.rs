//! What only the native client can do: send `If-Match`. Two golden-create of
//! one instance that share no local lock (two machines) still take turns (so
//! do a refresh and a restore of one clone), a killed holder does not block
//! the next run, and publish --replace moves an alias only if nobody moved it
//! since it was read.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use golden_tests::*;

/// A running instance that ignores the halt signal: a clean stop never ends.
fn stubborn(p: &Project) {
    p.instance("stubborn", None);
    make_stubborn(p);
}

/// The instance `stubborn`, there already, made to ignore a clean stop, and
/// started.
fn make_stubborn(p: &Project) {
    p.incus(&[
        "config",
        "set",
        "stubborn",
        "raw.lxc=lxc.signal.halt=SIGCONT",
    ]);
    p.incus(&["start", "stubborn"]);
}

/// The lease on `stubborn`, which must name the run `holder` as its owner.
fn held_by(p: &Project, holder: &Child) -> serde_json::Value {
    let held = lock_key(p);
    assert!(
        held.as_str()
            .unwrap_or("")
            .contains(&format!(":{}:", holder.id())),
        "{held}"
    );
    held
}

/// golden-create as if on a machine of its own: its own runtime directory, so
/// no local lock is shared with another run.
fn create_elsewhere(
    p: &Project,
    runtime: &tempfile::TempDir,
    args: &[&str],
) -> std::process::Command {
    let mut c = golden("golden-create");
    c.env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--project", &p.name])
        .args(args);
    c
}

/// Starts a run and returns once it said it is stopping the instance (it holds
/// both locks by then).
fn start_holding(mut cmd: std::process::Command) -> (Child, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "ended early: {seen:?}"
        );
        let stopping = line.contains("stopping stubborn");
        seen.push(line);
        if stopping {
            break;
        }
    }
    // Keep reading what it says: a closed stderr would end it on its next line.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, seen)
}

/// Spawns `cmd`, a run on another machine, and checks that the first thing
/// it says is that it waits for the holder of `held`, naming it; returns it,
/// the rest of its stderr and that first line.
fn spawn_waiting_for(
    cmd: &mut std::process::Command,
    held: &serde_json::Value,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let mut b = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(b.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(
        first.contains("waiting for another run on stubborn (held by")
            && first.contains(&format!(":{}:", a_pid(held))),
        "{first}"
    );
    (b, err, first)
}

fn lock_key(p: &Project) -> serde_json::Value {
    let proj: serde_json::Value =
        serde_json::from_str(&incus_ok(&["query", &format!("/1.0/projects/{}", p.name)])).unwrap();
    proj["config"]["user.golden.lock.stubborn"].clone()
}

#[test]
fn two_creates_that_share_no_local_lock_take_turns() {
    let p = Project::new("ser-turns");
    stubborn(&p);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A waits for a stop that never comes, holding the instance.
    let (mut a, _) = start_holding(create_elsewhere(
        &p,
        &a_dir,
        &["--timeout", "20", "stubborn"],
    ));
    let held = held_by(&p, &a);
    // B, told to kill, must wait for A: it says so, naming A.
    let (mut b, mut err, first) = spawn_waiting_for(
        &mut create_elsewhere(&p, &b_dir, &["--force", "--timeout", "1", "stubborn"]),
        &held,
    );
    // A dies holding it: B goes on (a holder of this machine that is gone
    // holds nothing), after what A left running on the daemon ends.
    signal(a.id(), "KILL");
    a.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let b = b.wait().unwrap();
    assert_eq!(b.code(), Some(0), "{first}{rest}");
    assert_eq!(p.snapshots_but_generations("stubborn"), ["pristine"]);
    assert!(lock_key(&p).is_null(), "released: {}", lock_key(&p));
}

/// Three machines make one golden again at the same moment, round after
/// round. Incus tells every write of the lease that read the same ETag that
/// it matched (its check and its write are apart), so before each run's
/// lease was confirmed after a settling wait, two of three runs often held it
/// at once and one failed in the swap ("Instance is busy running a "create"
/// operation", a -next deleted under the other as a leftover). Now every run
/// succeeds, each replacing the pristine the one before it made, and one
/// `pristine` is left with no lease and no temporary snapshot.
#[test]
fn three_creates_from_three_machines_at_once_take_turns() {
    let p = Project::new("ser-three");
    p.golden("gold", None);
    let machines: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for round in 0..8 {
        let mut pristine = p.snapshot_created_at("gold", "pristine");
        let runs: Vec<Child> = machines
            .iter()
            .map(|m| {
                create_elsewhere(&p, m, &["-f", "json", "gold"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut made = Vec::new();
        for r in runs {
            let out = r.wait_with_output().unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert_eq!(out.status.code(), Some(0), "round {round}: {stderr}");
            made.extend(json_lines(&stdout));
        }
        // One after the other: each replaced the pristine of the one before.
        for _ in 0..3 {
            let next = made
                .iter()
                .position(|r| r["previous"] == pristine.as_str())
                .unwrap_or_else(|| panic!("round {round}: none replaced {pristine}: {made:?}"));
            pristine = made.remove(next)["created_at"]
                .as_str()
                .unwrap()
                .to_string();
        }
        assert_eq!(
            p.snapshots_but_generations("gold"),
            ["pristine"],
            "round {round}"
        );
        assert_eq!(p.snapshot_created_at("gold", "pristine"), pristine);
        let proj: serde_json::Value =
            serde_json::from_str(&incus_ok(&["query", &format!("/1.0/projects/{}", p.name)]))
                .unwrap();
        assert!(
            proj["config"]["user.golden.lock.gold"].is_null(),
            "round {round}: {proj}"
        );
    }
}

fn a_pid(held: &serde_json::Value) -> String {
    let owner = held.as_str().unwrap().split(';').next().unwrap();
    owner.split(':').nth(1).unwrap().to_string()
}

#[test]
fn a_killed_holder_does_not_block_the_next_run() {
    let p = Project::new("ser-killed");
    stubborn(&p);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, _) = start_holding(create_elsewhere(
        &p,
        &a_dir,
        &["--timeout", "3", "stubborn"],
    ));
    signal(a.id(), "KILL");
    a.wait().unwrap();
    assert!(
        !lock_key(&p).is_null(),
        "the killed run could not release it"
    );
    // Its owner is on this machine and gone: the lock is stale at once.
    let b = run(&mut create_elsewhere(
        &p,
        &b_dir,
        &["-q", "--force", "stubborn"],
    ));
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert!(!b.stderr.contains("waiting"), "{}", b.stderr);
    assert_eq!(p.snapshots_but_generations("stubborn"), ["pristine"]);
    assert!(lock_key(&p).is_null());
}

/// A lock written by a run elsewhere holds its instance until it expires; it
/// does not hold a new instance of the same name (another uuid).
#[test]
fn a_lock_held_elsewhere_holds_until_it_expires_and_only_its_instance() {
    let p = Project::new("ser-elsewhere");
    p.golden("gold", None);
    let uuid = p.get("gold")["config"]["volatile.uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    incus_ok(&[
        "project",
        "set",
        &p.name,
        &format!("user.golden.lock.gold=owner=elsewhere:1:1;until={until};uuid={uuid}"),
    ]);
    // With no patience, create gives up at once, naming the holder; nothing done.
    let r = run(golden("golden-create")
        .env("GOLDEN_LOCK_TIMEOUT", "0")
        .args(["-q", "--project", &p.name, "gold"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("(elsewhere:1:1) still holds gold"),
        "{}",
        r.stderr
    );
    assert_eq!(p.snapshots_but_generations("gold"), ["pristine"]);
    // The same name, another instance: not held.
    p.incus(&["delete", "gold"]);
    p.golden("gold", None);
    let r = run(golden("golden-create")
        .env("GOLDEN_LOCK_TIMEOUT", "0")
        .args(["-q", "--project", &p.name, "gold"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A restore holds what a refresh holds: a refresh of the clone on another
/// machine (its own runtime directory) makes it wait, naming the holder;
/// nothing is restored until the holder is gone.
#[test]
fn a_restore_waits_for_a_refresh_held_elsewhere() {
    let p = Project::new("ser-restore");
    p.instance("tpl", None);
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    p.tool("golden-derive", &["-q", "tpl", "stubborn"])
        .assert_ok();
    // A new pristine, a refresh (which keeps stubborn-pre-refresh), and a
    // newer pristine: stubborn is stale again.
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    p.tool("golden-refresh", &["-q", "stubborn"]).assert_ok();
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    make_stubborn(&p);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A refreshes it elsewhere, waiting for a stop that never comes.
    let mut refresh = golden("golden-refresh");
    refresh.env("XDG_RUNTIME_DIR", a_dir.path()).args([
        "--project",
        &p.name,
        "--timeout",
        "20",
        "stubborn",
    ]);
    let (mut a, _) = start_holding(refresh);
    let held = held_by(&p, &a);
    // B, a restore on a machine of its own, waits for A, naming it.
    let (mut b, mut err, first) = spawn_waiting_for(
        golden("golden-refresh")
            .env("XDG_RUNTIME_DIR", b_dir.path())
            .args(["--project", &p.name, "--restore", "--force", "stubborn"]),
        &held,
    );
    assert!(
        p.instances().contains(&"stubborn-pre-refresh".to_string()),
        "nothing restored while A holds it"
    );
    // A dies holding it: B goes on and restores.
    signal(a.id(), "KILL");
    a.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let b = b.wait().unwrap();
    assert_eq!(b.code(), Some(0), "{first}{rest}");
    let names = p.instances();
    assert!(names.contains(&"stubborn".to_string()), "{names:?}");
    assert!(
        !names.contains(&"stubborn-pre-refresh".to_string()),
        "{names:?}"
    );
    assert!(lock_key(&p).is_null(), "released: {}", lock_key(&p));
}
