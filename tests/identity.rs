//! Every clone its own machine, end to end: renewed by the golden's templates
//! at the first start, or reset by golden-derive for a pristine without them,
//! on a real Debian 12 golden (the `debian12` image `tests/incus.sh start` builds
//! with mmdebstrap: systemd, openssh-server, dbus) and on busybox fixtures for
//! the edge cases.

use std::collections::BTreeSet;
use std::process::Command;

use golden_tests::*;

const KEYS: &[&str] = &["ecdsa", "ed25519", "rsa"];

/// Mode and owner of a path in an instance's root filesystem, as stored.
fn stat(p: &Project, instance: &str, path: &str) -> String {
    let full = format!(
        "{}/storage-pools/gbtrfs/containers/{}_{instance}/rootfs{path}",
        incus_dir(),
        p.name
    );
    let out = Command::new("nsenter")
        .args([
            "-t",
            &daemon_pid(),
            "-m",
            "--",
            "stat",
            "-c",
            "%a %F",
            &full,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "stat {full}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Identity {
    machine_id: String,
    hostname: String,
    keys: Vec<String>,
}

fn identity(p: &Project, i: &str) -> Identity {
    Identity {
        machine_id: p.file(i, "/etc/machine-id").unwrap(),
        hostname: p.file(i, "/etc/hostname").unwrap().trim().to_string(),
        keys: KEYS
            .iter()
            .map(|k| p.fingerprint(i, &format!("/etc/ssh/ssh_host_{k}_key.pub")))
            .collect(),
    }
}

/// What golden-create's templates renew in the Debian golden.
const RENEWED: &str = "machine-id,ssh-host-keys,hostname,dhcp-leases";

#[test]
fn three_clones_of_a_debian_golden_are_three_machines() {
    let p = Project::new("identity");
    p.debian_golden("deb");
    let before = identity(&p, "deb");
    assert_eq!(before.machine_id.trim().len(), 32, "{}", before.machine_id);

    // golden-create and derive's -n say what every instance will renew.
    let r = p.tool("golden-create", &["-n", "-f", "json", "deb"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], RENEWED);
    let r = p.tool("golden-derive", &["-n", "-f", "json", "deb", "a"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], RENEWED);
    assert_eq!(p.instances(), ["deb"]);

    let r = p.tool("golden-derive", &["-f", "json", "deb", "a", "b", "c"]);
    r.assert_ok();
    let recs = json_lines(&r.stdout);
    assert_eq!(recs.len(), 3);
    assert!(
        recs.iter().all(|r| r["identity"] == RENEWED),
        "{}",
        r.stdout
    );
    assert_eq!(p.get("a")["config"]["user.golden.identity"], RENEWED);

    // Renewed by the daemon and the guest at the first start.
    for name in ["a", "b", "c"] {
        assert_eq!(p.boot(name), "running", "{name}");
    }
    let clones: Vec<Identity> = ["a", "b", "c"].iter().map(|c| identity(&p, c)).collect();
    let ids: BTreeSet<&str> = clones
        .iter()
        .map(|c| c.machine_id.as_str())
        .chain([before.machine_id.as_str()])
        .collect();
    assert_eq!(ids.len(), 4, "four machine-ids: {ids:?}");
    for (c, name) in clones.iter().zip(["a", "b", "c"]) {
        let uuid = p.get(name)["config"]["volatile.uuid"].clone();
        assert_eq!(c.machine_id.trim(), uuid.as_str().unwrap().replace('-', ""));
        // A booted Debian's D-Bus id is a link to /etc/machine-id.
        assert_eq!(
            stat(&p, name, "/var/lib/dbus/machine-id"),
            "777 symbolic link"
        );
        assert_eq!(c.hostname, name);
        let hosts = p.file(name, "/etc/hosts").unwrap();
        assert!(hosts.contains(&format!("{name}.lab {name}\n")), "{hosts}");
        assert!(!hosts.contains("deb"), "{hosts}");
        for k in KEYS {
            let key = format!("/etc/ssh/ssh_host_{k}_key");
            // The private key is read by ssh-keygen and gives the public one's fingerprint.
            let of_private = p.fingerprint(name, &key);
            assert!(c.keys.contains(&of_private), "{name} {k}");
            assert_eq!(stat(&p, name, &key), "600 regular file", "{name} {key}");
            assert_eq!(stat(&p, name, &format!("{key}.pub")), "644 regular file");
            let public = p.file(name, &format!("{key}.pub")).unwrap();
            assert!(
                public.trim_end().ends_with(&format!("root@{name}")),
                "{public}"
            );
        }
        assert_eq!(
            p.file(name, "/var/lib/dhcp/dhclient.eth0.leases")
                .as_deref(),
            Some("")
        );
        assert_eq!(p.file(name, "/etc/golden/renew-ssh-keys"), None);
    }
    for (i, k) in KEYS.iter().enumerate() {
        let prints: BTreeSet<&str> = clones
            .iter()
            .map(|c| c.keys[i].as_str())
            .chain([before.keys[i].as_str()])
            .collect();
        assert_eq!(prints.len(), 4, "four {k} fingerprints");
    }
    let rsa = p.file("a", "/etc/ssh/ssh_host_rsa_key.pub").unwrap();
    assert!(rsa.starts_with("ssh-rsa "), "{rsa}");
    p.incus(&["stop", "a", "b", "c"]);

    // The template is untouched, and never renders its own templates.
    let after = identity(&p, "deb");
    assert_eq!(after.machine_id, before.machine_id);
    assert_eq!(after.keys, before.keys);
    assert_eq!(after.hostname, "deb");
    assert_eq!(p.boot("deb"), "running");
    let booted = identity(&p, "deb");
    assert_eq!(
        (booted.machine_id, booted.keys, booted.hostname),
        (before.machine_id, before.keys, "deb".to_string())
    );
    p.incus(&["stop", "deb"]);
}

#[test]
fn keep_identity_keeps_the_template_identity() {
    let p = Project::new("keepid");
    p.debian_golden("deb");
    let before = identity(&p, "deb");
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--keep-identity", "deb", "k1", "k2"],
    );
    r.assert_ok();
    assert!(json_lines(&r.stdout).iter().all(|r| r["identity"] == "-"));
    assert_eq!(p.get("k1")["config"]["user.golden.identity"], "-");
    // Booted: still the template's (one at a time, never beside it).
    for k in ["k1", "k2"] {
        assert_eq!(p.boot(k), "running", "{k}");
        let c = identity(&p, k);
        assert_eq!(c.machine_id, before.machine_id);
        assert_eq!(c.keys, before.keys);
        assert_eq!(c.hostname, "deb");
        p.incus(&["stop", k]);
    }
}

#[test]
fn a_pristine_without_templates_is_reset_by_the_tool() {
    // A pristine made before golden-create wrote templates (or by hand):
    // golden-derive resets each clone's files itself, before any start.
    let p = Project::new("oldpristine");
    p.debian_golden("deb");
    p.incus(&["config", "unset", "deb", "user.golden.renews"]);
    p.incus(&["snapshot", "delete", "deb", "pristine"]);
    p.snapshot("deb", "pristine");
    let before = identity(&p, "deb");
    let all = "machine-id,ssh-host-keys,hostname,dhcp-leases,random-seed";
    let r = p.tool("golden-derive", &["-n", "-f", "json", "deb", "a"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], all);
    for held in [
        "/etc/machine-id (an id: new one)",
        "/etc/ssh/ssh_host_rsa_key (rsa-3072)",
        "/var/lib/dhcp/dhclient.eth0.leases (removed)",
    ] {
        assert!(r.stderr.contains(held), "{held}: {}", r.stderr);
    }
    let r = p.tool("golden-derive", &["-f", "json", "deb", "a"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], all);
    let a = identity(&p, "a");
    assert_ne!(a.machine_id, before.machine_id);
    assert!(a.keys.iter().all(|k| !before.keys.contains(k)));
    assert_eq!(a.hostname, "a");
    assert_eq!(p.file("a", "/var/lib/dhcp/dhclient.eth0.leases"), None);

    // A run killed between the copy and the reset leaves the clone marked
    // pending, with the template's identity: --skip-existing finishes it.
    p.tool("golden-derive", &["-q", "--keep-identity", "deb", "k2"])
        .assert_ok();
    p.incus(&["config", "set", "k2", "user.golden.identity=pending"]);
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--skip-existing", "deb", "k2"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["status"].as_str(), rec["identity"].as_str()),
        (Some("skipped"), Some(all))
    );
    assert_eq!(p.get("k2")["config"]["user.golden.identity"], all);

    // Started meanwhile, with the template's identity: refused, saying how to redo it.
    p.incus(&["config", "set", "a", "user.golden.identity=pending"]);
    p.incus(&["start", "a"]);
    let r = p.tool("golden-derive", &["--skip-existing", "deb", "a"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("incus delete --force a"), "{}", r.stderr);
    p.incus(&["stop", "a"]);
}

/// A busybox golden with `files` written (path, content) and `links` made.
fn busybox_golden(p: &Project, name: &str, files: &[(&str, &str)], links: &[(&str, &str)]) {
    p.instance(name, None);
    for (path, content) in files {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("f");
        std::fs::write(&local, content).unwrap();
        p.incus(&[
            "file",
            "push",
            "-p",
            local.to_str().unwrap(),
            &format!("{name}{path}"),
        ]);
    }
    for (path, target) in links {
        p.incus(&[
            "file",
            "create",
            "-p",
            "--type=symlink",
            &format!("{name}{path}"),
            target,
        ]);
    }
    p.snapshot(name, "pristine");
}

#[test]
fn edge_cases_no_ssh_unset_ids_symlinks_and_other_hostnames_are_left() {
    let p = Project::new("idedge");
    // The busybox image's hostname is golden-test: it names something else.
    busybox_golden(
        &p,
        "bb",
        &[("/etc/machine-id", "")],
        &[("/var/lib/dbus/machine-id", "/etc/machine-id")],
    );
    let r = p.tool("golden-derive", &["-f", "json", "bb", "bb1"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], "-");
    assert_eq!(p.file("bb1", "/etc/machine-id").as_deref(), Some(""));
    assert_eq!(
        stat(&p, "bb1", "/var/lib/dbus/machine-id"),
        "777 symbolic link"
    );
    assert_eq!(
        p.file("bb1", "/etc/hostname").as_deref(),
        Some("golden-test\n")
    );

    // `uninitialized` stays; a D-Bus id that is a file gets a new one alone.
    let id = "0123456789abcdef0123456789abcdef\n";
    busybox_golden(
        &p,
        "bb2",
        &[
            ("/etc/machine-id", "uninitialized\n"),
            ("/var/lib/dbus/machine-id", id),
            ("/etc/hostname", "bb2\n"),
        ],
        &[],
    );
    let r = p.tool("golden-derive", &["-f", "json", "bb2", "bb2-1"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["identity"], "machine-id,hostname");
    assert_eq!(
        p.file("bb2-1", "/etc/machine-id").as_deref(),
        Some("uninitialized\n")
    );
    let dbus = p.file("bb2-1", "/var/lib/dbus/machine-id").unwrap();
    assert_ne!(dbus, id);
    assert_eq!(dbus.trim().len(), 32);
    assert_eq!(p.file("bb2-1", "/etc/hostname").as_deref(), Some("bb2-1\n"));
}

#[test]
fn a_failed_reset_leaves_no_clone_and_the_others_go_on() {
    let p = Project::new("idfail");
    let id = "0123456789abcdef0123456789abcdef\n";
    busybox_golden(&p, "good", &[("/etc/machine-id", id)], &[]);
    p.instance("bad", None);
    // A file the daemon cannot write: immutable in the template's filesystem,
    // and so in its pristine and in every CoW copy of it.
    let path = format!(
        "{}/storage-pools/gbtrfs/containers/{}_bad/rootfs/etc/machine-id",
        incus_dir(),
        p.name
    );
    let mut push = golden_tests::command("incus");
    push.args([
        "file",
        "push",
        "-",
        "bad/etc/machine-id",
        "--project",
        &p.name,
    ]);
    run_with_stdin(&mut push, id);
    let st = Command::new("nsenter")
        .args(["-t", &daemon_pid(), "-m", "--", "chattr", "+i", &path])
        .status()
        .unwrap();
    assert!(st.success(), "chattr +i {path}");
    p.snapshot("bad", "pristine");

    let input =
        "{\"template\":\"bad\",\"new\":\"bad-1\"}\n{\"template\":\"good\",\"new\":\"good-1\"}\n";
    let r = run_with_stdin(
        golden("golden-derive").args(["-f", "json", "--project", &p.name]),
        input,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("bad-1: resetting its identity failed, so the clone was removed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("/etc/machine-id"), "{}", r.stderr);
    let recs = json_lines(&r.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["instance"], "good-1");
    assert_eq!(recs[0]["identity"], "machine-id");
    assert_eq!(p.instances(), ["bad", "good", "good-1"]);
    let _ = Command::new("nsenter")
        .args(["-t", &daemon_pid(), "-m", "--", "chattr", "-i", &path])
        .status();
}

#[test]
fn a_started_pending_clone_without_identity_files_is_finished_not_refused() {
    let p = Project::new("pending-bb");
    p.golden("tpl", None);
    assert_eq!(p.tool("golden-derive", &["-q", "tpl", "c"]).code, 0);
    // What a kill between copy and reset leaves, then started by hand: a
    // busybox root holds nothing of the template's to reset.
    p.incus(&["config", "set", "c", "user.golden.identity=pending"]);
    p.incus(&["start", "c"]);
    let r = p.tool(
        "golden-derive",
        &["-f", "json", "--skip-existing", "tpl", "c"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["status"].as_str(), rec["identity"].as_str()),
        (Some("skipped"), Some("-"))
    );
    assert_eq!(p.get("c")["config"]["user.golden.identity"], "-");
    p.incus(&["stop", "c"]);
}

#[test]
fn shared_identities_are_listed_and_one_is_renewed() {
    // Copies made by hand of an instance without identity templates: each
    // holds its machine-id and host keys (lxd issue 15117).
    let p = Project::new("idshared");
    p.incus(&["init", "debian12", "old", "--network", BRIDGE]);
    assert_eq!(p.boot("old"), "running");
    p.incus(&["stop", "old"]);
    p.incus(&["copy", "old", "x1"]);
    p.incus(&["copy", "old", "x2"]);
    let shared = |p: &Project| -> Vec<serde_json::Value> {
        let r = p.tool("golden-identity", &["-f", "json", "--shared"]);
        r.assert_ok();
        json_lines(&r.stdout)
    };
    let before = shared(&p);
    let names: Vec<&str> = before
        .iter()
        .map(|r| r["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["old", "x1", "x2"], "{before:?}");
    let x2 = &before[2];
    assert_eq!(x2["machine_id"], before[0]["machine_id"]);
    let project = &p.name;
    assert_eq!(x2["shares"], format!("{project}/old,{project}/x1"));
    assert_eq!(x2["host_keys"].as_str().unwrap().split(',').count(), 3);

    // Bad input: a one-line error, nothing changed.
    let r = p.tool("golden-identity", &["--renew"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--renew needs the containers"),
        "{}",
        r.stderr
    );
    let r = p.tool("golden-identity", &["--renew", "x2", "nosuch"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nosuch"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    // -n says what would be renewed, and renews nothing.
    p.incus(&["start", "x2"]);
    let r = p.tool("golden-identity", &["-n", "-f", "json", "--renew", "x2"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["status"], "would-renew");
    assert!(
        rec["identity"]
            .as_str()
            .unwrap()
            .starts_with("machine-id,ssh-host-keys,hostname"),
        "{rec}"
    );
    assert_eq!(shared(&p).len(), 3);

    // Renewed, running: restarted with its own.
    let r = p.tool("golden-identity", &["-f", "json", "--renew", "x2"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["status"].as_str(), rec["restarted"].as_bool()),
        (Some("renewed"), Some(true))
    );
    assert_eq!(p.boot("x2"), "running");
    let uuid = p.get("x2")["config"]["volatile.uuid"].clone();
    assert_eq!(
        p.sh("x2", "cat /etc/machine-id").trim(),
        uuid.as_str().unwrap().replace('-', "")
    );
    assert_eq!(p.sh("x2", "hostnamectl hostname").trim(), "x2");
    p.incus(&["stop", "x2"]);
    let after = shared(&p);
    let names: Vec<&str> = after
        .iter()
        .map(|r| r["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["old", "x1"], "x2 shares nothing now: {after:?}");
    let r = p.tool("golden-identity", &["-f", "json", "x2"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["shares"], "-");
}

#[test]
fn a_symlinked_hostname_is_named_and_never_templated() {
    // Incus refuses to start an instance whose template path leads out of
    // its root: a symlinked /etc/hostname is left, and said.
    let p = Project::new("idlink");
    p.instance("bb", None);
    p.incus(&["file", "delete", "bb/etc/hostname"]);
    p.incus(&[
        "file",
        "create",
        "--type=symlink",
        "bb/etc/hostname",
        "/tmp/elsewhere",
    ]);
    let r = p.tool("golden-create", &["-f", "json", "bb"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("bb: instances made from it will keep its /etc/hostname (a symlink"),
        "{}",
        r.stderr
    );
    assert_eq!(json_lines(&r.stdout)[0]["identity"], "-");
    p.tool("golden-derive", &["-q", "bb", "c1"]).assert_ok();
    p.incus(&["start", "c1"]);
    assert_eq!(p.get("c1")["status"], "Running");
    p.incus(&["stop", "c1"]);
}
