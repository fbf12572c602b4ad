//! `make deb`: the Debian package of the tools. What it holds, what lintian
//! says of it, and a user's whole round on a clean Debian 12 (a booted
//! `debian12` container of the private Incus): `apt-get install ./golden_*.deb`,
//! golden-ls listing a golden of the daemon, `man golden-derive`, and
//! `apt-get purge golden` leaving nothing of the package behind.

use golden_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TOOLS: [&str; 8] = [
    "golden-create",
    "golden-derive",
    "golden-publish",
    "golden-ls",
    "golden-refresh",
    "golden-identity",
    "golden-revoke",
    "golden-retire",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a host command, which must succeed; its stdout.
#[track_caller]
fn host(cmd: &mut Command) -> String {
    let r = run(cmd);
    assert_eq!(r.code, 0, "{cmd:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

/// `make deb`, once for the whole test binary: the package it wrote.
fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let arch = host(Command::new("dpkg").arg("--print-architecture"));
        let name = format!("golden_{}-1_{}.deb", env!("CARGO_PKG_VERSION"), arch.trim());
        let path = root().join("target/debian").join(&name);
        let started = std::time::SystemTime::now();
        let clock = std::time::Instant::now();
        let r = run(make_command().arg("-C").arg(root()).arg("deb"));
        r.assert_ok();
        eprintln!("make deb: {:.1} s", clock.elapsed().as_secs_f64());
        // cargo-deb names the package it wrote on stdout.
        assert!(r.stdout.contains(&name), "{}", r.stdout);
        let written = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(written >= started, "{} is not new", path.display());
        path
    })
}

/// `dpkg-deb ARGS DEB`.
fn dpkg_deb(args: &[&str]) -> String {
    host(Command::new("dpkg-deb").args(args).arg(deb()))
}

/// One file of the package, as text (gunzipped when it is `.gz`).
fn member(path: &str) -> String {
    let line = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -xOf - '.{path}'{}",
        deb().display(),
        if path.ends_with(".gz") { " | zcat" } else { "" }
    );
    host(Command::new("sh").args(["-c", &line]))
}

#[test]
fn the_package_holds_the_tools_man_pages_completions_copyright_and_changelog() {
    let listing = dpkg_deb(&["--contents"]);
    let files: Vec<&str> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|f| f.trim_start_matches('.'))
        .collect();
    // Every tool of tools/, so that a seventh one is not left out of the package.
    let mut tools: Vec<String> = std::fs::read_dir(root().join("tools"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("golden-"))
        .collect();
    tools.sort();
    let mut expected: Vec<String> = TOOLS.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(tools, expected, "tools/ and the tools this test expects");
    let mut want = vec![
        "/usr/share/man/man7/golden.7.gz".to_string(),
        "/usr/share/doc/golden/copyright".to_string(),
        "/usr/share/doc/golden/changelog.Debian.gz".to_string(),
        "/usr/share/lintian/overrides/golden".to_string(),
    ];
    for t in TOOLS {
        want.extend([
            format!("/usr/bin/{t}"),
            format!("/usr/share/man/man1/{t}.1.gz"),
            format!("/usr/share/bash-completion/completions/{t}"),
            format!("/usr/share/zsh/vendor-completions/_{t}"),
            format!("/usr/share/fish/vendor_completions.d/{t}.fish"),
        ]);
    }
    let mut got: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{listing}");
    // Executables 755, the rest 644, all root's (uid and gid 0).
    for l in listing.lines().filter(|l| !l.starts_with('d')) {
        let exe = l.contains("./usr/bin/");
        let mode = if exe { "-rwxr-xr-x" } else { "-rw-r--r--" };
        assert!(l.starts_with(&format!("{mode} 0/0 ")), "{l}");
    }

    let field = |f: &str| {
        dpkg_deb(&["--field"])
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{f}: ")).map(str::to_string))
    };
    assert_eq!(field("Package").as_deref(), Some("golden"));
    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    assert_eq!(field("Version").as_deref(), Some(version.as_str()));
    assert_eq!(field("Section").as_deref(), Some("admin"));
    assert_eq!(field("Priority").as_deref(), Some("optional"));
    // Computed by dpkg-shlibdeps: the C library, nothing else (rustls, no OpenSSL).
    let depends = field("Depends").unwrap_or_default();
    assert!(depends.starts_with("libc6 (>= "), "Depends: {depends}");
    assert!(!depends.contains("libssl"), "Depends: {depends}");

    // The installed man pages are the ones of man/, gzipped.
    assert_eq!(
        member("/usr/share/man/man1/golden-derive.1.gz"),
        std::fs::read_to_string(root().join("man/golden-derive.1")).unwrap()
    );
    // Machine-readable copyright (DEP-5), Apache-2.0 as the workspace says.
    let copyright = member("/usr/share/doc/golden/copyright");
    assert!(
        copyright.starts_with(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        ),
        "{copyright}"
    );
    assert!(copyright.contains("\nFiles: *\n"), "{copyright}");
    assert!(
        copyright.contains("\nLicense: Apache-2.0\n Licensed under the Apache License"),
        "{copyright}"
    );
    // The changelog's newest entry is this version: bump both together.
    let changelog = member("/usr/share/doc/golden/changelog.Debian.gz");
    let head = changelog.lines().next().unwrap_or_default();
    assert!(
        head.starts_with(&format!("golden ({version}) ")),
        "packaging/changelog's newest entry is `{head}`, the package is {version}"
    );
}

/// Installs a Debian package on the host when its command is missing (an
/// `apt-get update` first if the lists do not know it).
fn apt_install(command: &str, package: &str) {
    if run(Command::new("sh").args(["-c", &format!("command -v {command}")])).code == 0 {
        return;
    }
    let install = || {
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", package])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().code != 0 {
        host(Command::new("apt-get").args(["update", "-qq"]));
        let r = install();
        assert_eq!(r.code, 0, "apt-get install {package}: {}", r.stderr);
    }
}

#[test]
fn lintian_finds_no_error_and_no_warning() {
    apt_install("lintian", "lintian");
    let deb = deb();
    // Pedantic tags shown too, so that the output is what docs/packaging.md says.
    let r = run(Command::new("lintian")
        .args(["--fail-on", "error,warning", "--display-info", "--pedantic"])
        .arg(deb));
    eprintln!("lintian {}:\n{}{}", deb.display(), r.stdout, r.stderr);
    assert_eq!(r.code, 0, "lintian: {}{}", r.stdout, r.stderr);
    // Each override in the package is still needed: lintian names unused ones.
    assert!(!r.stdout.contains("unused-override"), "{}", r.stdout);
}

/// The .deb files that `apt-get install man-db` would add to `instance` (a
/// minbase Debian 12 holds no man-db, and its apt has no lists and no
/// network): resolved by the host's apt against the guest's dpkg status and
/// downloaded by it. The host is Debian 12 as the guest is.
fn man_db_for(p: &Project, instance: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    p.incus(&[
        "file",
        "pull",
        &format!("{instance}/var/lib/dpkg/status"),
        status.to_str().unwrap(),
    ]);
    let simulate = || {
        run(Command::new("apt-get")
            .args(["-s", "--no-install-recommends", "install", "man-db"])
            .arg(format!("-oDir::State::status={}", status.display())))
    };
    let mut r = simulate();
    if r.code != 0 {
        host(Command::new("apt-get").args(["update", "-qq"]));
        r = simulate();
    }
    assert_eq!(r.code, 0, "apt-get -s install man-db: {}", r.stderr);
    // "Inst NAME (VERSION Debian:12.x/... [ARCH])"
    let wanted: Vec<String> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(format!(
                "{}={}",
                w.next()?,
                w.next()?.trim_start_matches('(')
            ))
        })
        .collect();
    assert!(
        wanted.iter().any(|w| w.starts_with("man-db=")),
        "{}",
        r.stdout
    );
    let debs = dir.path().join("debs");
    std::fs::create_dir(&debs).unwrap();
    host(
        Command::new("apt-get")
            .args(["download", "-q", "-oAPT::Sandbox::User=root"])
            .args(&wanted)
            .current_dir(&debs),
    );
    dir
}

#[test]
fn apt_installs_it_on_a_clean_debian_12_and_purge_leaves_nothing() {
    let deb = deb();
    let p = Project::new("deb");
    // A golden of the daemon, for the packaged golden-ls to find.
    p.golden("tpl", None);
    p.incus(&["init", "debian12", "box", "--network", BRIDGE]);
    let state = p.boot("box");
    assert_eq!(state, "running", "the clean Debian 12 booted {state}");

    // man-db first, as on a machine that has it: its dpkg trigger indexes
    // the pages golden brings.
    let man_db = man_db_for(&p, "box");
    p.sh("box", "mkdir -p /root/man-db");
    let mut push = vec!["file".to_string(), "push".to_string()];
    for e in std::fs::read_dir(man_db.path().join("debs")).unwrap() {
        push.push(e.unwrap().path().display().to_string());
    }
    push.push("box/root/man-db/".into());
    p.incus(&push.iter().map(String::as_str).collect::<Vec<_>>());
    let apt =
        "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends";
    p.sh("box", &format!("{apt} /root/man-db/*.deb"));

    // The package, installed by apt from the file, offline: its dependencies
    // are all in the clean system already.
    let file = deb.file_name().unwrap().to_str().unwrap();
    p.incus(&["file", "push", deb.to_str().unwrap(), "box/root/"]);
    p.sh("box", &format!("cd /root && {apt} ./{file}"));
    p.sh("box", "apt-get -s check");
    assert_eq!(
        p.sh("box", "command -v golden-ls").trim(),
        "/usr/bin/golden-ls"
    );

    // golden-ls of the package talks to the daemon: its socket is given to the
    // guest where a local incus has it, and golden-ls needs no setting at all.
    p.sh("box", "mkdir -p /var/lib/incus");
    let socket = format!("connect=unix:{}/unix.socket", incus_dir());
    p.incus(&[
        "config",
        "device",
        "add",
        "box",
        "incus-socket",
        "proxy",
        "listen=unix:/var/lib/incus/unix.socket",
        &socket,
        "bind=container",
        "mode=0660",
    ]);
    let listed = p.sh(
        "box",
        &format!(
            "golden-ls --project {} -f tsv -H -o instance,snapshot",
            p.name
        ),
    );
    assert_eq!(listed, "tpl\tpristine\n");

    // man finds the pages where Debian keeps them, and renders them.
    assert_eq!(
        p.sh("box", "man -w golden-derive"),
        "/usr/share/man/man1/golden-derive.1.gz\n"
    );
    assert_eq!(
        p.sh("box", "man -w golden"),
        "/usr/share/man/man7/golden.7.gz\n"
    );
    let page = p.sh("box", "MANWIDTH=80 man -P cat golden-derive 2>&1");
    assert!(
        page.contains("golden-derive - Create instances from a golden's pristine snapshot"),
        "{page}"
    );
    // bash loads the completion bash-completion would (which minbase lacks).
    for t in TOOLS {
        let line = format!(". /usr/share/bash-completion/completions/{t} && complete -p {t}");
        let said = p.sh("box", &format!("bash -c '{line}'"));
        assert!(said.trim_end().ends_with(&format!(" {t}")), "{t}: {said}");
    }

    // Purged, nothing of what it installed is left: every path dpkg listed is
    // gone, but for directories another package still owns.
    let listed = p.sh("box", "dpkg -L golden");
    assert!(listed.contains("/usr/bin/golden-ls\n"), "{listed}");
    p.sh("box", "dpkg -L golden >/root/golden.list");
    p.sh(
        "box",
        "export DEBIAN_FRONTEND=noninteractive; apt-get purge -y -q golden",
    );
    let left = p.sh(
        "box",
        "while read -r f; do \
             [ -e \"$f\" ] || [ -L \"$f\" ] || continue; \
             [ -d \"$f\" ] && dpkg -S \"$f\" >/dev/null 2>&1 && continue; \
             echo \"$f\"; \
         done </root/golden.list",
    );
    assert_eq!(left, "", "left behind by apt-get purge golden");
    assert_eq!(
        p.sh(
            "box",
            "dpkg -s golden >/dev/null 2>&1 && echo known || echo unknown"
        ),
        "unknown\n"
    );
    assert_eq!(
        p.sh("box", "man -w golden-derive 2>/dev/null || echo none"),
        "none\n"
    );
}
