//! What a day of ordinary, hostile use broke (issue "safe under real
//! conditions"): each case against the private Incus, with what it must get.

use golden_tests::*;

/// Stopping an ephemeral instance deletes it: golden-create refuses it before
/// touching it, with -n too (exit 2, one line saying how to make it persistent).
#[test]
fn an_ephemeral_instance_is_refused_and_survives() {
    let p = Project::new("sf-eph");
    p.incus(&["launch", "busybox", "eph", "--ephemeral"]);
    p.snapshot("eph", "pristine");
    for args in [&["eph"][..], &["-n", "eph"][..]] {
        let r = p.tool("golden-create", args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("is ephemeral"), "{}", r.stderr);
        assert!(r.stderr.contains("ephemeral=false"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stdout.lines().nth(1).is_none(), "{}", r.stdout);
    }
    assert_eq!(p.get("eph")["status"], "Running");
    assert_eq!(p.snapshots_but_generations("eph"), ["pristine"]);
}

/// `--timeout 0` would be a kill (Incus reads 0 as force): refused, nothing done.
#[test]
fn a_zero_timeout_is_refused_and_nothing_is_stopped() {
    let p = Project::new("sf-t0");
    p.incus(&["launch", "busybox", "web"]);
    let r = p.tool("golden-create", &["--timeout", "0", "web"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("would kill the instance"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(p.get("web")["status"], "Running");
    assert!(p.snapshots("web").is_empty());
}

/// A `--restart` that fails is a failed record (exit 1), saying the pristine was made.
#[test]
fn a_failed_restart_fails_the_record() {
    let p = Project::new("sf-restart");
    p.incus(&["launch", "busybox", "web"]);
    // Applied at the next start, which then fails.
    p.incus(&["config", "set", "web", "raw.lxc=lxc.init.cmd=/nonexistent"]);
    let r = p.tool("golden-create", &["-q", "--restart", "web"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("web: pristine made, but restarting failed"),
        "{}",
        r.stderr
    );
    assert_eq!(p.snapshots_but_generations("web"), ["pristine"]);
}

/// `1web` is a name for Incus (it is no number): every tool takes it, and one
/// such golden does not stop a `golden-ls | golden-publish` pipe.
#[test]
fn a_name_starting_with_a_digit_goes_through_every_tool() {
    let p = Project::new("sf-digit");
    p.instance("1web", None);
    p.golden("web", None);
    let r = p.tool("golden-create", &["-q", "1web"]);
    r.assert_ok();
    let r = p.tool("golden-derive", &["-q", "1web", "2web"]);
    r.assert_ok();
    let listed = p.tool("golden-ls", &[]);
    listed.assert_ok();
    let r = run_with_stdin(
        golden("golden-publish").args(["-q", "--alias", "{project}-{instance}", "-o", "alias"]),
        &listed.stdout,
    );
    r.assert_ok();
    let mut aliases: Vec<&str> = r.stdout.lines().skip(1).collect();
    aliases.sort();
    let want = [format!("{}-1web", p.name), format!("{}-web", p.name)];
    assert_eq!(aliases, want);
    assert_eq!(p.instances(), ["1web", "2web", "web"]);
}

/// Without XDG_RUNTIME_DIR (cron, sudo), the lock lives in a directory of the
/// user's own, made 0700; one planted as a symlink by someone else is refused
/// (exit 1, naming it) and nothing is created where it points.
#[test]
fn the_lock_directory_is_private_and_never_followed() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new("sf-lock");
    p.instance("web", None);
    let tmp = tempfile::tempdir().unwrap();
    let uid = String::from_utf8(command("id").arg("-u").output().unwrap().stdout).unwrap();
    let dir = tmp.path().join(format!("golden-locks-{}", uid.trim()));
    let create = |tmpdir: &std::path::Path| {
        run(golden("golden-create")
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", tmpdir)
            .args(["-q", "--project", &p.name, "web"]))
    };
    let r = create(tmp.path());
    r.assert_ok();
    let mode = std::fs::symlink_metadata(&dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    let hostile = tempfile::tempdir().unwrap();
    let target = hostile.path().join("somewhere");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(
        &target,
        hostile.path().join(format!("golden-locks-{}", uid.trim())),
    )
    .unwrap();
    let r = create(hostile.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("lock directory"), "{}", r.stderr);
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

/// Records without their header, a 5 MB bad line: each a one-line error that
/// says what is wrong, short, exit 2, nothing done.
#[test]
fn headless_records_and_huge_lines_get_short_clear_errors() {
    let p = Project::new("sf-input");
    p.golden("web", None);
    p.golden("db", None);
    let headless = p.tool("golden-ls", &["-H"]).stdout;
    let r = run_with_stdin(golden("golden-create").args(["-q"]), &headless);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("drop -H from golden-ls"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    let huge = format!("{}\n", "x;".repeat(2_500_000));
    for tool in ["golden-create", "golden-derive"] {
        let mut cmd = golden(tool);
        if tool == "golden-derive" {
            cmd.arg("web");
        }
        let r = run_with_stdin(cmd.args(["-q", "--project", &p.name]), &huge);
        assert_eq!(
            r.code,
            2,
            "{tool}: {}",
            &r.stderr[..r.stderr.len().min(300)]
        );
        assert!(
            r.stderr.len() < 300,
            "{tool}: {} bytes of error",
            r.stderr.len()
        );
        assert!(r.stderr.contains("(5000000 bytes)"), "{}", r.stderr);
        assert!(!r.stderr.contains("line 0"), "{}", r.stderr);
    }
    // An argument is no stdin line.
    let r = p.tool("golden-create", &["bad name"]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("stdin"), "{}", r.stderr);
    assert_eq!(p.snapshots_but_generations("web"), ["pristine"]);
    assert_eq!(p.instances(), ["db", "web"]);
}

/// `--expires` takes RFC 3339 with an offset, what `date -Iseconds` prints.
#[test]
fn expiry_with_an_offset_is_the_same_instant() {
    let p = Project::new("sf-expires");
    p.golden("web", None);
    let alias = format!("{}-web", p.name);
    let r = p.tool(
        "golden-publish",
        &[
            "-q",
            "-f",
            "json",
            "--alias",
            &alias,
            "--expires",
            "2030-01-31T00:00:00+02:00",
            "web",
        ],
    );
    r.assert_ok();
    let fp = json_lines(&r.stdout)[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let img: serde_json::Value = serde_json::from_str(&incus_ok(&[
        "query",
        &format!("/1.0/images/{fp}?project=default"),
    ]))
    .unwrap();
    assert_eq!(img["expires_at"], "2030-01-30T22:00:00Z");
}

/// A golden counts its clones wherever they are: `golden-ls -p P` and
/// `golden-ls` say the same `derived`.
#[test]
fn clones_in_other_projects_count_in_a_one_project_listing() {
    let a = Project::new("sf-cnt-a");
    let b = Project::new("sf-cnt-b");
    a.golden("gold", None);
    let r = a.tool("golden-derive", &["-q", "gold", "here"]);
    r.assert_ok();
    let r = a.tool(
        "golden-derive",
        &[
            "-q",
            "--target-project",
            &b.name,
            "gold",
            "there1",
            "there2",
        ],
    );
    r.assert_ok();
    let derived = |args: &[&str]| {
        let r = run(golden("golden-ls").args(["-f", "json"]).args(args));
        r.assert_ok();
        let rows = json_lines(&r.stdout);
        let row = rows
            .iter()
            .find(|v| v["project"] == a.name.as_str())
            .unwrap();
        assert!(rows
            .iter()
            .all(|v| !args.contains(&"-p") || v["project"] == a.name.as_str()));
        row["derived"].as_u64()
    };
    assert_eq!(derived(&[]), Some(3));
    assert_eq!(derived(&["-p", &a.name]), Some(3));
    assert_eq!(b.instances(), ["there1", "there2"]);
}

/// `seq … | golden-derive tpl | head -2`: the reader went away, not the work.
/// Every clone asked for is made, the output ends quietly, exit 0.
#[test]
fn a_closed_stdout_does_not_leave_work_undone() {
    let p = Project::new("sf-head");
    p.golden("tpl", None);
    let script = format!(
        "seq -f 'c%g' 30 | '{}' -q -j 2 --project '{}' tpl | head -2; echo \"status=${{PIPESTATUS[1]}}\"",
        bin("golden-derive").display(),
        p.name
    );
    let r = run(command("bash").arg("-c").arg(script));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines[0].starts_with("project\tinstance"), "{}", r.stdout);
    assert_eq!(lines[2], "status=0", "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert_eq!(p.instances().len(), 31);
}
