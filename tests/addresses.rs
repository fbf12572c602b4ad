//! `--ipv4 ADDR` and `--ipv4 auto` give addresses no other NIC holds, in any
//! project, never the subnet's own, and runs started together never share one.

use std::process::Stdio;

use golden_tests::*;

/// Static addresses for this test run, away from the low ones other tests use.
fn address(offset: u32) -> String {
    format!("10.219.7.{}", 150 + (std::process::id() + offset) % 40)
}

/// A name of this run's own: Incus wants an instance's name unique on a
/// network across projects (its DNS name), and other tests use goldenbr0.
fn unique(tag: &str) -> String {
    format!("{tag}-{}", std::process::id())
}

/// A template with a NIC on goldenbr0 holding a static address; its name.
fn template(p: &Project, tag: &str, a: &str) -> String {
    let tpl = unique(tag);
    p.instance(&tpl, None);
    let ip = format!("ipv4.address={a}");
    p.incus(&[
        "config",
        "device",
        "add",
        &tpl,
        "eth0",
        "nic",
        "network=goldenbr0",
        &ip,
    ]);
    assert_eq!(p.tool("golden-create", &[&tpl]).code, 0);
    tpl
}

fn address_of(p: &Project, name: &str) -> String {
    p.get(name)["devices"]["eth0"]["ipv4.address"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_address_held_by_an_instance_of_another_project_is_refused() {
    let q = Project::new("ad-holder");
    let holder = unique("holder");
    q.instance(&holder, None);
    let held = address(0);
    let ip = format!("ipv4.address={held}");
    q.incus(&[
        "config",
        "device",
        "add",
        &holder,
        "eth0",
        "nic",
        "network=goldenbr0",
        &ip,
    ]);
    let p = Project::new("ad-taken");
    let tpl = template(&p, "taken", &address(1));
    let r = p.tool("golden-derive", &["--ipv4", &held, &tpl, "c1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("already used")
            && r.stderr.contains(&holder)
            && r.stderr.contains(&q.name),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), [tpl.as_str()]);
    // The template's own address is taken too.
    let r = p.tool("golden-derive", &["--ipv4", &address(1), &tpl, "c1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn the_subnets_own_addresses_are_refused() {
    let p = Project::new("ad-own");
    let tpl = template(&p, "own", &address(2));
    for (a, why) in [
        ("10.219.7.0", "network address"),
        ("10.219.7.255", "broadcast address"),
        ("10.219.7.1", "gateway"),
        ("10.219.8.5", "not in network goldenbr0's subnet"),
    ] {
        let r = p.tool("golden-derive", &["--ipv4", a, &tpl, "c1"]);
        assert_eq!(r.code, 2, "{a}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{a}: {}", r.stderr);
        assert_eq!(p.instances(), [tpl.as_str()], "{a}");
    }
}

#[test]
fn two_auto_runs_started_together_never_share_an_address() {
    let p = Project::new("ad-race");
    let tpl = template(&p, "race", &address(3));
    for round in 0..3 {
        let spawn = |side: &str| {
            let names: Vec<String> = (0..3)
                .map(|i| unique(&format!("r{round}{side}{i}")))
                .collect();
            golden("golden-derive")
                .args(["-q", "--ipv4", "auto", &tpl, "--project", &p.name])
                .args(&names)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("a"), spawn("b"));
        for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let mut addrs: Vec<String> = p
        .instances()
        .iter()
        .filter(|n| **n != tpl)
        .map(|n| address_of(&p, n))
        .collect();
    assert_eq!(addrs.len(), 18);
    addrs.sort();
    let all = addrs.clone();
    addrs.dedup();
    assert_eq!(addrs.len(), 18, "an address given twice: {all:?}");
}

/// A small managed network of the test's own, removed when dropped (after the
/// project using it: make it first).
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = incus(&["network", "delete", &self.0]);
    }
}

#[test]
fn auto_with_fewer_free_addresses_than_clones_makes_nothing() {
    require_daemon();
    // An interface name: 15 characters at most.
    let net = Network(format!("gs{}", std::process::id() % 100_000));
    let _ = incus(&["network", "delete", &net.0]);
    incus_ok(&[
        "network",
        "create",
        &net.0,
        "ipv4.address=10.219.99.1/29",
        "ipv4.nat=false",
        "ipv6.address=none",
    ]);
    let p = Project::new("ad-short");
    p.instance("tpl", None);
    let nic = format!("network={}", net.0);
    p.incus(&[
        "config",
        "device",
        "add",
        "tpl",
        "eth0",
        "nic",
        &nic,
        "ipv4.address=10.219.99.2",
    ]);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    // .1 the gateway, .2 the template: .3 to .6 are free.
    let r = p.tool("golden-derive", &["--ipv4", "auto", "--count", "5", "tpl"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "network {} has 4 free address(es), and 5 clones need one",
            net.0
        )),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), ["tpl"]);
    let r = p.tool("golden-derive", &["--ipv4", "auto", "--count", "4", "tpl"]);
    r.assert_ok();
    assert_eq!(address_of(&p, "tpl-4"), "10.219.99.6");
}
