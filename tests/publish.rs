//! golden-publish against the real private Incus.

use golden_tests::*;
use serde_json::Value;

fn image(project: &str, fingerprint: &str) -> Option<Value> {
    let out = incus(&[
        "query",
        &format!("/1.0/images/{fingerprint}?project={project}"),
    ]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn publishes_pristine_with_alias_and_provenance_and_the_image_launches() {
    let p = Project::new("pub-basic");
    p.golden("pro-dev", None);
    let alias = format!("{}-golden-pro", p.name);
    let r = p.tool(
        "golden-publish",
        &["-f", "json", "pro-dev", "--alias", &alias],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["alias"], alias.as_str());
    assert_eq!(rec["replaced"], "");
    // A project without features.images keeps its images in `default`.
    assert_eq!(rec["image_project"], "default");
    assert_eq!(
        rec["created_at"],
        p.snapshot_created_at("pro-dev", "pristine").as_str()
    );
    assert!(rec["size"].as_u64().unwrap() > 0);
    let fp = rec["fingerprint"].as_str().unwrap();
    let img = image("default", fp).expect("image in the default store");
    assert_eq!(img["properties"]["golden.instance"], "pro-dev");
    assert_eq!(img["properties"]["golden.project"], p.name.as_str());
    assert_eq!(img["aliases"][0]["name"], alias.as_str());
    // It launches.
    p.incus(&["init", &alias, "from-image"]);
    p.incus(&["start", "from-image"]);
}

#[test]
fn a_project_with_its_own_images_keeps_them() {
    require_daemon();
    let name = format!("t{}-pub-own", std::process::id());
    let _ = incus(&["project", "delete", &name]);
    incus_ok(&[
        "project",
        "create",
        &name,
        "-c",
        "features.images=true",
        "-c",
        "features.profiles=false",
    ]);
    let p = Project { name };
    // No image in this project's own store: an empty container is golden enough.
    p.incus(&["init", "--empty", "g"]);
    p.snapshot("g", "pristine");
    let r = p.tool(
        "golden-publish",
        &["-f", "json", "g", "--alias", "golden-g"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["image_project"], p.name.as_str());
    assert!(image(&p.name, rec["fingerprint"].as_str().unwrap()).is_some());
}

#[test]
fn a_taken_alias_is_refused_unless_replace_which_deletes_the_orphan() {
    let p = Project::new("pub-replace");
    p.golden("g", None);
    let alias = format!("{}-g", p.name);
    let first = p.tool("golden-publish", &["-f", "json", "g", "--alias", &alias]);
    first.assert_ok();
    let old = json_lines(&first.stdout)[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    let r = p.tool("golden-publish", &["g", "--alias", &alias]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&old[..12]) && r.stderr.contains("--replace"),
        "{}",
        r.stderr
    );

    // A new pristine with other content: a new image (the same content
    // published within one second would be the same image, and is reused).
    let changed = |n: &str| {
        p.incus(&["file", "push", "/etc/hostname", &format!("g/root/{n}")]);
        assert_eq!(p.tool("golden-create", &["-q", "g"]).code, 0);
    };
    changed("marker-1");
    let r = p.tool(
        "golden-publish",
        &["-f", "json", "g", "--alias", &alias, "--replace"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["replaced"], old.as_str());
    assert_ne!(rec["fingerprint"], old.as_str());
    assert!(
        image("default", &old).is_none(),
        "the old image, named by nothing, is gone"
    );

    // An old image that another alias still names is kept.
    let current = rec["fingerprint"].as_str().unwrap().to_string();
    incus_ok(&[
        "image",
        "alias",
        "create",
        &format!("{alias}-keep"),
        &current,
    ]);
    changed("marker-2");
    let r = p.tool("golden-publish", &["g", "--alias", &alias, "--replace"]);
    r.assert_ok();
    assert!(image("default", &current).is_some());
    assert!(r.stderr.contains("other aliases"), "{}", r.stderr);
}

#[test]
fn every_golden_from_golden_ls_through_a_pipe() {
    let p = Project::new("pub-pipe");
    p.golden("a", None);
    p.golden("b", None);
    p.instance("not-golden", None);
    let ls = p.tool("golden-ls", &[]);
    ls.assert_ok();
    let r = run_with_stdin(
        golden("golden-publish").args(["--alias", "{project}-{instance}", "-H", "-o", "alias"]),
        &ls.stdout,
    );
    r.assert_ok();
    assert_eq!(r.stdout, format!("{0}-a\n{0}-b\n", p.name));
}

#[test]
fn errors_say_what_to_do_and_publish_nothing() {
    let p = Project::new("pub-bad");
    p.instance("plain", None);
    p.golden("g", None);
    let cases: &[(&[&str], &str)] = &[
        (
            &["plain", "--alias", "x-plain"],
            "run `golden-create plain` first",
        ),
        (
            &["g", "--alias", "bad alias"],
            "invalid image alias \"bad alias\"",
        ),
        (&["g", "--alias", "golden-{colour}"], "\"colour\""),
        (&["g", "--alias", "x", "--expires", "someday"], "--expires"),
        (&["g"], "--alias"),
        (
            &["g", "plain", "--alias", "same"],
            "run `golden-create plain` first",
        ),
    ];
    for (args, want) in cases {
        let r = p.tool("golden-publish", args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    let r = p.tool("golden-publish", &["g", "g", "--alias", "same-for-both"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let out = incus_ok(&["query", "/1.0/images?recursion=1&project=default"]);
    let images: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(
        !images
            .iter()
            .any(|i| i["properties"]["golden.project"] == p.name.as_str()),
        "nothing published"
    );
}

#[test]
fn dry_run_publishes_nothing_and_volumes_are_named_as_left_out() {
    let p = Project::new("pub-dry");
    p.golden("g", None);
    let r = p.tool(
        "golden-publish",
        &["-n", "-f", "json", "g", "--alias", &format!("{}-g", p.name)],
    );
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["fingerprint"], "");
    let out = incus_ok(&["query", "/1.0/images?recursion=1&project=default"]);
    assert!(!out.contains(&p.name), "nothing published");
    // A pristine taken by hand holds no identity templates: said.
    let shared = "g: its pristine has no identity templates";
    assert!(r.stderr.contains(shared), "{}", r.stderr);

    let vol = p.volume("gbtrfs", "data");
    p.incus(&["storage", "volume", "attach", "gbtrfs", &vol, "g", "/data"]);
    assert_eq!(p.tool("golden-create", &["g"]).code, 0);
    let r = p.tool(
        "golden-publish",
        &["-f", "json", "g", "--alias", &format!("{}-gv", p.name)],
    );
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["volumes_left_out"], 1);
    assert!(r.stderr.contains("not part of the image"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(shared),
        "golden-create wrote them: {}",
        r.stderr
    );
    p.incus(&["delete", "g"]);
    incus_ok(&["storage", "volume", "delete", "gbtrfs", &vol]);
}

#[test]
fn a_publish_longer_than_the_request_timeout_still_completes() {
    // GOLDEN_TIMEOUT bounds a plain request; waiting on the image operation is
    // not one, however long the image takes to pack. The operation is made to
    // outlast the timeout whatever the machine's speed: once it is seen running,
    // the daemon is frozen (SIGSTOP) for longer than GOLDEN_TIMEOUT. The large
    // file only keeps the operation running long enough to be seen.
    const TIMEOUT_SECS: u64 = 1;
    let p = Project::new("pub-slow");
    p.instance("big", None);
    let file = big_file(64);
    p.incus(&[
        "file",
        "push",
        "-q",
        file.path().to_str().unwrap(),
        "big/big.bin",
    ]);
    p.snapshot("big", "pristine");
    let mut child = golden("golden-publish")
        .env("GOLDEN_TIMEOUT", TIMEOUT_SECS.to_string())
        .args([
            "-f",
            "json",
            "big",
            "--alias",
            &format!("{}-big", p.name),
            "--project",
            &p.name,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Operations are listed under the project of the request: this one's only.
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("golden-publish ended ({status}) before its image operation was seen running");
        }
        let out = incus_ok(&[
            "query",
            &format!("/1.0/operations?recursion=1&project={}", p.name),
        ]);
        let ops: Value = serde_json::from_str(&out).unwrap_or_default();
        if ops["running"].as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
    }
    {
        let _frozen = Frozen::daemon();
        std::thread::sleep(std::time::Duration::from_secs(TIMEOUT_SECS + 1));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rec = &json_lines(&String::from_utf8_lossy(&out.stdout))[0];
    assert!(rec["size"].as_u64().unwrap() > 60 << 20, "{rec}");
    assert!(image("default", rec["fingerprint"].as_str().unwrap()).is_some());
}

/// The private daemon stopped (SIGSTOP) until dropped, even by a failing test.
struct Frozen(String);

impl Frozen {
    fn daemon() -> Self {
        let pid = daemon_pid();
        signal(pid.parse().unwrap(), "STOP");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.0.parse().unwrap(), "CONT");
    }
}
