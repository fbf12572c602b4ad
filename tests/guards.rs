//! golden-derive judges what a clone will really get — the pristine snapshot's
//! devices with the profiles it will have — and finds, before the first copy,
//! what the daemon would refuse for every clone.

use golden_tests::*;

/// A static address for this test run, away from the low ones other tests use.
fn address(offset: u32) -> String {
    format!("10.219.7.{}", 200 + (std::process::id() + offset) % 50)
}

/// A profile of the default project (where test projects take their
/// profiles), removed when dropped: made before the project, so that it is
/// dropped after the project's instances that use it.
struct Profile(String);

impl Profile {
    fn new(tag: &str) -> Self {
        let name = format!("t{}-{tag}", std::process::id());
        let _ = incus(&["profile", "delete", &name]);
        incus_ok(&["profile", "create", &name]);
        Profile(name)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = incus(&["profile", "delete", &self.0]);
    }
}

/// A project made with `features`, removed with what it holds when dropped.
fn project_with(tag: &str, features: &[&str]) -> Project {
    require_daemon();
    let name = format!("t{}-{tag}", std::process::id());
    let _ = incus(&["project", "delete", &name]);
    let mut args = vec!["project", "create", &name];
    for f in features {
        args.extend(["-c", f]);
    }
    incus_ok(&args);
    Project { name }
}

#[test]
fn a_static_address_removed_from_the_template_after_create_still_counts() {
    let p = Project::new("gd-ip-gone");
    p.instance("tpl", None);
    let a = address(0);
    let ip = format!("ipv4.address={a}");
    p.incus(&[
        "config",
        "device",
        "add",
        "tpl",
        "eth0",
        "nic",
        "network=goldenbr0",
        &ip,
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    // Gone from the template, still in its pristine: the clone would get it.
    p.incus(&["config", "device", "remove", "tpl", "eth0"]);
    let r = p.tool("golden-derive", &["tpl", "c1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&a) && r.stderr.contains("--dhcp"),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), ["tpl"]);
    let r = p.tool("golden-derive", &["--dhcp", "tpl", "c1"]);
    r.assert_ok();
    assert!(p.get("c1")["expanded_devices"]["eth0"]
        .get("ipv4.address")
        .is_none());
}

#[test]
fn a_volume_detached_from_the_template_after_create_still_counts() {
    let p = Project::new("gd-vol-gone");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    p.incus(&["storage", "volume", "detach", "gbtrfs", &vol, "tpl"]);
    let r = p.tool("golden-derive", &["tpl", "c1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&vol) && r.stderr.contains("--volumes"),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), ["tpl"]);
}

#[test]
fn a_profile_whose_nic_has_a_static_address_is_caught() {
    let prof = Profile::new("gd-prof-fixed");
    let p = Project::new("gd-prof-ip");
    p.golden("tpl", None);
    let ip = format!("ipv4.address={}", address(1));
    incus_ok(&[
        "profile",
        "device",
        "add",
        &prof.0,
        "eth0",
        "nic",
        "network=goldenbr0",
        &ip,
    ]);
    let r = p.tool(
        "golden-derive",
        &["--profile", "default", "--profile", &prof.0, "tpl", "c1"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&address(1)), "{}", r.stderr);
    assert_eq!(p.instances(), ["tpl"]);
    // Told what to do, the clone gets the profile's NIC without its address.
    let r = p.tool(
        "golden-derive",
        &[
            "--dhcp",
            "--profile",
            "default",
            "--profile",
            &prof.0,
            "tpl",
            "c1",
        ],
    );
    r.assert_ok();
    let eth0 = &p.get("c1")["expanded_devices"]["eth0"];
    assert_eq!(eth0["network"], "goldenbr0");
    assert!(eth0.get("ipv4.address").is_none(), "{eth0}");
}

#[test]
fn bad_config_and_unknown_profiles_are_found_before_any_copy() {
    let p = Project::new("gd-judge");
    p.golden("tpl", None);
    let cases: &[(&[&str], &str)] = &[
        (&["-c", "bad.key=1"], "Unknown configuration key: bad.key"),
        (&["-c", "limits.cpu=abc"], "-c limits.cpu=abc"),
        (&["--profile", "nope"], "profile nope not found"),
    ];
    for (opts, want) in cases {
        let mut args = opts.to_vec();
        args.extend(["tpl", "c1", "c2"]);
        let r = p.tool("golden-derive", &args);
        assert_eq!(r.code, 2, "{opts:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{opts:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{opts:?}: {}", r.stderr);
        assert_eq!(p.instances(), ["tpl"], "{opts:?}: nothing made");
    }
    // Good ones pass, and reach the clone.
    let r = p.tool(
        "golden-derive",
        &["-c", "limits.cpu=1", "-c", "user.x=y", "tpl", "c1"],
    );
    r.assert_ok();
    assert_eq!(p.get("c1")["config"]["limits.cpu"], "1");
}

#[test]
fn a_target_project_without_a_root_disk_is_refused_before_any_copy() {
    let p = Project::new("gd-noroot");
    p.golden("tpl", None);
    // Its own profiles: a default profile with no root disk.
    let q = project_with(
        "gd-noroot-to",
        &[
            "features.images=false",
            "features.profiles=true",
            "features.storage.volumes=false",
        ],
    );
    let r = p.tool(
        "golden-derive",
        &["--target-project", &q.name, "tpl", "c1", "c2"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no root disk"), "{}", r.stderr);
    assert!(q.instances().is_empty());
}

#[test]
fn volumes_copy_into_a_project_with_its_own_volume_store_lands_there() {
    let p = Project::new("gd-store");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let q = project_with(
        "gd-store-to",
        &[
            "features.images=false",
            "features.profiles=false",
            "features.storage.volumes=true",
        ],
    );
    // Sharing cannot work across stores: refused before any copy.
    let r = p.tool(
        "golden-derive",
        &[
            "--volumes",
            "share",
            "--target-project",
            &q.name,
            "tpl",
            "s1",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--volumes share"), "{}", r.stderr);
    assert!(q.instances().is_empty());

    let r = p.tool(
        "golden-derive",
        &[
            "--volumes",
            "copy",
            "--target-project",
            &q.name,
            "tpl",
            "c1",
        ],
    );
    r.assert_ok();
    let copy = format!("c1-{vol}");
    let shown = incus(&[
        "storage",
        "volume",
        "show",
        "gbtrfs",
        &copy,
        "--project",
        &q.name,
    ]);
    assert!(
        shown.status.success(),
        "the clone's volume is in its project's store"
    );
    q.incus(&["start", "c1"]);
    q.incus(&["delete", "--force", "c1"]);
    q.incus(&["storage", "volume", "delete", "gbtrfs", &copy]);
}

#[test]
fn a_leftover_volume_named_like_a_clones_copy_refuses_that_clone_up_front() {
    let p = Project::new("gd-leftover");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let leftover = format!("c2-{vol}");
    // Marked as this test's, so that it goes with the project whatever happens.
    let mark = format!("user.golden-test.project={}", p.name);
    incus_ok(&["storage", "volume", "create", "gbtrfs", &leftover, &mark]);
    // With --fail-fast, a refusal found up front means nothing at all is made.
    let r = p.tool(
        "golden-derive",
        &["--fail-fast", "--volumes", "copy", "tpl", "c1", "c2"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&leftover) && r.stderr.contains("exists already"),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), ["tpl"], "nothing made before the refusal");
    // Without it, the other clone is made.
    let r = p.tool("golden-derive", &["--volumes", "copy", "tpl", "c1", "c2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(p.instances(), ["c1", "tpl"]);
    incus_ok(&["storage", "volume", "delete", "gbtrfs", &leftover]);
}

#[test]
fn a_volume_copied_to_a_dir_pool_is_a_full_copy_and_says_so() {
    let p = Project::new("gd-dirvol");
    p.instance("tpl", None);
    let vol = p.volume("gdir", "data");
    p.incus(&["storage", "volume", "attach", "gdir", &vol, "tpl", "/data"]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--volumes", "copy", "tpl", "c1"],
    );
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["cow"], false);
    assert!(
        r.stderr.contains("full copies") && r.stderr.contains(&vol) && r.stderr.contains("gdir"),
        "{}",
        r.stderr
    );
    // Shared, nothing is copied: the root disk's CoW stands.
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--volumes", "share", "tpl", "c2"],
    );
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["cow"], true);
}
