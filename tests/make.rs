//! The Makefile targets: thin calls of the tools, variables passed as data,
//! install and uninstall.

use golden_tests::*;
use std::path::Path;

fn make(args: &[&str]) -> Run {
    // Build once, first: a target's own build must not relink a binary that
    // another test is running.
    static BUILD: std::sync::Once = std::sync::Once::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    BUILD.call_once(|| {
        let r = run(make_command().arg("-C").arg(&root).arg("build"));
        assert_eq!(r.code, 0, "make build: {}", r.stderr);
    });
    run(make_command().arg("-C").arg(root).args(args))
}

#[test]
fn seed_targets_create_derive_publish_list_and_refresh() {
    let p = Project::new("mk-seed");
    p.instance("pro-dev", None);
    let proj = format!("PROJECT={}", p.name);
    let r = make(&["golden-create", "NAME=pro-dev", &proj]);
    r.assert_ok();
    assert_eq!(p.snapshots("pro-dev"), ["pristine"]);
    // The older spellings TEMPLATE= and INSTANCE= too.
    let r = make(&[
        "golden-derive",
        "TEMPLATE=pro-dev",
        "INSTANCE=pro-alice",
        &proj,
    ]);
    r.assert_ok();
    let r = make(&[
        "golden-derive",
        "NAME=pro-dev",
        "NEW=pro-bob pro-carol",
        &proj,
    ]);
    r.assert_ok();
    assert_eq!(
        p.instances(),
        ["pro-alice", "pro-bob", "pro-carol", "pro-dev"]
    );
    let alias = format!("ALIAS={}-golden-pro", p.name);
    let r = make(&["golden-publish", "NAME=pro-dev", &alias, &proj]);
    r.assert_ok();
    for target in ["golden-list", "golden-ls"] {
        let r = make(&[target, &proj]);
        r.assert_ok();
        let row = r.stdout.lines().nth(1).unwrap_or_default().to_string();
        assert!(
            row.starts_with(&format!("{}\tpro-dev\t", p.name)),
            "{target}: {}",
            r.stdout
        );
    }
    // The update cycle's end: a new pristine, and one clone refreshed from it.
    assert_eq!(make(&["golden-create", "NAME=pro-dev", &proj]).code, 0);
    let r = make(&["golden-refresh", "NAME=pro-alice", &proj]);
    r.assert_ok();
    assert!(r.stdout.contains("\trefreshed\t"), "{}", r.stdout);
    assert_eq!(
        p.get("pro-alice")["config"]["user.golden.created_at"],
        p.snapshot_created_at("pro-dev", "pristine").as_str()
    );
}

#[test]
fn shell_syntax_in_variables_is_data_never_run() {
    let p = Project::new("mk-inject");
    p.golden("tpl", None);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let m = marker.display();
    let proj = format!("PROJECT={}", p.name);
    let attempts = [
        vec![
            "golden-create".to_string(),
            format!("NAME=x; touch {m}"),
            proj.clone(),
        ],
        vec![
            "golden-create".into(),
            format!("NAME=$(touch {m})"),
            proj.clone(),
        ],
        vec![
            "golden-derive".into(),
            "NAME=tpl".into(),
            format!("NEW=$(touch {m})"),
            proj.clone(),
        ],
        vec![
            "golden-derive".into(),
            "NAME=tpl".into(),
            format!("NEW=`touch {m}`"),
            proj.clone(),
        ],
        vec![
            "golden-derive".into(),
            "NAME=tpl".into(),
            format!("NEW=a\"; touch {m}; \""),
            proj.clone(),
        ],
        vec![
            "golden-publish".into(),
            "NAME=tpl".into(),
            format!("ALIAS=$$(touch {m})"),
            proj.clone(),
        ],
        vec!["golden-list".into(), format!("PROJECT=$(touch {m})")],
    ];
    for a in &attempts {
        let args: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = make(&args);
        assert_ne!(r.code, 0, "{a:?} should be refused");
        assert!(!marker.exists(), "{a:?} ran a command");
        assert_eq!(p.instances(), ["tpl"], "{a:?} created something");
    }
}

#[test]
fn a_missing_variable_is_a_one_line_usage_message() {
    for (target, usage) in [
        ("golden-create", "usage: make golden-create NAME=x"),
        ("golden-derive", "usage: make golden-derive NAME=x NEW=y"),
        (
            "golden-publish",
            "usage: make golden-publish NAME=x ALIAS=a",
        ),
        ("golden-refresh", "usage: make golden-refresh NAME=clone"),
    ] {
        let r = make(&[target]);
        assert_eq!(r.code, 2, "{target}");
        assert!(r.stderr.contains(usage), "{target}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{target}: {}", r.stderr);
    }
    let r = make(&["golden-derive", "NAME=x"]);
    assert!(r.stderr.contains("NEW=y"), "{}", r.stderr);
}

#[test]
fn install_and_uninstall_into_a_destdir() {
    let dest = tempfile::tempdir().unwrap();
    let d = format!("DESTDIR={}", dest.path().display());
    let r = make(&["install", "PREFIX=/usr/local", &d]);
    r.assert_ok();
    let root = dest.path().join("usr/local");
    for t in [
        "golden-create",
        "golden-derive",
        "golden-publish",
        "golden-ls",
        "golden-refresh",
        "golden-identity",
        "golden-revoke",
        "golden-retire",
    ] {
        for f in [
            format!("bin/{t}"),
            format!("share/man/man1/{t}.1"),
            format!("share/bash-completion/completions/{t}"),
            format!("share/zsh/site-functions/_{t}"),
            format!("share/fish/vendor_completions.d/{t}.fish"),
        ] {
            assert!(root.join(&f).is_file(), "{f} not installed");
        }
    }
    assert!(root.join("share/man/man7/golden.7").is_file());
    let v = run(std::process::Command::new(root.join("bin/golden-ls")).arg("--version"));
    assert!(v.stdout.starts_with("golden-ls "), "{}", v.stdout);

    let r = make(&["uninstall", "PREFIX=/usr/local", &d]);
    r.assert_ok();
    let left: Vec<_> = walk(dest.path())
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}
