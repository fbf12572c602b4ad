//! golden-create against the real private Incus.

use golden_tests::*;

#[test]
fn stops_a_running_instance_and_makes_pristine() {
    let p = Project::new("cr-basic");
    p.instance("pro-dev", None);
    p.incus(&["start", "pro-dev"]);
    let r = p.tool("golden-create", &["-f", "json", "pro-dev"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["instance"], "pro-dev");
    assert_eq!(rec["project"], p.name.as_str());
    assert_eq!(rec["snapshot"], "pristine");
    assert_eq!(rec["stopped"], true);
    assert_eq!(rec["previous"], "");
    assert_eq!(
        rec["created_at"],
        p.snapshot_created_at("pro-dev", "pristine").as_str()
    );
    assert_eq!(p.get("pro-dev")["status"], "Stopped");
    assert_eq!(p.snapshots("pro-dev"), ["pristine"]);
}

#[test]
fn recreating_replaces_pristine_and_reports_the_previous() {
    let p = Project::new("cr-again");
    p.instance("t", None);
    p.snapshot("t", "keep-me");
    let first = p.tool("golden-create", &["-f", "json", "t"]);
    first.assert_ok();
    let first = json_lines(&first.stdout)[0]["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let again = p.tool("golden-create", &["-f", "json", "t"]);
    again.assert_ok();
    let rec = &json_lines(&again.stdout)[0];
    assert_eq!(rec["previous"], first.as_str());
    assert_ne!(rec["created_at"], first.as_str());
    assert_eq!(rec["stopped"], false);
    // The pristine it replaced is kept as generation 1; the new one is 2.
    assert_eq!(rec["generation"], 2);
    assert_eq!(p.snapshots("t"), ["keep-me", "pristine", "pristine.g1"]);
    assert_eq!(
        p.snapshot_created_at("t", "pristine.g1"),
        first,
        "the kept generation is the pristine the second create replaced"
    );
}

#[test]
fn restart_puts_a_running_instance_back() {
    let p = Project::new("cr-restart");
    p.instance("t", None);
    p.incus(&["start", "t"]);
    let r = p.tool("golden-create", &["--restart", "-f", "json", "t"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["restarted"], true);
    assert_eq!(p.get("t")["status"], "Running");
    assert_eq!(p.snapshots("t"), ["pristine"]);
}

#[test]
fn pristine_never_expires_even_with_snapshots_expiry() {
    let p = Project::new("cr-expiry");
    p.instance("t", None);
    p.incus(&["config", "set", "t", "snapshots.expiry=1d"]);
    let r = p.tool("golden-create", &["t"]);
    r.assert_ok();
    let out = incus_ok(&[
        "query",
        &format!("/1.0/instances/t/snapshots/pristine?project={}", p.name),
    ]);
    let snap: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(snap["expires_at"], "0001-01-01T00:00:00Z");
    // A plain snapshot on the same instance does get the expiry: the setting is live.
    p.snapshot("t", "plain");
    let out = incus_ok(&[
        "query",
        &format!("/1.0/instances/t/snapshots/plain?project={}", p.name),
    ]);
    let plain: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(plain["expires_at"], "0001-01-01T00:00:00Z");
}

#[test]
fn an_interrupted_swap_is_finished_by_the_next_create() {
    let p = Project::new("cr-swap");
    p.instance("t", None);
    p.swap_leftover("t", SWAP_OLD);
    p.swap_leftover("t", SWAP_NEXT);
    let next = p.snapshot_created_at("t", SWAP_NEXT);
    let r = p.tool("golden-create", &["-f", "json", "t"]);
    r.assert_ok();
    // One pristine, and the one it replaced kept as generation 1.
    assert_eq!(p.snapshots("t"), ["pristine", "pristine.g1"]);
    // The leftover -next was the golden: it is what the new pristine replaced.
    assert_eq!(json_lines(&r.stdout)[0]["previous"], next.as_str());
}

#[test]
fn dry_run_changes_nothing() {
    let p = Project::new("cr-dry");
    p.instance("t", None);
    p.incus(&["start", "t"]);
    let r = p.tool("golden-create", &["-n", "-f", "json", "t"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["stopped"], true);
    assert_eq!(rec["created_at"], "");
    assert_eq!(p.get("t")["status"], "Running");
    assert!(p.snapshots("t").is_empty());
}

#[test]
fn project_is_found_and_a_name_in_two_projects_is_refused() {
    let a = Project::new("cr-twin-a");
    let b = Project::new("cr-twin-b");
    let solo = format!("solo{}", std::process::id());
    a.instance(&solo, None);
    // No -p: found in its project.
    let r = run(golden("golden-create").args(["-f", "json", &solo]));
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["project"], a.name.as_str());

    let twin = format!("twin{}", std::process::id());
    a.instance(&twin, None);
    b.instance(&twin, None);
    let r = run(golden("golden-create").arg(&twin));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&a.name) && r.stderr.contains(&b.name),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--project"), "{}", r.stderr);
    assert!(
        a.snapshots(&twin).is_empty() && b.snapshots(&twin).is_empty(),
        "nothing touched"
    );
}

#[test]
fn records_on_stdin_carry_the_project() {
    let p = Project::new("cr-stdin");
    p.instance("a", None);
    p.instance("b", None);
    let input = format!(
        "{{\"project\":\"{0}\",\"instance\":\"a\"}}\n{{\"project\":\"{0}\",\"instance\":\"b\"}}\n",
        p.name
    );
    let r = run_with_stdin(
        golden("golden-create").args(["-H", "-o", "instance"]),
        &input,
    );
    r.assert_ok();
    assert_eq!(r.stdout, "a\nb\n");
    assert_eq!(p.snapshots("b"), ["pristine"]);
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_done() {
    let p = Project::new("cr-bad");
    p.instance("good", None);
    let cases: &[(&[&str], &str)] = &[
        (&["good", "bad_name"], "invalid instance name \"bad_name\""),
        (&["good", "ghost"], "no instance ghost in project"),
        (&["good", "good"], "named twice"),
        (&["--timeout", "soon", "good"], "--timeout"),
    ];
    for (args, want) in cases {
        let r = p.tool("golden-create", args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(
            p.snapshots("good").is_empty(),
            "{args:?}: nothing may be done"
        );
    }
    let r = run_with_stdin(
        &mut golden("golden-create"),
        "{\"instance\":\"good\"}\n{oops\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("stdin line 2"), "{}", r.stderr);
    assert!(p.snapshots("good").is_empty());
}

#[test]
fn attached_custom_volumes_get_a_pristine_too() {
    let p = Project::new("cr-vol");
    p.instance("t", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&["storage", "volume", "attach", "gbtrfs", &vol, "t", "/data"]);
    let r = p.tool("golden-create", &["-f", "json", "t"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["volumes"], 1);
    let snaps = incus_ok(&[
        "storage", "volume", "snapshot", "list", "gbtrfs", &vol, "-f", "csv", "-c", "n",
    ]);
    assert_eq!(snaps.trim(), "pristine");
    // Again: one pristine, and the one it replaced kept as generation 1,
    // as the instance's is.
    let r = p.tool("golden-create", &["t"]);
    r.assert_ok();
    let snaps = incus_ok(&[
        "storage", "volume", "snapshot", "list", "gbtrfs", &vol, "-f", "csv", "-c", "n",
    ]);
    let mut snaps: Vec<&str> = snaps.lines().collect();
    snaps.sort();
    assert_eq!(snaps, ["pristine", "pristine.g1"]);
    p.incus(&["delete", "t"]);
    incus_ok(&["storage", "volume", "delete", "gbtrfs", &vol]);
}

#[test]
fn a_stop_that_times_out_changes_nothing_and_force_kills() {
    let p = Project::new("cr-timeout");
    p.instance("stubborn", None);
    // An init that ignores the halt signal: a clean stop never ends.
    p.incus(&[
        "config",
        "set",
        "stubborn",
        "raw.lxc=lxc.signal.halt=SIGCONT",
    ]);
    p.incus(&["start", "stubborn"]);
    let r = p.tool("golden-create", &["--timeout", "2", "stubborn"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Said at once, before the wait: a user is not left looking at nothing.
    assert_eq!(
        r.stderr.lines().next(),
        Some("golden-create: stopping stubborn (waiting up to 2 s for it to stop)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did not stop within 2 s") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    // On a terminal, a countdown of the seconds left (script(1) gives one).
    let line = format!(
        "'{}' --project {} --timeout 2 stubborn",
        bin("golden-create").display(),
        p.name
    );
    let r = run(command("script").args(["-qec", &line, "/dev/null"]));
    assert!(r.stdout.contains("s left)"), "{:?}", r.stdout);
    assert_eq!(p.get("stubborn")["status"], "Running");
    assert!(p.snapshots("stubborn").is_empty());

    let r = p.tool(
        "golden-create",
        &[
            "--timeout",
            "2",
            "--force",
            "--restart",
            "-f",
            "json",
            "stubborn",
        ],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["stopped"].as_bool(), rec["restarted"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(p.snapshots("stubborn"), ["pristine"]);
    assert_eq!(p.get("stubborn")["status"], "Running");
}
