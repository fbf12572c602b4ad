//! golden-refresh end to end, on the private Incus: the seed's update cycle
//! on a lab of 20 Debian students, runs killed at several points, the
//! pre-refresh copy and its restore, and what each bad input gets.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use golden_tests::*;

/// What must survive a refresh of one student.
#[derive(Debug, PartialEq)]
struct Student {
    mac: String,
    key: String,
    machine_id: String,
    data: String,
    running: bool,
}

fn student(p: &Project, name: &str) -> Student {
    let inst = p.get(name);
    let running = inst["status"] == "Running";
    Student {
        mac: inst["config"]["volatile.eth0.hwaddr"]
            .as_str()
            .unwrap()
            .into(),
        key: p.fingerprint(name, "/etc/ssh/ssh_host_ed25519_key"),
        machine_id: p.file(name, "/etc/machine-id").unwrap(),
        // The volume is mounted only while the student runs.
        data: if running {
            p.sh(name, "cat /data/work")
        } else {
            String::new()
        },
        running,
    }
}

fn ls_json(p: &Project, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["-f", "json"];
    all.extend(args);
    let r = p.tool("golden-ls", &all);
    r.assert_ok();
    json_lines(&r.stdout)
}

#[test]
fn the_update_cycle_of_a_20_student_lab() {
    let p = Project::new("rf-lab");
    // Names are the machines' DNS names on the shared bridge: the project's own.
    let reference = format!("{}-ref", p.name);
    p.debian_golden_with(
        &reference,
        &["--network", "goldenbr0"],
        // Ed25519 and ECDSA host keys (RSA keys take a second each to make).
        "rm -f /etc/ssh/ssh_host_rsa_key*",
    );
    let students: Vec<String> = (1..=20).map(|i| format!("{}-s{i:02}", p.name)).collect();
    let mut derive = vec!["-q", reference.as_str()];
    derive.extend(students.iter().map(String::as_str));
    let r = p.tool("golden-derive", &derive);
    r.assert_ok();
    for (i, s) in students.iter().enumerate() {
        let vol = p.volume("gbtrfs", &format!("data{i}"));
        let source = format!("source={vol}");
        p.incus(&[
            "config",
            "device",
            "add",
            s,
            "data",
            "disk",
            "pool=gbtrfs",
            &source,
            "path=/data",
        ]);
    }
    let mut start = vec!["start"];
    start.extend(students.iter().map(String::as_str));
    p.incus(&start);
    for s in &students {
        p.incus(&[
            "exec",
            s,
            "--",
            "sh",
            "-c",
            &format!("echo work of {s} >/data/work"),
        ]);
    }
    // Half the class has gone home.
    let mut stop = vec!["stop"];
    stop.extend(students.iter().step_by(2).map(String::as_str));
    p.incus(&stop);
    let before: BTreeMap<&String, Student> = students.iter().map(|s| (s, student(&p, s))).collect();
    let base_image = |s: &str| p.get(s)["config"]["volatile.base_image"].clone();
    let base_before = base_image(&students[0]);
    assert!(base_before.is_string(), "{base_before}");

    // The update: the reference gets a file, and a new pristine.
    provision(&p, &reference, "echo v2 >/etc/golden-update");
    assert_eq!(ls_json(&p, &[&reference])[0]["stale"], 20);

    // One pipe, as the README shows it.
    let pipe = format!(
        "{} --clones -f json -p {p} {reference} | jq -c 'select(.stale)' | {} -f json",
        bin("golden-ls").display(),
        bin("golden-refresh").display(),
        p = p.name,
    );
    let r = run(command("sh").args(["-c", &pipe]));
    r.assert_ok();
    let records = json_lines(&r.stdout);
    assert_eq!(records.len(), 20, "{}", r.stdout);
    for rec in &records {
        assert_eq!(rec["status"], "refreshed", "{rec}");
        assert_eq!(rec["identity"], "carried", "{rec}");
    }
    assert_eq!(ls_json(&p, &[&reference])[0]["stale"], 0);
    assert!(ls_json(&p, &["--clones", &reference])
        .iter()
        .all(|c| c["stale"] == false));

    for s in &students {
        assert_eq!(&student(&p, s), &before[s], "{s}");
        // Not the refresh image, removed at the end of the run.
        assert_eq!(base_image(s), base_before, "{s}");
        assert_eq!(
            p.file(s, "/etc/golden-update").as_deref(),
            Some("v2\n"),
            "{s}"
        );
    }

    // Back as it was before, from the README's instructions.
    let one = &students[4];
    // Its kept copy cannot start by accident beside it, nor write its volume.
    let kept = p.get(&format!("{one}-pre-refresh"));
    assert_eq!(kept["config"]["boot.autostart"], "false", "{kept}");
    assert_eq!(kept["devices"]["data"]["type"], "none", "{kept}");
    let volume = p.get(one)["devices"]["data"].clone();
    assert_eq!(volume["type"], "disk");
    let r = p.tool("golden-refresh", &["--restore", one]);
    r.assert_ok();
    assert_eq!(p.file(one, "/etc/golden-update"), None);
    assert_eq!(&student(&p, one), &before[one]);
    let restored = p.get(one);
    assert_eq!(restored["devices"]["data"], volume, "its volume back");
    assert!(
        restored["config"].get("boot.autostart").is_none(),
        "{restored}"
    );
    assert_eq!(ls_json(&p, &["--clones", &reference]).len(), 20);
}

/// A busybox golden and clones with an identity of their own (a machine-id,
/// as the golden's templates render it at a clone's first start), then a new
/// pristine: every clone stale.
fn stale_clones(p: &Project, n: usize) -> Vec<String> {
    p.instance("tpl", None);
    provision(
        p,
        "tpl",
        "echo 0123456789abcdef0123456789abcdef >/etc/machine-id",
    );
    let clones: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let mut args = vec!["-q", "tpl"];
    args.extend(clones.iter().map(String::as_str));
    let r = p.tool("golden-derive", &args);
    r.assert_ok();
    let mut started = vec!["start"];
    started.extend(clones.iter().map(String::as_str));
    p.incus(&started);
    started[0] = "stop";
    p.incus(&started);
    provision(p, "tpl", "echo v2 >/etc/golden-update");
    clones
}

/// Runs `script` in the golden `name`, and makes its pristine anew.
fn provision(p: &Project, name: &str, script: &str) {
    p.incus(&["start", name]);
    p.incus(&["exec", name, "--", "sh", "-c", script]);
    p.incus(&["stop", name]);
    let r = p.tool("golden-create", &["-q", name]);
    r.assert_ok();
}

fn machine_ids(p: &Project, clones: &[String]) -> Vec<String> {
    clones
        .iter()
        .map(|c| p.file(c, "/etc/machine-id").unwrap())
        .collect()
}

#[test]
fn killed_at_several_points_no_clone_is_lost_and_a_rerun_finishes() {
    let p = Project::new("rf-kill");
    let clones = stale_clones(&p, 3);
    let ids = machine_ids(&p, &clones);
    assert!(ids
        .iter()
        .all(|i| i.trim() != "0123456789abcdef0123456789abcdef"));
    let mut args = vec!["-f", "json", "-j", "1"];
    args.extend(clones.iter().map(String::as_str));

    // 1. After the first record: the first clone is done, the second under way.
    let mut child = golden("golden-refresh")
        .args(&args)
        .args(["--project", &p.name])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    signal(child.id(), "KILL");
    let _ = child.wait();
    assert_eq!(json_lines(&first)[0]["status"], "refreshed");
    check_usable(&p, &clones);

    // 2. Mid-refresh: once the second clone is marked as under way (its
    //    copy kept, its root about to be rebuilt), whatever that run did.
    let mut child = golden("golden-refresh")
        .args(&args)
        .args(["--project", &p.name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| p.get("c2")["config"]["user.golden.refresh.from"].is_string());
    signal(child.id(), "KILL");
    let _ = child.wait();
    p.wait_operations();
    check_usable(&p, &clones);

    // The rerun finishes: every clone new, with its own identity.
    let r = p.tool("golden-refresh", &args);
    r.assert_ok();
    assert!(ls_json(&p, &["--clones"])
        .iter()
        .all(|c| c["stale"] == false));
    assert_eq!(machine_ids(&p, &clones), ids);
    for c in &clones {
        assert_eq!(
            p.file(c, "/etc/golden-update").as_deref(),
            Some("v2\n"),
            "{c}"
        );
        assert!(p.instances().contains(&format!("{c}-pre-refresh")), "{c}");
    }
}

#[test]
fn a_kill_at_each_named_step_then_a_rerun_leaves_the_clone_whole_and_itself() {
    let p = Project::new("rf-killpoints");
    let clones = stale_clones(&p, 4);
    let ids = machine_ids(&p, &clones);
    // Each clone killed at one step of its refresh (golden::killpoint),
    // running so that the restart is part of it.
    for (c, point) in clones.iter().zip([
        "refresh:kept",
        "refresh:marked",
        "refresh:rebuilt",
        "refresh:recorded",
    ]) {
        p.incus(&["start", c]);
        let r = run(golden("golden-refresh")
            .args(["-q", c, "--project", &p.name])
            .env("GOLDEN_KILL_AT", point));
        assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
        p.wait_operations();
        check_usable(&p, &clones);
        let r = p.tool("golden-refresh", &["-f", "json", c]);
        assert_eq!(r.code, 0, "rerun after a kill at {point}: {}", r.stderr);
        let rec = &json_lines(&r.stdout)[0];
        assert_eq!(rec["status"], "refreshed", "after {point}: {rec}");
        let now = p.get(c);
        assert_eq!(now["status"], "Running", "{c} after {point}");
        assert_eq!(
            p.file(c, "/etc/golden-update").as_deref(),
            Some("v2\n"),
            "{c} after {point}"
        );
        assert!(p.instances().contains(&format!("{c}-pre-refresh")), "{c}");
        p.incus(&["stop", c]);
    }
    assert_eq!(
        machine_ids(&p, &clones),
        ids,
        "every clone kept its machine-id"
    );
}

/// Polls `cond` every 20 ms while a tool works; false if it never held
/// within 60 s (the tool may have gone past that state: the test goes on).
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..3000 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Every clone is there, and holds a root of its own: old or new.
fn check_usable(p: &Project, clones: &[String]) {
    let names = p.instances();
    for c in clones {
        assert!(names.contains(c), "{c} lost: {names:?}");
        let update = p.file(c, "/etc/golden-update");
        assert!(
            update.is_none() || update.as_deref() == Some("v2\n"),
            "{c}: {update:?}"
        );
    }
}

#[test]
fn up_to_date_clones_are_left_alone_and_a_dry_run_changes_nothing() {
    let p = Project::new("rf-plan");
    let clones = stale_clones(&p, 2);
    // Made from the current pristine: up to date.
    assert_eq!(p.tool("golden-derive", &["-q", "tpl", "fresh"]).code, 0);
    let before = p.instances();
    let r = p.tool(
        "golden-refresh",
        &["-n", "-f", "json", "-j", "1", "c1", "c2", "fresh"],
    );
    r.assert_ok();
    let recs = json_lines(&r.stdout);
    let status: Vec<&str> = recs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["would-refresh", "would-refresh", "up-to-date"]);
    assert_eq!(recs[0]["kept"], "c1-pre-refresh");
    assert_eq!(p.instances(), before);
    assert_eq!(p.file(&clones[0], "/etc/golden-update"), None);

    // The daemon has done nothing for a while: what users meet.
    p.wait_quiet();
    let r = p.tool("golden-refresh", &["-f", "json", "fresh"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["status"], "up-to-date");
    assert!(!p.instances().contains(&"fresh-pre-refresh".to_string()));
    let r = p.tool("golden-refresh", &["-f", "json", "--again", "fresh"]);
    assert_eq!(
        json_lines(&r.stdout)[0]["status"],
        "refreshed",
        "{}",
        r.stderr
    );

    // Nothing stale in a pipe: nothing to do, and no error.
    let r = run_with_stdin(golden("golden-refresh").args(["-p", &p.name]), "");
    r.assert_ok();
}

#[test]
fn snapshots_move_to_the_kept_copy_and_no_keep_or_new_identity_do_what_they_say() {
    let p = Project::new("rf-keep");
    stale_clones(&p, 3);
    p.snapshot("c1", "mine");
    // --no-keep would remove the copy that holds the snapshot: refused, nothing done.
    let r = p.tool("golden-refresh", &["--no-keep", "c1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("c1 has 1 snapshot(s)") && r.stderr.contains("--no-keep"),
        "{}",
        r.stderr
    );
    assert_eq!(p.snapshots("c1"), ["mine"]);
    assert!(!p.instances().contains(&"c1-pre-refresh".to_string()));

    let r = p.tool("golden-refresh", &["-f", "json", "c1"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["snapshots"], 1);
    assert!(p.snapshots("c1").is_empty());
    assert_eq!(p.snapshots("c1-pre-refresh"), ["mine"]);
    // The copy is no clone of its own.
    let names: Vec<String> = ls_json(&p, &["--clones"])
        .iter()
        .map(|c| c["instance"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["c1", "c2", "c3"]);

    // The next refresh would replace that copy, and "mine" with it: refused
    // before anything changes, naming the snapshot; -n and --no-keep too.
    provision(&p, "tpl", "echo v3 >/etc/golden-update");
    let before = p.get("c1")["config"]["user.golden.created_at"].clone();
    for args in [
        &["c1"][..],
        &["-n", "c1"],
        &["--no-keep", "c1"],
        &["--again", "c1"],
    ] {
        let r = p.tool("golden-refresh", args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("c1-pre-refresh holds the snapshot(s) mine"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(p.snapshots("c1-pre-refresh"), ["mine"], "{args:?}");
        assert_eq!(p.get("c1")["config"]["user.golden.created_at"], before);
    }
    p.incus(&["snapshot", "delete", "c1-pre-refresh", "mine"]);
    let r = p.tool("golden-refresh", &["-q", "c1"]);
    r.assert_ok();
    assert_eq!(p.file("c1", "/etc/golden-update").as_deref(), Some("v3\n"));

    let id = p.file("c2", "/etc/machine-id").unwrap();
    let r = p.tool(
        "golden-refresh",
        &["-f", "json", "--no-keep", "--new-identity", "c2"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["identity"].as_str(), rec["kept"].as_str()),
        (Some("new"), Some(""))
    );
    assert!(!p.instances().contains(&"c2-pre-refresh".to_string()));
    let new_id = p.file("c2", "/etc/machine-id").unwrap();
    assert_ne!(new_id, id);
    assert_ne!(new_id.trim(), "0123456789abcdef0123456789abcdef");
}

#[test]
fn a_clone_with_a_name_of_63_characters_is_refreshed_and_restored() {
    let p = Project::new("rf-long");
    stale_clones(&p, 1);
    // The longest name golden-derive accepts: CLONE-pre-refresh would be 75.
    let long = format!("c{}", "x".repeat(62));
    p.incus(&["rename", "c1", &long]);
    let r = p.tool("golden-refresh", &["-f", "json", &long]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    let kept = rec["kept"].as_str().unwrap().to_string();
    assert!(kept.len() <= 63 && kept.ends_with("-pre-refresh"), "{kept}");
    assert_eq!(
        p.get(&kept)["config"]["user.golden.pre-refresh-of"],
        long.as_str()
    );
    assert_eq!(p.file(&long, "/etc/golden-update").as_deref(), Some("v2\n"));
    p.tool("golden-refresh", &["--restore", &long]).assert_ok();
    assert_eq!(p.file(&long, "/etc/golden-update"), None);
    assert!(!p.instances().contains(&kept));
}

#[test]
fn a_clone_with_a_static_address_is_refreshed_and_restored_with_it() {
    let p = Project::new("rf-addr");
    stale_clones(&p, 1);
    let c = format!("{}-st", p.name);
    p.incus(&["rename", "c1", &c]);
    p.incus(&[
        "config",
        "device",
        "add",
        &c,
        "eth0",
        "nic",
        "network=goldenbr0",
        "ipv4.address=10.219.7.250",
    ]);
    p.incus(&["start", &c]);
    let mac = p.get(&c)["config"]["volatile.eth0.hwaddr"].clone();
    let r = p.tool("golden-refresh", &[&c]);
    r.assert_ok();
    let now = p.get(&c);
    assert_eq!(now["status"], "Running");
    assert_eq!(now["config"]["volatile.eth0.hwaddr"], mac);
    assert_eq!(now["devices"]["eth0"]["ipv4.address"], "10.219.7.250");
    // The kept copy holds them for the clone, not as its own.
    let kept = p.get(&format!("{c}-pre-refresh"));
    assert_eq!(kept["config"]["user.golden.hwaddr.eth0"], mac);
    assert_ne!(kept["config"]["volatile.eth0.hwaddr"], mac);
    assert!(
        kept["devices"]["eth0"].get("ipv4.address").is_none(),
        "{kept}"
    );

    let r = p.tool("golden-refresh", &["--restore", &c]);
    r.assert_ok();
    let back = p.get(&c);
    assert_eq!(back["status"], "Running");
    assert_eq!(back["config"]["volatile.eth0.hwaddr"], mac);
    assert_eq!(back["devices"]["eth0"]["ipv4.address"], "10.219.7.250");
    assert!(back["config"].get("user.golden.pre-refresh-of").is_none());
    assert_eq!(p.file(&c, "/etc/golden-update"), None);
    assert!(!p.instances().contains(&format!("{c}-pre-refresh")));
    p.incus(&["stop", &c]);
}

#[test]
fn bad_inputs_are_refused_naming_the_thing_and_nothing_changes() {
    let p = Project::new("rf-bad");
    stale_clones(&p, 1);
    p.instance("plain", None);
    p.incus(&["init", "busybox", "c9-pre-refresh"]);
    let before = p.instances();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["plain"], 2, "plain (project"),
        (&["tpl"], 2, "not a derived instance"),
        (&["nosuch"], 2, "no instance nosuch"),
        (&["c1", "c1"], 2, "named twice"),
        (&["--timeout", "0", "c1"], 2, "0 would kill"),
        (&["-j", "0", "c1"], 2, "-j"),
        (&["--restore", "--again", "c1"], 2, "--again"),
        (&["--restore", "c1"], 2, "no instance c1-pre-refresh"),
    ];
    for (args, code, words) in cases {
        let r = p.tool("golden-refresh", args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
        assert_eq!(p.instances(), before, "{args:?}");
    }
    let r = run(golden("golden-refresh").args(["--project", "bad name", "c1"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bad name"), "{}", r.stderr);
    // The copy of a refresh is refused as a clone; a user's instance of the
    // copy's name is never taken for one.
    let r = p.tool("golden-refresh", &["c1"]);
    r.assert_ok();
    let r = p.tool("golden-refresh", &["c1-pre-refresh"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is the copy golden-refresh kept of c1"),
        "{}",
        r.stderr
    );
    p.incus(&["rename", "c9-pre-refresh", "keep-me"]);
    p.incus(&["copy", "c1", "c9"]);
    p.incus(&["rename", "keep-me", "c9-pre-refresh"]);
    let r = p.tool("golden-refresh", &["--again", "c9"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("c9-pre-refresh exists and is not the pre-refresh copy of c9"),
        "{}",
        r.stderr
    );
    assert!(p.get("c9-pre-refresh")["config"]
        .get("user.golden.pre-refresh-of")
        .is_none());
}

#[test]
fn a_clone_left_stopped_by_a_run_killed_before_its_restart_is_started_by_a_rerun() {
    let p = Project::new("rf-restart");
    stale_clones(&p, 1);
    let r = p.tool("golden-refresh", &["c1"]);
    r.assert_ok();
    // What a run killed after recording the refresh, before the start, leaves.
    p.incus(&["config", "set", "c1", "user.golden.refresh.restart=stopped"]);
    let r = p.tool("golden-refresh", &["-f", "json", "c1"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["status"].as_str(), rec["restarted"].as_bool()),
        (Some("refreshed"), Some(true))
    );
    let now = p.get("c1");
    assert_eq!(now["status"], "Running");
    assert!(
        now["config"].get("user.golden.refresh.restart").is_none(),
        "{now}"
    );
    p.incus(&["stop", "c1"]);
}

#[test]
fn a_clone_a_killed_derive_left_with_the_templates_identity_gets_its_own() {
    let p = Project::new("rf-pending");
    stale_clones(&p, 1);
    let template_id = "0123456789abcdef0123456789abcdef\n";
    // What a derive killed between copy and reset leaves: the mark (and, in
    // truth, the template's id: a carry would keep whatever c1 holds).
    let before = p.file("c1", "/etc/machine-id").unwrap();
    p.incus(&["config", "set", "c1", "user.golden.identity=pending"]);
    let r = p.tool("golden-refresh", &["-f", "json", "c1"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], "new");
    let id = p.file("c1", "/etc/machine-id").unwrap();
    assert_ne!(id, template_id);
    assert_ne!(id, before);
    assert_eq!(p.get("c1")["config"]["user.golden.identity"], "machine-id");
}

#[test]
fn a_clone_held_by_a_clean_stop_that_timed_out_is_refused_naming_force_and_force_refreshes_it() {
    let p = Project::new("rf-stubborn");
    stale_clones(&p, 1);
    // A guest that ignores the halt signal: a clean stop never ends.
    p.incus(&["config", "set", "c1", "raw.lxc=lxc.signal.halt=SIGCONT"]);
    p.incus(&["start", "c1"]);
    let r = p.tool("golden-refresh", &["--timeout", "1", "c1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("did not stop within 1 s"), "{}", r.stderr);
    // The state that stop leaves, for as long as the guest runs: the daemon
    // holds the clone for it and refuses every update.
    let held = incus(&["config", "set", "c1", "user.x=1", "--project", &p.name]);
    assert!(
        String::from_utf8_lossy(&held.stderr).contains("busy running a \"stop\" operation"),
        "{held:?}"
    );
    let r = p.tool("golden-refresh", &["--timeout", "1", "c1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
    assert!(
        lines[0].starts_with("golden-refresh: c1")
            && lines[0].contains("timed out")
            && lines[0].contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(p.get("c1")["status"], "Running");
    let r = p.tool("golden-refresh", &["--force", "-f", "json", "c1"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["status"].as_str(), rec["restarted"].as_bool()),
        (Some("refreshed"), Some(true)),
        "{rec}"
    );
    assert_eq!(p.get("c1")["status"], "Running");
    p.incus(&["stop", "--force", "c1"]);
}

/// A stop that timed out leaves the clone to its user: stopped by them since,
/// the next refresh rebuilds it and leaves it stopped (it used to start it,
/// on the strength of a mark the failed run had left).
#[test]
fn a_clone_its_user_stopped_after_a_failed_stop_is_refreshed_and_left_stopped() {
    let p = Project::new("rf-left");
    stale_clones(&p, 1);
    p.incus(&["config", "set", "c1", "raw.lxc=lxc.signal.halt=SIGCONT"]);
    p.incus(&["start", "c1"]);
    let r = p.tool("golden-refresh", &["--timeout", "1", "c1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("did not stop within 1 s"), "{}", r.stderr);
    // Its user stops it for good.
    p.incus(&["stop", "--force", "c1"]);
    for dry in [true, false] {
        let mut args = vec!["-f", "json", "c1"];
        if dry {
            args.insert(0, "-n");
        }
        let r = p.tool("golden-refresh", &args);
        r.assert_ok();
        let rec = &json_lines(&r.stdout)[0];
        assert_eq!(rec["restarted"], false, "{rec}");
    }
    assert_eq!(p.get("c1")["status"], "Stopped");
    assert_eq!(
        p.get("c1")["config"].get("user.golden.refresh.restart"),
        None
    );
}

#[test]
fn a_clone_moved_to_another_project_is_not_restored_beside_itself() {
    let p = Project::new("rf-moved");
    let other = Project::new("rf-moved-to");
    stale_clones(&p, 1);
    p.tool("golden-refresh", &["-q", "c1"]).assert_ok();
    p.incus(&["move", "c1", "--target-project", &other.name]);
    // -n and the restore both refuse, naming where the clone is; nothing changes.
    for dry in [true, false] {
        let mut args = vec!["--restore", "c1"];
        if dry {
            args.insert(0, "-n");
        }
        let r = p.tool("golden-refresh", &args);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let said = format!("c1 is in project {} now", other.name);
        assert!(r.stderr.contains(&said), "{}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(p.instances().contains(&"c1-pre-refresh".to_string()));
        assert!(!p.instances().contains(&"c1".to_string()));
        assert_eq!(other.instances(), ["c1"]);
    }
}

/// What a refresh keeps is in sight and in hand: `golden-ls --kept` lists
/// the pre-refresh copies (with their snapshots) and the refresh images
/// left behind, `golden-refresh --discard` removes them, and refuses a copy
/// that holds snapshots, naming them.
#[test]
fn kept_copies_and_refresh_images_are_listed_and_discarded() {
    let p = Project::new("rf-kept");
    stale_clones(&p, 3);
    p.snapshot("c1", "homework");
    p.tool("golden-refresh", &["-q", "c1", "c2"]).assert_ok();
    let kept = || {
        let r = p.tool("golden-ls", &["--kept", "-f", "json"]);
        r.assert_ok();
        json_lines(&r.stdout)
    };
    // c3, still stale, keeps the image of the new pristine alive; its user
    // then deletes it by hand, and the image is left with nobody to need it.
    p.incus(&["delete", "c3"]);
    let recs = kept();
    let what: Vec<(&str, &str, u64)> = recs
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["of"].as_str().unwrap(),
                r["snapshots"].as_u64().unwrap(),
            )
        })
        .collect();
    let template = format!("{}/tpl", p.name);
    assert_eq!(
        what,
        [
            ("pre-refresh", "c1", 1),
            ("pre-refresh", "c2", 0),
            ("refresh-image", template.as_str(), 0),
        ],
        "{recs:?}"
    );
    assert_eq!(recs[0]["instance"], "c1-pre-refresh");
    assert!(recs[2]["size"].as_u64().unwrap() > 0, "{recs:?}");
    let image = recs[2]["instance"].as_str().unwrap().to_string();

    // A copy with snapshots: refused, naming them; nothing removed.
    let r = p.tool("golden-refresh", &["--discard", "c1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("c1-pre-refresh holds the snapshot(s) homework"),
        "{}",
        r.stderr
    );
    // -n says what it would do, and does nothing.
    let r = p.tool("golden-refresh", &["-n", "--discard", "-f", "json", "c2"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["status"], "would-discard");
    assert_eq!(kept().len(), 3);

    let r = p.tool("golden-refresh", &["--discard", "-f", "json", "c2"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["status"], "discarded");
    let left: Vec<String> = kept()
        .iter()
        .map(|r| r["instance"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["c1-pre-refresh"], "the image {image} went too");
    assert!(p.instances().contains(&"c2".to_string()));

    // Nothing left to discard: said, exit 1.
    let r = p.tool("golden-refresh", &["--discard", "c2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("c2: no pre-refresh copy (c2-pre-refresh) to discard"),
        "{}",
        r.stderr
    );
}
