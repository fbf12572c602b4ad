//! Where clones and images come from, told right: a renamed template keeps its
//! clones, and one golden published twice at once gives two working aliases.

use std::process::Stdio;

use golden_tests::*;

#[test]
fn a_renamed_template_keeps_its_clones() {
    let p = Project::new("pv-rename");
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let r = p.tool("golden-derive", &["tpl", "c1", "c2"]);
    r.assert_ok();
    let uuid = p.get("tpl")["config"]["volatile.uuid"].clone();
    assert_eq!(p.get("c1")["config"]["user.golden.template_uuid"], uuid);
    p.incus(&["rename", "tpl", "base"]);
    let r = p.tool("golden-ls", &["-f", "json", "base"]);
    r.assert_ok();
    let row = &json_lines(&r.stdout)[0];
    assert_eq!(
        (row["derived"].as_u64(), row["stale"].as_u64()),
        (Some(2), Some(0)),
        "{row}"
    );
    // A rerun under the new name knows them as its own.
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--skip-existing", "base", "c1"],
    );
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["status"], "skipped");
}

#[test]
fn one_golden_published_twice_at_once_gives_two_working_aliases() {
    // Two publishes of one pristine at once: both succeed and each alias
    // names the image its record reports. Made within the same second, the
    // two are the same content (Incus dates an image to the second) and share
    // one image; later, two images. Which one happens depends on the
    // machine's speed, so the test holds for both; the same-content answer
    // itself is read by `already_made`, unit-tested in golden-publish.
    let p = Project::new("pv-twice");
    p.golden("g", None);
    for round in 0..2 {
        let spawn = |side: &str| {
            let alias = format!("{}-{round}{side}", p.name);
            golden("golden-publish")
                .args(["-f", "json", "g", "--alias", &alias, "--project", &p.name])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("a"), spawn("b"));
        let mut fps = Vec::new();
        for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let rec = &json_lines(&String::from_utf8_lossy(&out.stdout))[0];
            assert!(rec["size"].as_u64().unwrap_or(0) > 0, "{rec}");
            fps.push(rec["fingerprint"].as_str().unwrap().to_string());
        }
        for (side, fp) in ["a", "b"].iter().zip(&fps) {
            let alias = format!("{}-{round}{side}", p.name);
            let out = incus_ok(&[
                "query",
                &format!("/1.0/images/aliases/{alias}?project=default"),
            ]);
            assert!(out.contains(fp.as_str()), "{alias}: {out}");
        }
    }
}
