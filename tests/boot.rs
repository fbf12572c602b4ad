//! Clones judged as their users judge them: booted (systemd as PID 1,
//! networkd asking DHCP, sshd), from inside (`hostnamectl`, `/etc/machine-id`,
//! `systemctl`) and from the network (`ssh-keyscan` of each one's address,
//! from the bridge's namespace), on Debian 12 and Debian 13 goldens.

use std::collections::BTreeSet;

use golden_tests::*;

/// Two units the template's admin set: one enabled, one disabled. Both can
/// be enabled (an `[Install]` section): a "first boot" applying presets would
/// enable the disabled one.
const UNITS: &str = "for u in golden-on golden-off; do \
    printf '[Unit]\\nDescription=%s\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n' $u \
    >/etc/systemd/system/$u.service; done && \
    systemctl enable --quiet golden-on.service && systemctl disable --quiet golden-off.service && \
    echo provisioned >/etc/golden-provisioned";

/// What a machine is, as seen from inside and from the bridge.
#[derive(Debug, Clone, PartialEq)]
struct Machine {
    hostname: String,
    machine_id: String,
    address: String,
    ssh_key: String,
}

/// Boots `name` (running, never degraded: the images have no unit that
/// fails in a container) and reads what it is.
fn machine(p: &Project, name: &str) -> Machine {
    assert_eq!(p.boot(name), "running", "{name}: {}", failed_units(p, name));
    assert_eq!(p.sh(name, "systemctl is-active ssh").trim(), "active");
    let address = p.ipv4(name);
    Machine {
        hostname: p.sh(name, "hostnamectl hostname").trim().to_string(),
        machine_id: p.sh(name, "cat /etc/machine-id").trim().to_string(),
        ssh_key: keyscan(&address, "ed25519"),
        address,
    }
}

fn failed_units(p: &Project, name: &str) -> String {
    p.sh(name, "systemctl --failed --no-legend || true")
}

/// The units the admin set, as a booted guest has them.
fn units(p: &Project, name: &str) -> (String, String) {
    let state = |u: &str| {
        p.sh(name, &format!("systemctl is-enabled {u} || true"))
            .trim()
            .to_string()
    };
    (state("golden-on"), state("golden-off"))
}

fn clones_boot_as_machines_of_their_own(image: &str) {
    let p = Project::new(&format!("boot-{image}"));
    p.debian_golden_from(image, "tpl", UNITS);
    let template = machine(&p, "tpl");
    assert_eq!(template.hostname, "tpl");
    assert_eq!(template.machine_id.len(), 32, "{template:?}");
    p.incus(&["stop", "tpl"]);

    let r = p.tool("golden-derive", &["-q", "tpl", "c1", "c2", "c3"]);
    r.assert_ok();
    p.incus(&["start", "c1", "c2", "c3"]);
    let clones: Vec<Machine> = ["c1", "c2", "c3"].iter().map(|c| machine(&p, c)).collect();
    for (c, name) in clones.iter().zip(["c1", "c2", "c3"]) {
        assert_eq!(c.hostname, name, "{c:?}");
        assert_eq!(c.machine_id.len(), 32, "{c:?}");
        assert_eq!(
            units(&p, name),
            ("enabled".into(), "disabled".into()),
            "{name}: the admin's units as the template has them"
        );
        assert_eq!(p.sh(name, "cat /etc/golden-provisioned"), "provisioned\n");
    }
    let distinct = |f: fn(&Machine) -> &str| -> usize {
        clones
            .iter()
            .chain([&template])
            .map(f)
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!(distinct(|m| &m.machine_id), 4, "{clones:?} {template:?}");
    assert_eq!(distinct(|m| &m.ssh_key), 4, "{clones:?} {template:?}");
    assert_eq!(distinct(|m| &m.address), 4, "{clones:?} {template:?}");

    // The machine-id made at derive stays across a reboot.
    p.incus(&["restart", "c1"]);
    assert_eq!(machine(&p, "c1"), clones[0]);

    // The template keeps its own identity, and boots as before.
    p.incus(&["stop", "c1", "c2", "c3"]);
    let again = machine(&p, "tpl");
    assert_eq!(again.hostname, template.hostname);
    assert_eq!(again.machine_id, template.machine_id);
    assert_eq!(again.ssh_key, template.ssh_key);
    assert_eq!(units(&p, "tpl"), ("enabled".into(), "disabled".into()));
    p.incus(&["stop", "tpl"]);
}

#[test]
fn debian12_clones_boot_as_machines_of_their_own() {
    clones_boot_as_machines_of_their_own("debian12");
}

#[test]
fn debian13_clones_boot_as_machines_of_their_own() {
    clones_boot_as_machines_of_their_own("debian13");
}

/// A refreshed clone boots again as the same machine (MAC, address, host
/// key as ssh-keyscan sees it, machine-id) with the new pristine's content;
/// restored, as the same machine with the old content.
fn refreshed_clones_boot_as_themselves(image: &str) {
    let p = Project::new(&format!("rboot-{image}"));
    p.debian_golden_from(image, "tpl", UNITS);
    let r = p.tool("golden-derive", &["-q", "tpl", "r1", "r2"]);
    r.assert_ok();
    p.incus(&["start", "r1", "r2"]);
    let mac = |n: &str| p.get(n)["config"]["volatile.eth0.hwaddr"].clone();
    let before: Vec<(Machine, serde_json::Value)> = ["r1", "r2"]
        .iter()
        .map(|n| (machine(&p, n), mac(n)))
        .collect();

    // The update: a new file in the template, a new pristine.
    p.boot("tpl");
    p.sh("tpl", "echo v2 >/etc/golden-update");
    let r = p.tool("golden-create", &["-q", "tpl"]);
    r.assert_ok();

    // Running, booted clones: a clean stop, the rebuild, a start.
    let r = p.tool("golden-refresh", &["-q", "-f", "json", "r1", "r2"]);
    r.assert_ok();
    for rec in json_lines(&r.stdout) {
        assert_eq!(rec["status"], "refreshed", "{rec}");
        assert_eq!(rec["restarted"], true, "{rec}");
    }
    for (n, (m, hw)) in ["r1", "r2"].iter().zip(&before) {
        assert_eq!(&machine(&p, n), m, "{n} after its refresh");
        assert_eq!(&mac(n), hw, "{n}");
        assert_eq!(p.sh(n, "cat /etc/golden-update"), "v2\n", "{n}");
        assert_eq!(units(&p, n), ("enabled".into(), "disabled".into()));
    }

    // Back as it was before the refresh: the same machine, the old content.
    let r = p.tool("golden-refresh", &["-q", "--restore", "r1"]);
    r.assert_ok();
    assert_eq!(machine(&p, "r1"), before[0].0, "r1 restored");
    assert_eq!(mac("r1"), before[0].1);
    assert_eq!(
        p.sh("r1", "test -e /etc/golden-update || echo absent"),
        "absent\n"
    );
    p.incus(&["stop", "r1", "r2"]);
}

#[test]
fn debian12_refreshed_clones_boot_as_themselves() {
    refreshed_clones_boot_as_themselves("debian12");
}

#[test]
fn debian13_refreshed_clones_boot_as_themselves() {
    refreshed_clones_boot_as_themselves("debian13");
}

/// Its machine-id as the templates make it: the instance's `volatile.uuid`.
fn uuid_id(p: &Project, name: &str) -> String {
    let uuid = p.get(name)["config"]["volatile.uuid"].clone();
    uuid.as_str().unwrap().replace('-', "")
}

/// Every route from a golden gives a machine of its own, renewed by the
/// golden's templates at its first start: golden-derive, a plain `incus copy`
/// of the pristine, a copy of a clone, the published image launched.
/// `--keep-identity` keeps the template's. The template is unchanged.
fn every_route_gives_a_machine_of_its_own(image: &str) {
    let p = Project::new(&format!("routes-{image}"));
    p.debian_golden_from(image, "tpl", UNITS);
    let template = machine(&p, "tpl");
    let rsa = |m: &Machine| keyscan(&m.address, "rsa");
    let template_rsa = rsa(&template);
    p.incus(&["stop", "tpl"]);

    let r = p.tool("golden-derive", &["-f", "json", "tpl", "d1"]);
    r.assert_ok();
    let renewed = "machine-id,ssh-host-keys,hostname,dhcp-leases";
    assert_eq!(
        json_lines(&r.stdout)[0]["identity"],
        renewed,
        "{}",
        r.stdout
    );
    p.incus(&["copy", "tpl/pristine", "x1"]);
    let alias = format!("routes-{image}");
    p.tool("golden-publish", &["-q", "--alias", &alias, "tpl"])
        .assert_ok();
    p.incus(&["init", &alias, "i1", "--network", BRIDGE]);
    p.incus(&["start", "d1", "x1", "i1"]);
    // With its RSA key's fingerprint, read while it runs where it is.
    let seen = |n: &str| {
        let m = machine(&p, n);
        let key = rsa(&m);
        (m, key)
    };
    let mut named = vec![("tpl", template.clone(), template_rsa.clone())];
    for n in ["d1", "x1", "i1"] {
        let (m, key) = seen(n);
        named.push((n, m, key));
    }
    // A copy of a clone renews too (the templates travel with it).
    p.incus(&["stop", "d1"]);
    p.incus(&["copy", "d1", "d1b"]);
    p.incus(&["start", "d1", "d1b"]);
    let (m, key) = seen("d1b");
    named.push(("d1b", m, key));
    for (n, m, key) in &named[1..] {
        assert_eq!(&m.hostname, n, "{m:?}");
        assert_eq!(m.machine_id, uuid_id(&p, n), "{n}");
        assert_ne!(key, &template_rsa, "{n}: the RSA key renewed too");
        assert_eq!(units(&p, n), ("enabled".into(), "disabled".into()), "{n}");
        assert_eq!(p.sh(n, "cat /etc/golden-provisioned"), "provisioned\n");
        assert_eq!(
            p.sh(n, "test -e /etc/golden/renew-ssh-keys || echo done"),
            "done\n",
            "{n}: the renewal ran"
        );
    }
    for f in [
        |m: &Machine| m.machine_id.clone(),
        |m: &Machine| m.ssh_key.clone(),
        |m: &Machine| m.address.clone(),
        |m: &Machine| m.hostname.clone(),
    ] {
        let distinct: BTreeSet<String> = named.iter().map(|(_, m, _)| f(m)).collect();
        assert_eq!(distinct.len(), named.len(), "{named:?}");
    }
    let rsas: BTreeSet<&String> = named.iter().map(|(_, _, k)| k).collect();
    assert_eq!(rsas.len(), named.len(), "{named:?}");
    p.incus(&["stop", "d1", "x1", "i1", "d1b"]);

    // Kept: the template's identity, as asked (the template is stopped).
    p.tool("golden-derive", &["-q", "--keep-identity", "tpl", "k1"])
        .assert_ok();
    let k1 = machine(&p, "k1");
    assert_eq!(k1.machine_id, template.machine_id);
    assert_eq!(k1.ssh_key, template.ssh_key);
    assert_eq!(k1.hostname, "tpl");
    p.incus(&["stop", "k1"]);

    // The template keeps its own, and boots as before.
    let again = machine(&p, "tpl");
    assert_eq!(
        (&again.hostname, &again.machine_id, &again.ssh_key),
        (&template.hostname, &template.machine_id, &template.ssh_key)
    );
    assert_eq!(rsa(&again), template_rsa);
    assert_eq!(units(&p, "tpl"), ("enabled".into(), "disabled".into()));
    p.incus(&["stop", "tpl"]);
}

#[test]
fn debian12_every_route_gives_a_machine_of_its_own() {
    every_route_gives_a_machine_of_its_own("debian12");
}

#[test]
fn debian13_every_route_gives_a_machine_of_its_own() {
    every_route_gives_a_machine_of_its_own("debian13");
}

/// Host keys where an admin put them: a key that is a symlink (renewed at
/// its target, inside the guest, the link kept) and a key of its own path
/// named by a `HostKey` line in `sshd_config.d`: every one renewed.
#[test]
fn symlinked_and_extra_host_keys_are_renewed_in_the_guest() {
    let p = Project::new("boot-keys");
    let keys = "mkdir -p /srv/keys && \
        mv /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key.pub /srv/keys/ && \
        ln -s /srv/keys/ssh_host_ecdsa_key /etc/ssh/ssh_host_ecdsa_key && \
        ln -s /srv/keys/ssh_host_ecdsa_key.pub /etc/ssh/ssh_host_ecdsa_key.pub && \
        ssh-keygen -q -N '' -t ed25519 -f /etc/ssh/extra_ed25519_key && \
        for k in rsa ecdsa ed25519; do echo \"HostKey /etc/ssh/ssh_host_${k}_key\"; done \
        >/etc/ssh/sshd_config.d/keys.conf && \
        echo 'HostKey /etc/ssh/extra_ed25519_key' >>/etc/ssh/sshd_config.d/keys.conf";
    p.debian_golden_from("debian12", "tpl", keys);
    let prints = |n: &str| {
        p.sh(
            n,
            "for f in /srv/keys/ssh_host_ecdsa_key.pub /etc/ssh/extra_ed25519_key.pub \
             /etc/ssh/ssh_host_ed25519_key.pub; do ssh-keygen -lf $f | cut -d' ' -f2; done",
        )
    };
    let template = machine(&p, "tpl");
    let before = prints("tpl");
    let ecdsa = keyscan(&template.address, "ecdsa");
    p.incus(&["stop", "tpl"]);
    p.tool("golden-derive", &["-q", "tpl", "c1"]).assert_ok();
    let c1 = machine(&p, "c1");
    let after = prints("c1");
    for (b, a) in before.lines().zip(after.lines()) {
        assert_ne!(a, b, "{before} / {after}");
    }
    assert_eq!(after.lines().count(), 3, "{after}");
    assert_ne!(keyscan(&c1.address, "ecdsa"), ecdsa);
    assert_eq!(
        p.sh("c1", "readlink /etc/ssh/ssh_host_ecdsa_key").trim(),
        "/srv/keys/ssh_host_ecdsa_key",
        "the link is kept"
    );
    p.incus(&["stop", "c1"]);
}

/// golden-create killed at each step around the templates: the golden boots
/// as itself every time (it never renders its own templates), and a rerun
/// makes its pristine.
#[test]
fn a_golden_killed_while_its_templates_are_written_boots_as_itself() {
    let p = Project::new("boot-kill");
    p.debian_golden_from("debian13", "tpl", UNITS);
    let template = machine(&p, "tpl");
    for point in ["create:stopped", "create:templated", "swap:next-made"] {
        let r = run(golden("golden-create")
            .args(["-q", "tpl", "--project", &p.name])
            .env("GOLDEN_KILL_AT", point));
        assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
        assert_eq!(machine(&p, "tpl"), template, "after a kill at {point}");
        assert_eq!(units(&p, "tpl"), ("enabled".into(), "disabled".into()));
    }
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    assert_eq!(machine(&p, "tpl"), template);
    p.incus(&["stop", "tpl"]);
}

/// A refresh of a booted clone killed at each of its steps, then run again:
/// the clone boots as the same machine every time, with the new content.
#[test]
fn a_refresh_killed_at_each_step_then_rerun_leaves_a_booted_clone_itself() {
    let p = Project::new("boot-rkill");
    p.debian_golden_from("debian12", "tpl", UNITS);
    p.tool("golden-derive", &["-q", "tpl", "r1"]).assert_ok();
    let before = machine(&p, "r1");
    for (i, point) in [
        "refresh:kept",
        "refresh:marked",
        "refresh:rebuilt",
        "refresh:recorded",
    ]
    .iter()
    .enumerate()
    {
        // A new pristine: r1 is stale again.
        p.boot("tpl");
        p.sh("tpl", &format!("echo {i} >/etc/golden-update"));
        p.tool("golden-create", &["-q", "tpl"]).assert_ok();
        let r = run(golden("golden-refresh")
            .args(["-q", "r1", "--project", &p.name])
            .env("GOLDEN_KILL_AT", point));
        assert_eq!(r.code, -1, "killed at {point}: {}", r.stderr);
        p.wait_operations();
        p.tool("golden-refresh", &["-q", "r1"]).assert_ok();
        assert_eq!(machine(&p, "r1"), before, "after a kill at {point}");
        assert_eq!(p.sh("r1", "cat /etc/golden-update"), format!("{i}\n"));
        assert_eq!(units(&p, "r1"), ("enabled".into(), "disabled".into()));
    }
    p.incus(&["stop", "r1"]);
}

/// Two updates of a booted Debian golden, the second one bad (sshd masked):
/// the clones refreshed to it boot without sshd. One command rolls the
/// golden back, one refreshes the clones back: each boots as itself again
/// (its address, host key, machine-id and hostname), with the good update.
#[test]
fn a_bad_update_is_rolled_back_for_the_golden_and_the_clones_refreshed_to_it() {
    let p = Project::new("rollback-boot");
    p.debian_golden_from("debian12", "tpl", UNITS);
    p.tool("golden-derive", &["-q", "tpl", "r1", "r2"])
        .assert_ok();
    p.incus(&["start", "r1", "r2"]);
    let clones = ["r1", "r2"];
    let before: Vec<Machine> = clones.iter().map(|n| machine(&p, n)).collect();
    let template = machine(&p, "tpl");
    let refresh = |what: &str| {
        let r = p.tool("golden-refresh", &["-q", "-f", "json", "r1", "r2"]);
        r.assert_ok();
        for rec in json_lines(&r.stdout) {
            assert_eq!(rec["status"], "refreshed", "{what}: {rec}");
        }
    };

    // A good update (generation 2), then a bad one (3): sshd will not start.
    p.sh("tpl", "echo v2 >/etc/golden-update");
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    refresh("to generation 2");
    p.boot("tpl");
    p.sh(
        "tpl",
        "echo v3 >/etc/golden-update && systemctl mask --quiet ssh.service",
    );
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    refresh("to generation 3");
    for n in clones {
        p.boot(n);
        assert_eq!(
            p.sh(n, "systemctl is-active ssh || true"),
            "inactive\n",
            "{n}"
        );
    }

    // One command for the golden...
    let r = p.tool("golden-create", &["-f", "json", "--rollback", "tpl"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["generation"], 2);
    // ...one for its clones: stale now, refreshed back.
    let r = p.tool("golden-ls", &["--clones", "-f", "json", "tpl"]);
    for c in json_lines(&r.stdout) {
        assert_eq!(
            (&c["generation"], &c["stale"]),
            (&"3".into(), &true.into()),
            "{c}"
        );
    }
    refresh("back to generation 2");
    for (n, m) in clones.iter().zip(&before) {
        assert_eq!(&machine(&p, n), m, "{n} after the rollback");
        assert_eq!(p.sh(n, "cat /etc/golden-update"), "v2\n", "{n}");
        assert_eq!(units(&p, n), ("enabled".into(), "disabled".into()), "{n}");
    }
    assert_eq!(machine(&p, "tpl"), template, "the golden boots as itself");
    assert_eq!(p.sh("tpl", "cat /etc/golden-update"), "v2\n");
    p.incus(&["stop", "tpl", "r1", "r2"]);
}

/// What cloud-init recorded as the instance it last booted as.
fn cloud_instance(p: &Project, name: &str) -> String {
    p.sh(
        name,
        "cloud-init status --wait >/dev/null; cat /var/lib/cloud/data/instance-id",
    )
    .trim()
    .to_string()
}

/// cloud-init in the golden (Debian's package, seeded as Incus's own cloud
/// images seed it in a container: NoCloud files its templates render at
/// create and copy), on a golden whose admin runs `prepare` last before
/// each golden-create. Each instance made from it gets SSH host keys of its
/// own at its first boot and keeps them; a refreshed clone keeps its keys,
/// machine-id and hostname across its next boots, and stays the same
/// instance to cloud-init: cloud-init runs at every boot and takes a root
/// holding another instance's record (or none) for a new instance, making
/// new host keys and naming it as the template's seed does.
fn cloud_init_clones_keep_their_keys(tag: &str, prepare: &str) {
    on_demand_image("debian12-cloud");
    let p = Project::new(tag);
    p.debian_golden_from("debian12-cloud", "tpl", prepare);
    // c3 is never started before its refresh.
    p.tool("golden-derive", &["-q", "tpl", "c1", "c2", "c3"])
        .assert_ok();
    p.incus(&["copy", "tpl/pristine", "x1"]);
    p.incus(&["start", "c1", "c2", "x1"]);
    let names = ["c1", "c2", "x1"];
    let before: Vec<Machine> = names.iter().map(|n| machine(&p, n)).collect();
    for (m, n) in before.iter().zip(names) {
        assert_eq!(m.hostname, n, "{m:?}");
        // cloud-init ran, and took it for the instance its seed names.
        assert_eq!(cloud_instance(&p, n), n);
    }
    let keys: BTreeSet<&String> = before.iter().map(|m| &m.ssh_key).collect();
    assert_eq!(keys.len(), names.len(), "{before:?}");
    let ids: BTreeSet<&String> = before.iter().map(|m| &m.machine_id).collect();
    assert_eq!(ids.len(), names.len(), "{before:?}");
    // Its own keys stay across a reboot.
    p.incus(&["restart", "c1"]);
    assert_eq!(machine(&p, "c1"), before[0], "c1 after a reboot");
    p.incus(&["stop", "x1"]);

    // The update, and the golden prepared again as before.
    p.boot("tpl");
    p.sh("tpl", &format!("echo v2 >/etc/golden-update && {prepare}"));
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    // c1 keeps its identity; c2 is given a new one (--new-identity), and is
    // still the same instance to cloud-init, named as before.
    for (n, more) in [("c1", None), ("c2", Some("--new-identity")), ("c3", None)] {
        let mut args = vec!["-q", "-f", "json", n];
        args.extend(more);
        let r = p.tool("golden-refresh", &args);
        r.assert_ok();
        let rec = &json_lines(&r.stdout)[0];
        assert_eq!(rec["status"], "refreshed", "{rec}");
        assert_eq!(rec["restarted"], n != "c3", "{rec}");
    }
    // c3's first start renders the templates, as it would have without the
    // refresh: a machine of its own, a new instance to cloud-init.
    p.incus(&["start", "c3"]);
    let c3 = machine(&p, "c3");
    assert_eq!(c3.hostname, "c3", "{c3:?}");
    assert_eq!(c3.machine_id, uuid_id(&p, "c3"));
    assert!(
        before.iter().all(|m| m.ssh_key != c3.ssh_key),
        "{c3:?} {before:?}"
    );
    assert_eq!(cloud_instance(&p, "c3"), "c3");
    p.incus(&["restart", "c3"]);
    assert_eq!(machine(&p, "c3"), c3, "c3 after a reboot");
    p.incus(&["stop", "c3"]);
    // Their next boots, one after the other: cloud-init runs at each.
    let mut renewed: Option<Machine> = None;
    for boot in ["its refresh", "a reboot after its refresh"] {
        if boot != "its refresh" {
            p.incus(&["restart", "c1", "c2"]);
        }
        let now = machine(&p, "c1");
        assert_eq!(
            now,
            before[0],
            "c1 after {boot}: the same SSH host key, machine-id and hostname \
             (cloud-init took it for instance {:?})",
            cloud_instance(&p, "c1")
        );
        let c2 = machine(&p, "c2");
        assert_eq!(c2.hostname, "c2", "c2 after {boot}: {c2:?}");
        assert_ne!(c2.ssh_key, before[1].ssh_key, "c2: a new key");
        assert_ne!(c2.machine_id, before[1].machine_id, "c2: a new id");
        // The new key and id made at the refresh stay.
        let first = renewed.get_or_insert_with(|| c2.clone());
        assert_eq!(&c2, first, "c2 after {boot}");
        for n in ["c1", "c2"] {
            assert_eq!(cloud_instance(&p, n), n, "{n} after {boot}");
            assert_eq!(p.sh(n, "cat /etc/golden-update"), "v2\n", "{n}");
        }
    }
    p.incus(&["stop", "c1", "c2"]);
}

/// Prepared as cloud images are (`cloud-init clean`: each instance made from
/// the golden is initialised anew, and a rebuilt root holds no record).
#[test]
fn cloud_init_clones_keep_their_keys_across_refreshes_and_boots() {
    cloud_init_clones_keep_their_keys("boot-cloud", "cloud-init clean --logs");
}

/// Not cleaned: a rebuilt root holds the template's own record.
#[test]
fn cloud_init_clones_of_an_uncleaned_golden_stay_their_own_instance() {
    cloud_init_clones_keep_their_keys("boot-cloud-kept", "true");
}
