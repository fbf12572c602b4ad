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
    assert_eq!(p.snapshots("eph"), ["pristine"]);
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
    assert_eq!(p.snapshots("web"), ["pristine"]);
}

/// `1web` is a name for Incus (it is no number): every tool takes it, and one
/// such golden does not stop a `golden-ls | golden-publish` pipe.
#[test]
fn a_name_starting_with_a_digit_goes_through_every_tool() {
    let p = Project::new("sf-digit");
    p.instance("1web", None);
    p.golden("web", None);
    let r = p.tool("golden-create", &["-q", "1web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.tool("golden-derive", &["-q", "1web", "2web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed = p.tool("golden-ls", &[]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let r = run_with_stdin(
        golden("golden-publish").args(["-q", "--alias", "{project}-{instance}", "-o", "alias"]),
        &listed.stdout,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
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
    assert_eq!(r.code, 0, "{}", r.stderr);
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
