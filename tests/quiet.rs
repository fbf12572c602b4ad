//! The tools on a quiet daemon: one that has run no operation for a while, so
//! that it has forgotten even the finished ones and answers `/1.0/operations`
//! with an empty map (which `incus query` prints as nothing). Every other test
//! runs on a daemon that has just done something, and would not see this.
//! Also a project with nothing in it: empty answers everywhere.

use golden_tests::*;

#[test]
fn create_of_a_stopped_instance_on_a_quiet_daemon() {
    let p = Project::new("q-create");
    p.instance("idle1", None);
    p.wait_quiet();
    let r = p.tool("golden-create", &["-f", "json", "idle1"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["instance"], "idle1");
    assert_eq!(rec["stopped"], false, "it was stopped already");
    assert_eq!(rec["previous"], "");
    assert_eq!(p.snapshots_but_generations("idle1"), ["pristine"]);
    assert_eq!(
        rec["created_at"],
        p.snapshot_created_at("idle1", "pristine").as_str()
    );

    // Again, once the daemon is quiet again: the pristine is replaced.
    p.wait_quiet();
    let r = p.tool("golden-create", &["-f", "json", "idle1"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["previous"], rec["created_at"]);
    assert_eq!(p.snapshots_but_generations("idle1"), ["pristine"]);
}

#[test]
fn derive_on_a_quiet_daemon() {
    let p = Project::new("q-derive");
    p.golden("tpl", None);
    p.wait_quiet();
    let r = p.tool("golden-derive", &["-f", "json", "tpl", "c1", "c2"]);
    r.assert_ok();
    let recs = json_lines(&r.stdout);
    let mut made: Vec<&str> = recs
        .iter()
        .map(|v| v["instance"].as_str().unwrap())
        .collect();
    made.sort();
    assert_eq!(made, ["c1", "c2"]);
    assert_eq!(p.instances(), ["c1", "c2", "tpl"]);
    for c in ["c1", "c2"] {
        assert_eq!(p.get(c)["config"]["user.golden.template"], "tpl");
    }
}

#[test]
fn publish_on_a_quiet_daemon() {
    let p = Project::new("q-publish");
    p.golden("g", None);
    p.wait_quiet();
    let alias = format!("{}-g", p.name);
    let r = p.tool("golden-publish", &["-f", "json", "g", "--alias", &alias]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["alias"], alias.as_str());
    let fp = rec["fingerprint"].as_str().unwrap();
    assert!(!fp.is_empty(), "{rec}");
    let img = incus_ok(&["query", &format!("/1.0/images/{fp}?project=default")]);
    let img: serde_json::Value = serde_json::from_str(&img).unwrap();
    assert_eq!(img["properties"]["golden.instance"], "g");
    assert_eq!(img["aliases"][0]["name"], alias.as_str());
}

#[test]
fn an_empty_project_lists_nothing_and_succeeds() {
    let p = Project::new("q-empty");
    p.wait_quiet();
    let r = run(golden("golden-ls").args(["-f", "tsv", "-p", &p.name]));
    r.assert_ok();
    assert_eq!(
        r.stdout,
        "project\tinstance\ttype\tstatus\tsnapshot\tcreated_at\tpool\tdriver\tcow\tvolumes\tderived\tstale\tlocation\n",
        "the header only"
    );
    assert_eq!(r.stderr, "");
    let r = run(golden("golden-ls").args(["-f", "json", "-p", &p.name]));
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}
