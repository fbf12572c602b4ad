//! The swap's temporary snapshots are its own: named and marked so, and the
//! user's snapshots are left alone, whatever they are called.

use golden_tests::*;

#[test]
fn snapshots_a_user_named_pristine_next_or_old_are_left_alone() {
    let p = Project::new("sw-user");
    p.instance("t", None);
    p.snapshot("t", "pristine-old");
    p.snapshot("t", "pristine-next");
    // Not a golden: no pristine, and these are the user's.
    let r = p.tool("golden-ls", &["-f", "json"]);
    r.assert_ok();
    assert_eq!(r.stdout, "", "{}", r.stdout);
    let r = p.tool("golden-create", &["t"]);
    r.assert_ok();
    assert_eq!(
        p.snapshots("t"),
        ["pristine", "pristine-next", "pristine-old"]
    );
    // And again, replacing pristine (kept as generation 1).
    let r = p.tool("golden-create", &["t"]);
    r.assert_ok();
    assert_eq!(
        p.snapshots("t"),
        ["pristine", "pristine-next", "pristine-old", "pristine.g1"]
    );
}

#[test]
fn a_user_snapshot_holding_the_swaps_name_is_never_touched_and_is_named() {
    let p = Project::new("sw-clash");
    p.golden("t", None);
    p.snapshot("t", SWAP_NEXT);
    let r = p.tool("golden-create", &["t"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(SWAP_NEXT) && r.stderr.contains("did not make"),
        "{}",
        r.stderr
    );
    assert_eq!(p.snapshots("t"), ["pristine", SWAP_NEXT]);
    // Readers do not take it for a pristine either.
    let r = p.tool("golden-derive", &["-f", "json", "t", "c1"]);
    r.assert_ok();
    assert_eq!(
        json_lines(&r.stdout)[0]["source"],
        format!("{}/t/pristine", p.name).as_str()
    );
}

#[test]
fn the_new_pristine_never_expires_and_no_temporary_is_left() {
    let p = Project::new("sw-expiry");
    p.instance("t", None);
    for _ in 0..2 {
        let r = p.tool("golden-create", &["t"]);
        r.assert_ok();
    }
    assert_eq!(p.snapshots_but_generations("t"), ["pristine"]);
    let out = incus_ok(&[
        "query",
        &format!("/1.0/instances/t/snapshots/pristine?project={}", p.name),
    ]);
    let snap: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(snap["expires_at"], "0001-01-01T00:00:00Z");
}

#[test]
fn after_a_volumes_swap_was_interrupted_volumes_copy_uses_its_newest_snapshot() {
    let p = Project::new("sw-vol");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    // Killed between the renames: the volume has the swap's -old and -next, no pristine.
    Project::volume_swap_leftover("gbtrfs", &vol, SWAP_OLD);
    incus_ok(&[
        "storage", "volume", "snapshot", "delete", "gbtrfs", &vol, "pristine",
    ]);
    Project::volume_swap_leftover("gbtrfs", &vol, SWAP_NEXT);
    let r = p.tool("golden-derive", &["--volumes", "copy", "tpl", "c1"]);
    r.assert_ok();
    assert_eq!(
        p.get("c1")["devices"][&vol]["source"],
        format!("c1-{vol}").as_str()
    );
    // The next create finishes that swap: one pristine again, and the one
    // it replaced kept as generation 1.
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let snaps = incus_ok(&[
        "storage", "volume", "snapshot", "list", "gbtrfs", &vol, "-f", "csv", "-c", "n",
    ]);
    let mut snaps: Vec<&str> = snaps.lines().collect();
    snaps.sort();
    assert_eq!(snaps, ["pristine", "pristine.g1"]);
}
