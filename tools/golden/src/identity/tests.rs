//! The survey and the reset over a filesystem held in memory, answering as
//! the daemon's files API does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::incus::{FileKind, InstanceFile, Perms};
use crate::{Error, Result};

use super::keys::{self, KeyKind, KeyPool};
use super::reset::{column, reset};
use super::*;

/// Paths to what they hold; directories are implied by their children.
#[derive(Default)]
struct Fake {
    files: Mutex<BTreeMap<String, InstanceFile>>,
    /// Every read answers this refusal (a stopped VM: no agent).
    refuse: Option<String>,
    deleted: Mutex<Vec<String>>,
}

fn file(content: &str, mode: u32) -> InstanceFile {
    InstanceFile {
        kind: FileKind::File,
        uid: 0,
        gid: 0,
        mode,
        content: content.as_bytes().to_vec(),
        entries: Vec::new(),
    }
}

impl Fake {
    fn with(files: &[(&str, InstanceFile)]) -> Fake {
        let f = Fake::default();
        for (p, x) in files {
            f.files.lock().unwrap().insert(p.to_string(), x.clone());
        }
        f
    }
    fn get(&self, path: &str) -> Option<InstanceFile> {
        self.files.lock().unwrap().get(path).cloned()
    }
}

impl Files for Fake {
    fn read(&self, path: &str) -> Result<Option<InstanceFile>> {
        if let Some(r) = &self.refuse {
            let refused: Error =
                crate::incus::kind::refusal(crate::error::Origin::Request(500), r.clone()).into();
            return Err(refused.context(format!("reading {path} in c")));
        }
        let made = self.get(path);
        if let Some(f) = made.clone().filter(|f| f.kind != FileKind::Directory) {
            return Ok(Some(f));
        }
        let prefix = format!("{path}/");
        let mut entries: Vec<String> = self
            .files
            .lock()
            .unwrap()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap().to_string())
            .collect();
        entries.dedup();
        if made.is_none() && entries.is_empty() {
            return Ok(None);
        }
        // A directory made explicitly keeps its owner and mode.
        let dir = made.unwrap_or(InstanceFile {
            kind: FileKind::Directory,
            uid: 0,
            gid: 0,
            mode: 0o755,
            content: Vec::new(),
            entries: Vec::new(),
        });
        Ok(Some(InstanceFile { entries, ..dir }))
    }
    fn replace(
        &self,
        path: &str,
        content: &[u8],
        perms: Perms,
        _: Option<&InstanceFile>,
    ) -> Result<()> {
        let mut f = file("", perms.mode);
        (f.uid, f.gid, f.content) = (perms.uid, perms.gid, content.to_vec());
        self.files.lock().unwrap().insert(path.to_string(), f);
        Ok(())
    }
    fn delete(&self, path: &str) -> Result<bool> {
        self.deleted.lock().unwrap().push(path.to_string());
        Ok(self.files.lock().unwrap().remove(path).is_some())
    }
    fn make_dir(&self, path: &str, perms: Perms) -> Result<()> {
        let mut d = file("", perms.mode);
        (d.kind, d.uid, d.gid) = (FileKind::Directory, perms.uid, perms.gid);
        self.files.lock().unwrap().insert(path.to_string(), d);
        Ok(())
    }
    fn make_symlink(&self, path: &str, target: &str) -> Result<()> {
        let mut l = file(target, 0o777);
        l.kind = FileKind::Symlink;
        self.files.lock().unwrap().insert(path.to_string(), l);
        Ok(())
    }
}

const ID: &str = "0123456789abcdef0123456789abcdef\n";

fn debian_like() -> Fake {
    let (private, public) =
        keys::files(keys::generate(KeyKind::Ed25519).unwrap(), "root@tpl").unwrap();
    let mut pubf = file(&String::from_utf8(public).unwrap(), 0o640);
    pubf.gid = 7;
    let mut symlink = file("/etc/machine-id", 0o777);
    symlink.kind = FileKind::Symlink;
    Fake::with(&[
        (ETC_MACHINE_ID, file(ID, 0o444)),
        (DBUS_MACHINE_ID, file(ID, 0o644)),
        (
            "/etc/ssh/ssh_host_ed25519_key",
            file(&String::from_utf8(private).unwrap(), 0o600),
        ),
        ("/etc/ssh/ssh_host_ed25519_key.pub", pubf),
        ("/etc/ssh/sshd_config", file("", 0o644)),
        (ETC_HOSTNAME, file("tpl\n", 0o644)),
        (
            ETC_HOSTS,
            file("127.0.1.1 tpl.lab tpl\n10.0.0.2 tpl-2\n", 0o644),
        ),
        ("/var/lib/dhcp/dhclient.eth0.leases", file("lease", 0o644)),
        ("/var/lib/dhcp/README", file("", 0o644)),
        ("/var/lib/NetworkManager/internal-x.lease", file("", 0o644)),
        (RANDOM_SEED_FILE, file("seed", 0o600)),
    ])
}

#[test]
fn a_debian_like_clone_gets_its_own_identity() {
    let fs = debian_like();
    let s = survey(&fs, "tpl").unwrap();
    let all = [
        MACHINE_ID,
        SSH_HOST_KEYS,
        HOSTNAME,
        DHCP_LEASES,
        RANDOM_SEED,
    ];
    assert_eq!(s.categories(), all);
    assert_eq!(s.keys.len(), 1);
    assert_eq!(s.keys[0].kind, Some(KeyKind::Ed25519));
    let old_public = fs.get("/etc/ssh/ssh_host_ed25519_key.pub").unwrap();

    let done = reset(&fs, &s, ("tpl", "c1"), &KeyPool::default()).unwrap();
    assert_eq!(column(&done), all.join(","));
    let id = fs.get(ETC_MACHINE_ID).unwrap();
    assert!(real_id(&id.content) && id.text() != ID, "{}", id.text());
    assert_eq!(id.mode, 0o444, "owner and mode kept");
    assert_eq!(fs.get(DBUS_MACHINE_ID).unwrap().text(), id.text());
    let private = fs.get("/etc/ssh/ssh_host_ed25519_key").unwrap();
    assert_eq!(private.mode, 0o600);
    assert_eq!(
        KeyKind::of_private(&private.content),
        Some(KeyKind::Ed25519)
    );
    let public = fs.get("/etc/ssh/ssh_host_ed25519_key.pub").unwrap();
    assert_eq!((public.mode, public.gid), (0o644, 7), "0644, same owner");
    assert_ne!(public.content, old_public.content);
    assert!(public.text().ends_with(" root@c1\n"), "{}", public.text());
    assert_eq!(fs.get(ETC_HOSTNAME).unwrap().text(), "c1\n");
    assert_eq!(
        fs.get(ETC_HOSTS).unwrap().text(),
        "127.0.1.1 c1.lab c1\n10.0.0.2 tpl-2\n"
    );
    let deleted = fs.deleted.lock().unwrap().clone();
    assert_eq!(
        deleted,
        [
            "/var/lib/dhcp/dhclient.eth0.leases",
            "/var/lib/NetworkManager/internal-x.lease",
            RANDOM_SEED_FILE
        ]
    );
    assert!(fs.get("/var/lib/dhcp/README").is_some(), "only leases go");
}

#[test]
fn unset_ids_symlinks_and_other_names_are_left() {
    let mut link = file("/etc/machine-id", 0o777);
    link.kind = FileKind::Symlink;
    for unset in ["", "uninitialized\n"] {
        let fs = Fake::with(&[
            (ETC_MACHINE_ID, file(unset, 0o444)),
            (DBUS_MACHINE_ID, link.clone()),
            (ETC_HOSTNAME, file("other\n", 0o644)),
            (ETC_HOSTS, file("127.0.1.1 tpl-old\n", 0o644)),
        ]);
        let s = survey(&fs, "tpl").unwrap();
        assert!(s.categories().is_empty(), "{s:?}");
        assert!(s.machine_id_unset && s.dbus_is_symlink);
        assert_eq!(s.other_hostname.as_deref(), Some("other"));
        let said = s.describe().join(", ");
        assert!(said.contains("unset: left for systemd"), "{said}");
        assert!(said.contains("a symlink: left"), "{said}");
        assert!(said.contains("names other: left"), "{said}");
        assert_eq!(
            column(&reset(&fs, &s, ("tpl", "c"), &KeyPool::default()).unwrap()),
            "-"
        );
        assert_eq!(fs.get(ETC_MACHINE_ID).unwrap().text(), unset);
        assert_eq!(fs.get(DBUS_MACHINE_ID).unwrap().kind, FileKind::Symlink);
    }
}

#[test]
fn a_host_key_of_a_kind_not_made_is_removed() {
    let fs = Fake::with(&[
        (
            "/etc/ssh/ssh_host_dsa_key",
            file("-----BEGIN DSA PRIVATE KEY-----", 0o600),
        ),
        ("/etc/ssh/ssh_host_dsa_key.pub", file("ssh-dss AAAA", 0o644)),
    ]);
    let s = survey(&fs, "tpl").unwrap();
    assert_eq!(s.keys[0].kind, None);
    assert!(s.describe()[0].contains("unknown kind: removed"));
    reset(&fs, &s, ("tpl", "c"), &KeyPool::default()).unwrap();
    assert!(fs.get("/etc/ssh/ssh_host_dsa_key").is_none());
    assert!(fs.get("/etc/ssh/ssh_host_dsa_key.pub").is_none());
}

#[test]
fn a_refused_read_fails_the_reset_with_the_daemon_words() {
    // What Incus answers for the files of a VM whose agent does not run.
    let fs = Fake {
        refuse: Some("VM agent isn't currently running".into()),
        ..Fake::default()
    };
    let m = survey(&fs, "tpl").unwrap_err().to_string();
    assert!(
        m.contains("reading /etc/machine-id in c: VM agent isn't currently running"),
        "{m}"
    );
}

#[test]
fn words_ids_and_new_ids() {
    assert_eq!(replace_word("tpl", "tpl", "c").as_deref(), Some("c"));
    assert_eq!(
        replace_word("a tpl.lab tpl\n", "tpl", "c").as_deref(),
        Some("a c.lab c\n")
    );
    assert_eq!(replace_word("tpl-2 my-tpl tpl_x", "tpl", "c"), None);
    assert_eq!(replace_word("x", "", "c"), None);
    assert!(real_id(ID.as_bytes()));
    assert!(!real_id(b"") && !real_id(b"uninitialized\n") && !real_id(b"xyz"));
    let a = new_machine_id();
    assert!(real_id(a.as_bytes()));
    assert_eq!(&a[12..13], "4", "a v4 UUID's bits, as systemd makes them");
    assert_ne!(a, new_machine_id());
}

/// A clone as a derive left it: its own id, keys (RSA and ed25519) and name.
fn clone_root() -> Fake {
    let key = |kind, mode| {
        let (private, public) = keys::files(keys::generate(kind).unwrap(), "root@c").unwrap();
        (
            file(&String::from_utf8(private).unwrap(), mode),
            file(&String::from_utf8(public).unwrap(), 0o644),
        )
    };
    let (ed, ed_pub) = key(KeyKind::Ed25519, 0o600);
    let (ec, ec_pub) = key(KeyKind::Ecdsa(256), 0o640);
    Fake::with(&[
        (
            ETC_MACHINE_ID,
            file("fedcba9876543210fedcba9876543210\n", 0o444),
        ),
        (
            DBUS_MACHINE_ID,
            file("fedcba9876543210fedcba9876543210\n", 0o644),
        ),
        ("/etc/ssh/ssh_host_ed25519_key", ed),
        ("/etc/ssh/ssh_host_ed25519_key.pub", ed_pub),
        ("/etc/ssh/ssh_host_ecdsa_key", ec),
        ("/etc/ssh/ssh_host_ecdsa_key.pub", ec_pub),
        (ETC_HOSTNAME, file("student-03\n", 0o644)),
        ("/root/work", file("the student's", 0o600)),
    ])
}

#[test]
fn a_refresh_carries_the_clones_identity_into_the_new_root() {
    let old = clone_root();
    let new = debian_like();
    let done = super::carry(&old, &new, ("tpl", "c")).unwrap();
    assert_eq!(
        done,
        [
            MACHINE_ID,
            SSH_HOST_KEYS,
            HOSTNAME,
            DHCP_LEASES,
            RANDOM_SEED
        ]
    );
    for path in [
        ETC_MACHINE_ID,
        DBUS_MACHINE_ID,
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/ssh_host_ed25519_key.pub",
        "/etc/ssh/ssh_host_ecdsa_key",
        "/etc/ssh/ssh_host_ecdsa_key.pub",
        ETC_HOSTNAME,
    ] {
        let (o, n) = (old.get(path).unwrap(), new.get(path).unwrap());
        assert_eq!((o.content, o.mode), (n.content, n.mode), "{path}");
    }
    // Hostname: the clone's own, even when it names no clone nor template.
    assert_eq!(new.get(ETC_HOSTNAME).unwrap().text(), "student-03\n");
    // The template's name in /etc/hosts becomes the clone's; the rest stays.
    assert_eq!(
        new.get(ETC_HOSTS).unwrap().text(),
        "127.0.1.1 c.lab c\n10.0.0.2 tpl-2\n"
    );
    // The template's leases and seed go; what is not identity is not carried.
    assert!(new.get("/var/lib/dhcp/dhclient.eth0.leases").is_none());
    assert!(new.get(RANDOM_SEED_FILE).is_none());
    assert!(new.get("/root/work").is_none());
    assert!(new.get("/etc/ssh/sshd_config").is_some());
}

#[test]
fn a_clone_without_keys_or_id_does_not_keep_the_templates() {
    let old = Fake::with(&[(ETC_MACHINE_ID, file("uninitialized\n", 0o444))]);
    let new = debian_like();
    super::carry(&old, &new, ("tpl", "c")).unwrap();
    assert_eq!(new.get(ETC_MACHINE_ID).unwrap().text(), "uninitialized\n");
    assert!(new.get(DBUS_MACHINE_ID).is_none());
    assert!(new.get("/etc/ssh/ssh_host_ed25519_key").is_none());
    assert!(new.get("/etc/ssh/ssh_host_ed25519_key.pub").is_none());
    assert_eq!(new.get(ETC_HOSTNAME).unwrap().text(), "c\n");
}

/// A root cloud-init booted in as instance `id`, with a per-boot script of
/// the admin's named `script`.
fn cloud_root(id: &str, script: &str) -> Vec<(String, InstanceFile)> {
    let mut link = file(&format!("/var/lib/cloud/instances/{id}"), 0o777);
    link.kind = FileKind::Symlink;
    let mut pickle = file("", 0o600);
    pickle.content = vec![0x80, 0x04, 0xff, 0x00, b'.'];
    vec![
        (
            "/var/lib/cloud/seed/nocloud-net/meta-data".into(),
            file(&format!("instance-id: {id}\nlocal-hostname: {id}\n"), 0o644),
        ),
        (
            "/var/lib/cloud/data/instance-id".into(),
            file(&format!("{id}\n"), 0o644),
        ),
        ("/var/lib/cloud/instance".into(), link),
        (
            format!("/var/lib/cloud/instances/{id}/sem/config_ssh"),
            file("1\n", 0o644),
        ),
        (format!("/var/lib/cloud/instances/{id}/obj.pkl"), pickle),
        (
            format!("/var/lib/cloud/scripts/per-boot/{script}"),
            file("#!/bin/sh\n", 0o755),
        ),
    ]
}

fn fake(files: Vec<(String, InstanceFile)>) -> Fake {
    let f = Fake::default();
    f.files.lock().unwrap().extend(files);
    f
}

#[test]
fn a_refresh_carries_cloud_inits_record_of_the_instance() {
    let mut old_files = cloud_root("c", "old.sh");
    old_files.push(("/var/lib/cloud/sem/config_x.once".into(), file("", 0o644)));
    let old = fake(old_files);
    let mut new_files = cloud_root("tpl", "new.sh");
    new_files.push(("/var/lib/cloud/data/set-hostname".into(), file("{}", 0o644)));
    let new = fake(new_files);
    let done = super::carry(&old, &new, ("tpl", "c")).unwrap();
    assert!(done.contains(&CLOUD_INIT), "{done:?}");
    for path in [
        "/var/lib/cloud/seed/nocloud-net/meta-data",
        "/var/lib/cloud/data/instance-id",
        "/var/lib/cloud/instance",
        "/var/lib/cloud/instances/c/sem/config_ssh",
        "/var/lib/cloud/instances/c/obj.pkl",
        "/var/lib/cloud/sem/config_x.once",
    ] {
        let (o, n) = (old.get(path).unwrap(), new.get(path));
        let n = n.unwrap_or_else(|| panic!("{path} not carried"));
        assert_eq!(
            (o.kind, o.content, o.mode),
            (n.kind, n.content, n.mode),
            "{path}"
        );
    }
    // What the clone's record lacks goes; the rest of /var/lib/cloud is the
    // template's: its other instances, the admin's scripts.
    assert!(new.get("/var/lib/cloud/data/set-hostname").is_none());
    assert!(new
        .get("/var/lib/cloud/instances/tpl/sem/config_ssh")
        .is_some());
    assert!(new.get("/var/lib/cloud/scripts/per-boot/new.sh").is_some());
    assert!(new.get("/var/lib/cloud/scripts/per-boot/old.sh").is_none());
}

#[test]
fn a_clone_cloud_init_never_ran_in_gets_no_record_of_the_templates() {
    // Its own seed (rendered at its copy), no record: cloud-init will take it
    // for a new instance at its first boot, as it would have before.
    let old = fake(vec![(
        "/var/lib/cloud/seed/nocloud-net/meta-data".into(),
        file("instance-id: c\n", 0o644),
    )]);
    let new = fake(cloud_root("tpl", "new.sh"));
    super::carry(&old, &new, ("tpl", "c")).unwrap();
    let seed = new
        .get("/var/lib/cloud/seed/nocloud-net/meta-data")
        .unwrap();
    assert_eq!(seed.text(), "instance-id: c\n");
    assert!(new.get("/var/lib/cloud/data/instance-id").is_none());
    assert!(new.get("/var/lib/cloud/instance").is_none());
}

#[test]
fn without_cloud_init_on_either_side_nothing_of_it_is_touched() {
    let old = clone_root();
    let new = fake(cloud_root("tpl", "new.sh"));
    let before = new.files.lock().unwrap().len();
    let done = super::carry(&old, &new, ("tpl", "c")).unwrap();
    assert!(!done.contains(&CLOUD_INIT), "{done:?}");
    assert!(new.get("/var/lib/cloud/data/instance-id").is_some());
    assert!(new.files.lock().unwrap().len() >= before);
}

#[test]
fn a_carry_that_cannot_read_the_old_root_fails_with_the_daemon_words() {
    let old = Fake {
        refuse: Some("VM agent isn't currently running".into()),
        ..Fake::default()
    };
    let new = debian_like();
    let m = super::carry(&old, &new, ("tpl", "c"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("VM agent isn't currently running"), "{m}");
    // Nothing was written into the new root.
    assert_eq!(new.get(ETC_HOSTNAME).unwrap().text(), "tpl\n");
}

mod templates {
    use super::super::templates::{merged, plan, renewed_by, MARKER};
    use super::*;

    fn link(to: &str) -> InstanceFile {
        let mut l = file(to, 0o777);
        l.kind = FileKind::Symlink;
        l
    }

    #[test]
    fn a_debian_root_gets_every_template_and_the_key_renewer() {
        let root = Fake::with(&[
            (ETC_MACHINE_ID, file(ID, 0o444)),
            (ETC_HOSTNAME, file("tpl\n", 0o644)),
            (
                ETC_HOSTS,
                file("127.0.0.1 localhost\n127.0.1.1 tpl tpl-old\n", 0o644),
            ),
            ("/etc/ssh/sshd_config", file("", 0o644)),
            (
                "/etc/systemd/system/multi-user.target.wants/x",
                file("", 0o644),
            ),
            ("/var/lib/dhcp/dhclient.eth0.leases", file("lease", 0o644)),
        ]);
        let p = plan(&root).unwrap();
        assert_eq!(
            p.categories(),
            [MACHINE_ID, SSH_HOST_KEYS, HOSTNAME, DHCP_LEASES]
        );
        assert!(p.renewer);
        assert!(p.not_renewed.is_empty(), "{:?}", p.not_renewed);
        let of = |path: &str| &p.templates.iter().find(|t| t.path == path).unwrap().content;
        assert_eq!(
            of(ETC_MACHINE_ID),
            "{{ config_get(\"volatile.uuid\", \"\")|cut:\"-\" }}\n"
        );
        assert_eq!(of(ETC_HOSTNAME), "{{ instance.name }}\n");
        // Only the whole word: tpl-old is another name.
        assert_eq!(
            of(ETC_HOSTS),
            "127.0.0.1 localhost\n127.0.1.1 {{ instance.name }} tpl-old\n"
        );
        assert_eq!(of("/var/lib/dhcp/dhclient.eth0.leases"), "");
        assert_eq!(of(MARKER), "renew\n");
        // Nothing was written in the golden by planning.
        assert!(root.deleted.lock().unwrap().is_empty());
    }

    #[test]
    fn a_root_without_identity_files_gets_nothing() {
        let root = Fake::with(&[("/bin/busybox", file("", 0o755))]);
        let p = plan(&root).unwrap();
        assert!(p.templates.is_empty() && !p.renewer && p.not_renewed.is_empty());
        assert!(p.categories().is_empty());
    }

    #[test]
    fn what_cannot_be_rendered_is_named_never_planned() {
        let root = Fake::with(&[
            (ETC_MACHINE_ID, link("/srv/id")),
            (ETC_HOSTNAME, link("/srv/hostname")),
            (ETC_HOSTS, file("127.0.1.1 {{ odd }}\n", 0o644)),
            ("/etc/ssh/sshd_config", file("", 0o644)),
            ("/var/lib/dhcp/dhclient.eth0.leases", link("/srv/leases")),
        ]);
        let p = plan(&root).unwrap();
        assert!(p.templates.is_empty(), "{:?}", p.templates);
        let said = p.not_renewed.join("; ");
        for what in [
            ETC_MACHINE_ID,
            ETC_HOSTNAME,
            "SSH host keys (no systemd",
            "/var/lib/dhcp/dhclient.eth0.leases (a symlink",
        ] {
            assert!(said.contains(what), "{what}: {said}");
        }
        // /etc/hosts does not name the (unreadable) hostname: left, unsaid.
        assert!(!said.contains(ETC_HOSTS), "{said}");
    }

    #[test]
    fn hosts_with_template_syntax_is_left_and_said() {
        let root = Fake::with(&[
            (ETC_HOSTNAME, file("tpl\n", 0o644)),
            (ETC_HOSTS, file("127.0.1.1 tpl # {{ x }}\n", 0o644)),
        ]);
        let p = plan(&root).unwrap();
        assert_eq!(p.categories(), [HOSTNAME]);
        assert!(
            p.not_renewed[0].starts_with(ETC_HOSTS),
            "{:?}",
            p.not_renewed
        );
    }

    #[test]
    fn merging_replaces_ours_and_keeps_others() {
        let current = serde_json::json!({
            "architecture": "x86_64",
            "templates": {
                "/etc/hostname": {"when": ["create"], "template": "hostname.tpl"},
                "/etc/old": {"when": ["copy"], "template": "golden-hosts.tpl"},
                "/etc/motd": {"when": ["start"], "template": "motd.tpl"},
            }
        });
        let root = Fake::with(&[(ETC_MACHINE_ID, file(ID, 0o444))]);
        let m = merged(&current, &plan(&root).unwrap());
        let t = m["templates"].as_object().unwrap();
        assert_eq!(m["architecture"], "x86_64");
        assert!(t.contains_key("/etc/motd") && t.contains_key("/etc/hostname"));
        assert!(!t.contains_key("/etc/old"), "ours from before: replaced");
        assert_eq!(
            t[ETC_MACHINE_ID]["when"],
            serde_json::json!(["copy", "create"])
        );
        assert_eq!(renewed_by(&m), [MACHINE_ID]);
        assert!(
            renewed_by(&current).contains(&HOSTNAME),
            "an old golden-hosts.tpl"
        );
        assert!(renewed_by(&serde_json::json!({})).is_empty());
    }
}
