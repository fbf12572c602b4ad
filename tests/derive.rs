//! golden-derive against the real private Incus: the seed's three workflows and
//! every way a derive can be refused.

use golden_tests::*;
use serde_json::Value;

fn golden_row(p: &Project, name: &str) -> Value {
    let r = p.tool("golden-ls", &["-f", "json", name]);
    r.assert_ok();
    json_lines(&r.stdout).remove(0)
}

/// Seed workflow 1: a developer template, one clone per developer.
#[test]
fn dev_template_workflow() {
    let p = Project::new("wf-dev");
    p.instance("pro-dev", None);
    p.incus(&["start", "pro-dev"]);
    p.incus(&["exec", "pro-dev", "--", "touch", "/root/tools-installed"]);
    let r = p.tool("golden-create", &["pro-dev"]);
    r.assert_ok();
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "pro-dev", "pro-alice", "pro-bob"],
    );
    r.assert_ok();
    let mut recs = json_lines(&r.stdout);
    recs.sort_by_key(|v| v["instance"].as_str().unwrap().to_string());
    assert_eq!(recs.len(), 2);
    let pristine = p.snapshot_created_at("pro-dev", "pristine");
    for (rec, name) in recs.iter().zip(["pro-alice", "pro-bob"]) {
        assert_eq!(rec["instance"], name);
        assert_eq!(rec["project"], p.name.as_str());
        assert_eq!(
            rec["source"],
            format!("{}/pro-dev/pristine", p.name).as_str()
        );
        assert_eq!(
            (rec["pool"].as_str(), rec["driver"].as_str(), &rec["cow"]),
            (Some("gbtrfs"), Some("btrfs"), &Value::Bool(true))
        );
        assert_eq!(rec["status"], "Stopped");
        let cfg = &p.get(name)["config"];
        assert_eq!(cfg["user.golden.project"], p.name.as_str());
        assert_eq!(cfg["user.golden.template"], "pro-dev");
        assert_eq!(cfg["user.golden.created_at"], pristine.as_str());
    }
    // The clone carries what was installed in the template.
    p.incus(&["start", "pro-alice"]);
    p.incus(&["exec", "pro-alice", "--", "ls", "/root/tools-installed"]);
    let row = golden_row(&p, "pro-dev");
    assert_eq!(
        (row["derived"].as_u64(), row["stale"].as_u64()),
        (Some(2), Some(0))
    );
}

/// Seed workflow 2: twenty student containers from one reference, names from a pipe.
#[test]
fn student_lab_workflow_from_stdin() {
    let p = Project::new("wf-lab");
    p.instance("lab-reference", None);
    assert_eq!(p.tool("golden-create", &["lab-reference"]).code, 0);
    let names: String = (1..=20).map(|i| format!("lab-student-{i}\n")).collect();
    let r = run_with_stdin(
        golden("golden-derive").args([
            "lab-reference",
            "--project",
            &p.name,
            "-H",
            "-o",
            "instance",
        ]),
        &names,
    );
    r.assert_ok();
    let mut got: Vec<&str> = r.stdout.lines().collect();
    got.sort();
    let mut want: Vec<String> = (1..=20).map(|i| format!("lab-student-{i}")).collect();
    want.sort();
    assert_eq!(got, want);
    let mut all = want.clone();
    all.push("lab-reference".into());
    all.sort();
    assert_eq!(p.instances(), all);
    assert_eq!(
        golden_row(&p, "lab-reference")["derived"].as_u64(),
        Some(20)
    );

    // A rerun with --skip-existing reports them and makes nothing twice.
    let r = run_with_stdin(
        golden("golden-derive").args([
            "lab-reference",
            "--project",
            &p.name,
            "--skip-existing",
            "-f",
            "json",
        ]),
        &names,
    );
    r.assert_ok();
    assert!(json_lines(&r.stdout)
        .iter()
        .all(|v| v["status"] == "skipped"));
    assert_eq!(p.instances().len(), 21);
}

/// Seed workflow 3: start the template, change it, create again, derive fresh ones.
#[test]
fn update_cycle_makes_old_clones_stale() {
    let p = Project::new("wf-update");
    p.instance("pro-dev", None);
    assert_eq!(p.tool("golden-create", &["pro-dev"]).code, 0);
    let r = p.tool(
        "golden-derive",
        &["pro-dev", "pro-v1-a", "pro-v1-b", "pro-v1-c"],
    );
    r.assert_ok();
    let row = golden_row(&p, "pro-dev");
    assert_eq!(
        (row["derived"].as_u64(), row["stale"].as_u64()),
        (Some(3), Some(0))
    );

    p.incus(&["start", "pro-dev"]);
    p.incus(&["exec", "pro-dev", "--", "touch", "/root/updated"]);
    let r = p.tool("golden-create", &["-f", "json", "pro-dev"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["stopped"], true);
    let row = golden_row(&p, "pro-dev");
    assert_eq!(
        (row["derived"].as_u64(), row["stale"].as_u64()),
        (Some(3), Some(3))
    );

    let r = p.tool("golden-derive", &["pro-dev", "pro-dev-updated"]);
    r.assert_ok();
    p.incus(&["start", "pro-dev-updated"]);
    p.incus(&["exec", "pro-dev-updated", "--", "ls", "/root/updated"]);
    let row = golden_row(&p, "pro-dev");
    assert_eq!(
        (row["derived"].as_u64(), row["stale"].as_u64()),
        (Some(4), Some(3))
    );
    // Stale clones are easy to pick out in a pipe.
    let r = p.tool("golden-ls", &["-f", "json"]);
    assert!(json_lines(&r.stdout)
        .iter()
        .any(|v| v["stale"].as_u64() > Some(0)));
}

#[test]
fn btrfs_clones_share_blocks_and_dir_clones_do_not() {
    let p = Project::new("dv-cow");
    let big = big_file(48);
    for (name, pool) in [("tpl-btrfs", None), ("tpl-dir", Some("gdir"))] {
        p.instance(name, pool);
        p.incus(&[
            "file",
            "push",
            "-q",
            big.path().to_str().unwrap(),
            &format!("{name}/big.bin"),
        ]);
        assert_eq!(p.tool("golden-create", &[name]).code, 0);
    }
    let r = p.tool("golden-derive", &["-f", "json", "tpl-btrfs", "c-btrfs"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["cow"], true);
    assert!(!r.stderr.contains("full copies"), "{}", r.stderr);
    let exclusive = btrfs_exclusive_bytes("gbtrfs", &p.name, "c-btrfs");
    assert!(
        exclusive < 1 << 20,
        "a CoW clone holds {exclusive} bytes of its own"
    );

    let r = p.tool("golden-derive", &["-f", "json", "tpl-dir", "c-dir"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["cow"], false);
    assert!(
        r.stderr.contains("full copies, not CoW") && r.stderr.contains("dir"),
        "{}",
        r.stderr
    );
    let used = dir_bytes("gdir", &p.name, "c-dir");
    assert!(used > 48 << 20, "a dir clone is a full copy ({used} bytes)");
    // -q keeps stderr quiet.
    let r = p.tool("golden-derive", &["-q", "tpl-dir", "c-dir-2"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // Another pool than the template's is a full copy too, and says so.
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "-s", "gdir", "tpl-btrfs", "c-moved"],
    );
    assert_eq!(json_lines(&r.stdout)[0]["pool"], "gdir");
    assert!(r.stderr.contains("not the template's"), "{}", r.stderr);
}

#[test]
fn static_addresses_are_refused_unless_told_what_to_do() {
    let p = Project::new("dv-ip");
    p.instance("tpl", None);
    p.incus(&[
        "config",
        "device",
        "add",
        "tpl",
        "eth0",
        "nic",
        "network=goldenbr0",
        "ipv4.address=10.219.7.10",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);

    let r = p.tool("golden-derive", &["tpl", "c1"]);
    assert_eq!(r.code, 2);
    for way in ["--ipv4 ADDR", "--ipv4 auto", "--dhcp", "10.219.7.10"] {
        assert!(r.stderr.contains(way), "{way}: {}", r.stderr);
    }
    assert_eq!(p.instances(), ["tpl"]);

    let r = p.tool(
        "golden-derive",
        &["--ipv4", "10.219.7.50", "tpl", "c1", "c2"],
    );
    assert_eq!(r.code, 2, "one address for two clones");
    assert_eq!(p.instances(), ["tpl"]);

    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--ipv4", "10.219.7.50", "tpl", "fixed"],
    );
    r.assert_ok();
    assert_eq!(
        p.get("fixed")["devices"]["eth0"]["ipv4.address"],
        "10.219.7.50"
    );

    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--ipv4", "auto", "tpl", "a1", "a2", "a3"],
    );
    r.assert_ok();
    let mut addrs: Vec<String> = ["a1", "a2", "a3"]
        .iter()
        .map(|n| {
            p.get(n)["devices"]["eth0"]["ipv4.address"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 3, "distinct: {addrs:?}");
    for a in &addrs {
        assert!(
            a.starts_with("10.219.7.")
                && a != "10.219.7.10"
                && a != "10.219.7.50"
                && a != "10.219.7.1",
            "{a}"
        );
    }

    let r = p.tool("golden-derive", &["--dhcp", "tpl", "d1"]);
    r.assert_ok();
    let eth0 = &p.get("d1")["devices"]["eth0"];
    assert_eq!(eth0["network"], "goldenbr0");
    assert!(eth0.get("ipv4.address").is_none(), "{eth0}");

    // With its clones present, the template and a clone still start.
    p.incus(&["start", "tpl"]);
    p.incus(&["start", "a1"]);
    p.incus(&["start", "d1"]);
}

#[test]
fn attached_volumes_are_refused_then_copied_shared_or_dropped() {
    let p = Project::new("dv-vol");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);

    let r = p.tool("golden-derive", &["tpl", "c0"]);
    assert_eq!(r.code, 2);
    for way in ["--volumes copy", "--volumes share", "--volumes drop", &vol] {
        assert!(r.stderr.contains(way), "{way}: {}", r.stderr);
    }
    assert_eq!(p.instances(), ["tpl"]);

    let r = p.tool("golden-derive", &["--volumes", "copy", "tpl", "copied"]);
    r.assert_ok();
    let dev = p.get("copied")["devices"][&vol].clone();
    assert_eq!(dev["source"], "copied-".to_string() + &vol);
    incus_ok(&[
        "storage",
        "volume",
        "show",
        "gbtrfs",
        &format!("copied-{vol}"),
    ]);

    let r = p.tool("golden-derive", &["--volumes", "share", "tpl", "shared"]);
    r.assert_ok();
    let shared = p.get("shared")["expanded_devices"][&vol]["source"].clone();
    assert_eq!(shared, vol.as_str());

    let r = p.tool("golden-derive", &["--volumes", "drop", "tpl", "dropped"]);
    r.assert_ok();
    // Incus's own way to remove a device from a copy: a `none` device in its place.
    let dropped = p.get("dropped")["expanded_devices"][&vol].clone();
    assert!(
        dropped.get("source").is_none() && dropped["type"] == "none",
        "{dropped}"
    );

    // The golden with clones is protected from deletion: lifted first.
    p.incus(&["config", "unset", "tpl", "security.protection.delete"]);
    for i in p.instances() {
        p.incus(&["delete", &i]);
    }
    incus_ok(&[
        "storage",
        "volume",
        "delete",
        "gbtrfs",
        &format!("copied-{vol}"),
    ]);
    incus_ok(&["storage", "volume", "delete", "gbtrfs", &vol]);
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let p = Project::new("dv-bad");
    p.instance("tpl", None);
    p.instance("plain", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let long = "a".repeat(64);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["tpl", "ok-1", "bad_name"],
            "invalid instance name \"bad_name\"",
        ),
        (vec!["tpl", "ok-1", "-rf"], "unexpected argument"),
        (
            vec!["tpl", "ok-1", "999"],
            "invalid instance name \"999\": must not be a number",
        ),
        (vec!["tpl", "ok-1", &long], "longer than 63"),
        (vec!["tpl", "ok-1", "ok-1"], "ok-1 is named twice"),
        (vec!["ghost", "ok-1"], "no instance ghost"),
        (vec!["plain", "ok-1"], "run `golden-create plain` first"),
        (vec!["-c", "novalue", "tpl", "ok-1"], "expected KEY=VALUE"),
        (
            vec!["-s", "nopool", "tpl", "ok-1"],
            "storage pool not found: nopool",
        ),
        (vec!["-j", "0", "tpl", "ok-1"], "-j"),
        (
            vec!["--ipv4", "10.0.0", "tpl", "ok-1"],
            "not an IPv4 address",
        ),
    ];
    for (args, want) in &cases {
        let r = p.tool("golden-derive", args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {}",
            r.stderr
        );
        assert_eq!(
            p.instances(),
            ["plain", "tpl"],
            "{args:?}: nothing may be created"
        );
    }
    let r = run_with_stdin(
        golden("golden-derive").args(["tpl", "--project", &p.name]),
        "ok-1\nbad name\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("stdin line 2"), "{}", r.stderr);
    assert_eq!(p.instances(), ["plain", "tpl"]);
}

#[test]
fn a_taken_name_fails_alone_and_the_others_are_made() {
    let p = Project::new("dv-taken");
    p.instance("tpl", None);
    p.instance("taken", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let r = p.tool(
        "golden-derive",
        &["-H", "-o", "instance", "tpl", "new-1", "taken", "new-2"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("taken: already exists"), "{}", r.stderr);
    let mut made: Vec<&str> = r.stdout.lines().collect();
    made.sort();
    assert_eq!(made, ["new-1", "new-2"]);
    // --skip-existing does not skip an instance that did not come from the template.
    let r = p.tool("golden-derive", &["--skip-existing", "tpl", "taken"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("not derived from this template"),
        "{}",
        r.stderr
    );
}

#[test]
fn derive_uses_the_leftover_of_an_interrupted_swap() {
    let p = Project::new("dv-swap");
    p.instance("tpl", None);
    p.swap_leftover("tpl", SWAP_OLD);
    p.swap_leftover("tpl", SWAP_NEXT);
    let r = p.tool("golden-derive", &["-f", "json", "tpl", "c1"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        rec["source"],
        format!("{}/tpl/{SWAP_NEXT}", p.name).as_str()
    );
    assert_eq!(
        rec["created_at"],
        p.snapshot_created_at("tpl", SWAP_NEXT).as_str()
    );
}

#[test]
fn dry_run_plans_without_creating_and_options_reach_the_clone() {
    let p = Project::new("dv-opts");
    let q = Project::new("dv-opts-to");
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let r = p.tool("golden-derive", &["-n", "-f", "json", "tpl", "x1", "x2"]);
    r.assert_ok();
    assert!(json_lines(&r.stdout)
        .iter()
        .all(|v| v["status"] == "planned"));
    assert_eq!(p.instances(), ["tpl"]);

    let r = p.tool(
        "golden-derive",
        &[
            "-f",
            "json",
            "--start",
            "-c",
            "user.owner=alice",
            "--target-project",
            &q.name,
            "tpl",
            "x1",
        ],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["project"].as_str(), rec["status"].as_str()),
        (Some(q.name.as_str()), Some("Running"))
    );
    let x1 = q.get("x1");
    assert_eq!(x1["status"], "Running");
    assert_eq!(x1["config"]["user.owner"], "alice");
    assert_eq!(x1["config"]["user.golden.project"], p.name.as_str());
    // --profile replaces the template's profiles, as with incus copy.
    let profile = format!("{}-extra", p.name);
    incus_ok(&["profile", "create", &profile]);
    incus_ok(&["profile", "set", &profile, "user.from-profile=yes"]);
    let r = p.tool(
        "golden-derive",
        &[
            "-q",
            "--profile",
            "default",
            "--profile",
            &profile,
            "tpl",
            "x2",
        ],
    );
    r.assert_ok();
    let x2 = p.get("x2");
    assert_eq!(x2["profiles"], serde_json::json!(["default", profile]));
    assert_eq!(x2["expanded_config"]["user.from-profile"], "yes");
    p.incus(&["delete", "x2"]);
    incus_ok(&["profile", "delete", &profile]);
    // The clone in another project still counts for its template.
    let r = run(golden("golden-ls").args(["-f", "json"]));
    let row = json_lines(&r.stdout)
        .into_iter()
        .find(|v| v["project"] == p.name.as_str())
        .unwrap();
    assert_eq!(row["derived"].as_u64(), Some(1));
}

#[test]
fn progress_is_drawn_on_a_terminal_and_never_in_a_pipe() {
    let p = Project::new("dv-progress");
    p.golden("tpl", None);
    // script(1) gives the tool a terminal.
    let line = format!(
        "'{}' --project {} tpl t1 t2 t3",
        bin("golden-derive").display(),
        p.name
    );
    let r = run(command("script").args(["-qec", &line, "/dev/null"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("deriving [") && r.stdout.contains("3/3"),
        "{}",
        r.stdout
    );
    let r = p.tool("golden-derive", &["tpl", "p1", "p2"]);
    r.assert_ok();
    assert!(
        !r.stderr.contains("deriving") && !r.stderr.contains('\r'),
        "{:?}",
        r.stderr
    );
}

#[test]
fn settings_meant_for_the_golden_stay_on_it_and_clones_get_theirs() {
    let p = Project::new("dv-only");
    p.instance("tpl", None);
    p.incus(&[
        "config",
        "set",
        "tpl",
        "snapshots.schedule=@daily",
        "snapshots.expiry=1w",
        "security.protection.delete=true",
        "boot.autostart=true",
        "user.golden.clone.boot.autostart.priority=7",
        "user.golden.clone.user.course=networks",
    ]);
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    p.tool("golden-derive", &["-q", "tpl", "c1"]).assert_ok();
    p.tool(
        "golden-derive",
        &["-q", "tpl", "c2", "-c", "snapshots.schedule=@hourly"],
    )
    .assert_ok();
    let config = |n: &str| p.get(n)["config"].clone();
    let c1 = config("c1");
    for key in [
        "snapshots.schedule",
        "snapshots.expiry",
        "security.protection.delete",
        "boot.autostart",
        "user.golden.clone.user.course",
    ] {
        assert!(c1.get(key).is_none(), "{key} in c1: {c1}");
    }
    assert_eq!(c1["boot.autostart.priority"], "7");
    assert_eq!(c1["user.course"], "networks");
    // -c gives a clone its own.
    assert_eq!(config("c2")["snapshots.schedule"], "@hourly");
    // The golden keeps its own, and is still protected.
    let tpl = config("tpl");
    assert_eq!(tpl["snapshots.schedule"], "@daily");
    assert_eq!(tpl["security.protection.delete"], "true");
    let out = incus(&["delete", "c1", "--project", &p.name]);
    assert!(out.status.success(), "a clone is not protected");
    p.incus(&["config", "unset", "tpl", "security.protection.delete"]);
}

/// A golden that gets clones is protected from deletion by Incus itself, not
/// only by the tools: `incus delete` (even `--force`) is refused; a clone's
/// own deletion is not. `-n` protects nothing; lifting the key retires it.
#[test]
fn a_golden_with_clones_is_protected_from_deletion_by_incus_itself() {
    let p = Project::new("dv-protect");
    p.instance("tpl", None);
    p.instance("other", None);
    p.tool("golden-create", &["-q", "tpl", "other"]).assert_ok();

    let r = p.tool("golden-derive", &["-n", "other", "o1"]);
    r.assert_ok();
    assert!(p.get("other")["config"]
        .get("security.protection.delete")
        .is_none());

    let r = p.tool("golden-derive", &["tpl", "c1", "c2"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("tpl is protected from deletion now that it has clones"),
        "{}",
        r.stderr
    );
    assert_eq!(p.get("tpl")["config"]["security.protection.delete"], "true");
    for force in [false, true] {
        let mut args = vec!["delete", "tpl", "--project", &p.name];
        if force {
            args.push("--force");
        }
        let out = incus(&args);
        assert!(!out.status.success(), "incus deleted the golden");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("protected"),
            "{out:?}"
        );
    }
    assert!(p.instances().contains(&"tpl".to_string()));
    p.incus(&["delete", "c1"]);
    // Protected already: said once, not at every derive.
    let r = p.tool("golden-derive", &["tpl", "c3"]);
    r.assert_ok();
    assert!(!r.stderr.contains("protected"), "{}", r.stderr);
    // Retired on purpose: the key lifted, the golden goes.
    p.incus(&["config", "unset", "tpl", "security.protection.delete"]);
    p.incus(&["delete", "tpl"]);
}
