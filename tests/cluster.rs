//! The tools on a real 3-member Incus cluster (`tests/cluster.sh`: m1, m2, m3,
//! each with its own btrfs pool `local`): where clones land, what they cost,
//! what golden-ls says, a member going offline, and golden-refresh of clones
//! on other members than their template's.
//!
//! Every test has a project of its own. The offline test stops a member's
//! daemon: it holds the members' lock alone (across processes: a file lock),
//! the others share it.

use std::collections::BTreeSet;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use golden_tests::*;
use serde_json::Value;

static MEMBERS: RwLock<()> = RwLock::new(());

/// The members' lock, across test processes too (two `make test` runs share
/// the cluster): a lock on a file beside the cluster's directory, as its
/// scripts keep theirs. Threads of one process hold it through the RwLock
/// first, then each on a file of its own.
struct Members<G> {
    _file: std::fs::File,
    _thread: G,
}

fn lock_file() -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{}.members", cluster_dir()))
        .expect("the members' lock file")
}

/// For a test that needs every member up: shared with the others.
fn members_up() -> Members<RwLockReadGuard<'static, ()>> {
    use_cluster();
    let thread = MEMBERS.read().unwrap_or_else(|e| e.into_inner());
    let file = lock_file();
    file.lock_shared().expect("shared members' lock");
    Members {
        _file: file,
        _thread: thread,
    }
}

/// For a test that stops a member: alone.
fn members_alone() -> Members<RwLockWriteGuard<'static, ()>> {
    use_cluster();
    let thread = MEMBERS.write().unwrap_or_else(|e| e.into_inner());
    let file = lock_file();
    file.lock().expect("exclusive members' lock");
    Members {
        _file: file,
        _thread: thread,
    }
}

fn cluster_sh(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/cluster.sh");
    let out = std::process::Command::new(script)
        .args(args)
        .output()
        .expect("run tests/cluster.sh");
    assert!(
        out.status.success(),
        "cluster.sh {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The member's status as member 1 sees it (`Online`, `Offline`...).
fn member_status(m: &str) -> String {
    let out = incus_ok(&["query", &format!("/1.0/cluster/members/{m}")]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["status"].as_str().unwrap_or_default().to_string()
}

/// Bytes of an instance's volume on `member` that no other volume shares,
/// read in that member's daemon's mount namespace after a sync.
fn exclusive_bytes(member: &str, project: &str, instance: &str) -> u64 {
    let pid = std::fs::read_to_string(format!("{}.state/{member}.pid", cluster_dir()))
        .expect("member pid file");
    let path = format!(
        "{}/{member}/storage-pools/local/containers/{project}_{instance}",
        cluster_dir()
    );
    btrfs_exclusive_in(&pid, &path, true)
}

/// A stopped busybox template on `member` holding a file of `mib` MiB, made a
/// golden by golden-create.
fn template(p: &Project, name: &str, member: &str, mib: usize, extra: &[&str]) {
    let mut args = vec!["init", "busybox", name, "--target", member];
    args.extend(extra);
    p.incus(&args);
    if mib > 0 {
        let f = big_file(mib);
        p.incus(&[
            "file",
            "push",
            f.path().to_str().unwrap(),
            &format!("{name}/root/big"),
        ]);
    }
    let r = p.tool("golden-create", &[name]);
    assert_eq!(r.code, 0, "golden-create {name}: {}", r.stderr);
}

fn derive(p: &Project, args: &[&str]) -> (Run, Vec<Value>) {
    let mut all = args.to_vec();
    all.extend(["-f", "json"]);
    let r = p.tool("golden-derive", &all);
    let recs = json_lines(&r.stdout);
    (r, recs)
}

fn location(p: &Project, instance: &str) -> String {
    p.get(instance)["location"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ls(p: &Project) -> (Run, Vec<Value>) {
    let r = p.tool("golden-ls", &["-f", "json"]);
    let recs = json_lines(&r.stdout);
    (r, recs)
}

#[test]
fn clones_land_beside_their_template_on_a_non_first_member_and_share_its_blocks() {
    let _up = members_up();
    let p = Project::new("beside");
    template(&p, "tpl", "m2", 16, &[]);
    let (r, recs) = derive(&p, &["tpl", "c1", "c2", "c3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(recs.len(), 3);
    for rec in &recs {
        let name = rec["instance"].as_str().unwrap();
        assert_eq!(rec["location"], "m2", "{rec}");
        assert_eq!(rec["cow"], true, "{rec}");
        assert_eq!(location(&p, name), "m2");
        let own = exclusive_bytes("m2", &p.name, name);
        assert!(
            own < 1 << 20,
            "{name} holds {own} bytes of its own: not CoW"
        );
    }
    assert!(!r.stderr.contains("full cop"), "{}", r.stderr);
    let (r, rows) = ls(&p);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["location"], "m2");
    assert_eq!(
        (rows[0]["derived"].as_u64(), rows[0]["stale"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn target_puts_clones_on_that_member_as_full_copies_with_the_template_settings() {
    let _up = members_up();
    let p = Project::new("target");
    let extra = ["-c", "limits.memory=192MiB", "-c", "user.course=networks"];
    template(&p, "tpl", "m1", 16, &extra);
    p.incus(&["config", "device", "add", "tpl", "hidden", "none"]);
    // The device was added after the pristine: a new pristine carries it.
    let r = p.tool("golden-create", &["tpl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // -n shows the planned member and makes nothing.
    let (r, recs) = derive(&p, &["tpl", "far", "--target", "m3", "-n"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (recs[0]["location"].as_str(), recs[0]["status"].as_str()),
        (Some("m3"), Some("planned"))
    );
    assert_eq!(recs[0]["cow"], false);
    assert_eq!(p.instances(), ["tpl"]);

    let (r, recs) = derive(&p, &["tpl", "far", "--target", "m3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(recs[0]["location"], "m3");
    assert_eq!(recs[0]["cow"], false);
    assert!(
        r.stderr.contains("on member m3 are full copies") && r.stderr.contains("not CoW"),
        "{}",
        r.stderr
    );
    let c = p.get("far");
    assert_eq!(c["location"], "m3");
    assert_eq!(c["architecture"], p.get("tpl")["architecture"]);
    assert_eq!(c["config"]["limits.memory"], "192MiB", "{c}");
    assert_eq!(c["config"]["user.course"], "networks");
    assert_eq!(c["config"]["user.golden.template"], "tpl");
    assert_eq!(c["devices"]["hidden"]["type"], "none", "{c}");
    assert_eq!(c["profiles"], serde_json::json!(["default"]));
    // A new identity, not the template's.
    assert_ne!(
        c["config"]["volatile.uuid"],
        p.get("tpl")["config"]["volatile.uuid"]
    );
    let own = exclusive_bytes("m3", &p.name, "far");
    assert!(
        own >= 16 << 20,
        "far holds {own} bytes: a full copy holds the 16 MiB"
    );

    // The template's own member, named: CoW as by default.
    let (r, recs) = derive(&p, &["tpl", "near", "--target", "m1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (recs[0]["location"].as_str(), recs[0]["cow"].as_bool()),
        (Some("m1"), Some(true))
    );

    let r = p.tool("golden-derive", &["tpl", "x", "--target", "m9"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("members: m1, m2, m3"), "{}", r.stderr);
}

#[test]
fn spread_deals_clones_over_the_members_and_counts_follow_them() {
    let _up = members_up();
    let p = Project::new("spread");
    template(&p, "tpl", "m2", 8, &[]);
    let (r, recs) = derive(&p, &["tpl", "--count", "6", "--spread"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    for rec in &recs {
        let m = rec["location"].as_str().unwrap().to_string();
        assert_eq!(location(&p, rec["instance"].as_str().unwrap()), m, "{rec}");
        *per.entry(m).or_default() += 1;
    }
    assert_eq!(
        per.values().copied().collect::<Vec<_>>(),
        [2, 2, 2],
        "{per:?}"
    );
    // Off the template's member, one full copy each, and a CoW copy of it.
    let cows: Vec<bool> = recs
        .iter()
        .filter(|r| r["location"] != "m2")
        .map(|r| r["cow"].as_bool().unwrap())
        .collect();
    assert_eq!(cows.iter().filter(|c| !**c).count(), 2, "{recs:?}");
    assert!(
        r.stderr.contains("the other one is a CoW copy of it"),
        "{}",
        r.stderr
    );
    for rec in recs
        .iter()
        .filter(|r| r["location"] != "m2" && r["cow"] == true)
    {
        let (m, name) = (
            rec["location"].as_str().unwrap(),
            rec["instance"].as_str().unwrap(),
        );
        let own = exclusive_bytes(m, &p.name, name);
        assert!(own < 1 << 20, "{name} on {m} holds {own} bytes of its own");
        assert_eq!(p.get(name)["config"]["user.golden.template"], "tpl");
    }

    // Counted on every member; all stale once the pristine is made again.
    let (_, rows) = ls(&p);
    assert_eq!(
        (rows[0]["derived"].as_u64(), rows[0]["stale"].as_u64()),
        (Some(6), Some(0))
    );
    assert_eq!(rows[0]["location"], "m2");
    let r = p.tool("golden-create", &["tpl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, rows) = ls(&p);
    assert_eq!(
        (rows[0]["derived"].as_u64(), rows[0]["stale"].as_u64()),
        (Some(6), Some(6))
    );
}

#[test]
fn create_and_publish_a_template_on_the_last_member() {
    let _up = members_up();
    let p = Project::new("publish");
    p.incus(&["init", "busybox", "tpl", "--target", "m3"]);
    p.incus(&["start", "tpl"]);
    let r = p.tool("golden-create", &["tpl", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(rec["stopped"], true, "{rec}");
    assert_eq!(p.snapshots("tpl"), ["pristine"]);
    let alias = format!("{}-img", p.name);
    let r = p.tool("golden-publish", &["tpl", "--alias", &alias, "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The image launches on another member.
    p.incus(&["init", &alias, "from-image", "--target", "m1"]);
    assert_eq!(location(&p, "from-image"), "m1");
}

/// Starts the member again however the test ends.
struct Restart(&'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        cluster_sh(&["member-start", self.0]);
    }
}

#[test]
fn an_offline_member_is_named_and_the_rest_goes_on() {
    let _alone = members_alone();
    let p = Project::new("offline");
    template(&p, "t1", "m1", 0, &[]);
    template(&p, "t3", "m3", 0, &[]);
    for (t, c) in [("t1", "c1"), ("t3", "c3")] {
        let r = p.tool("golden-derive", &[t, c]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let _restart = Restart("m3");
    cluster_sh(&["member-stop", "m3"]);
    // Seen offline about 30 s after its daemon stopped (the private cluster's
    // cluster.offline_threshold): a bounded poll of state.
    let deadline = Instant::now() + Duration::from_secs(90);
    while member_status("m3") != "Offline" {
        assert!(Instant::now() < deadline, "m3 not seen offline in 90 s");
        std::thread::sleep(Duration::from_millis(500));
    }

    let started = Instant::now();
    let (r, rows) = ls(&p);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("cluster member m3 is offline"),
        "{}",
        r.stderr
    );
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t1", "t3"]);
    assert_eq!(rows[1]["location"], "m3");
    assert_eq!(rows[0]["derived"], 1);

    let timeout = 5;
    let mut cmd = golden("golden-derive");
    cmd.args(["--project", &p.name, "-f", "json"])
        .env("GOLDEN_TIMEOUT", timeout.to_string());
    let r = run_with_stdin(
        &mut cmd,
        "{\"template\":\"t1\",\"new\":\"a1\"}\n{\"template\":\"t3\",\"new\":\"a3\"}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let made = json_lines(&r.stdout);
    assert_eq!(made.len(), 1);
    assert_eq!(
        (made[0]["instance"].as_str(), made[0]["location"].as_str()),
        (Some("a1"), Some("m1"))
    );
    assert!(
        r.stderr
            .contains("a3: template t3 is on cluster member m3, which is offline"),
        "{}",
        r.stderr
    );

    let r = p.tool("golden-derive", &["t1", "b1", "b2", "--target", "m3"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for b in ["b1", "b2"] {
        assert!(
            r.stderr
                .contains(&format!("{b}: cluster member m3 is offline")),
            "{}",
            r.stderr
        );
    }
    // golden-create goes on with the others, naming the member.
    let r = p.tool("golden-create", &["t3", "t1", "-f", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(json_lines(&r.stdout).len(), 1, "t1 made again");
    assert!(
        r.stderr
            .contains("t3 is on cluster member m3, which is offline"),
        "{}",
        r.stderr
    );
    // golden-refresh too: c1 (stale, t1 made again) is refreshed, c3 named.
    let r = p.tool("golden-refresh", &["-f", "json", "c1", "c3"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let done = json_lines(&r.stdout);
    assert_eq!(done.len(), 1, "{}", r.stdout);
    assert_eq!(
        (done[0]["instance"].as_str(), done[0]["status"].as_str()),
        (Some("c1"), Some("refreshed"))
    );
    assert!(
        r.stderr
            .contains("c3 is on cluster member m3, which is offline"),
        "{}",
        r.stderr
    );
    // golden-publish too: t1 is published, t3 named.
    let alias = format!("{}-{{instance}}", p.name);
    let r = p.tool(
        "golden-publish",
        &["t3", "t1", "--alias", &alias, "-f", "json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let published = json_lines(&r.stdout);
    assert_eq!(published.len(), 1, "{}", r.stdout);
    assert_eq!(published[0]["instance"], "t1");
    assert!(
        r.stderr
            .contains("t3 is on cluster member m3, which is offline"),
        "{}",
        r.stderr
    );

    // A spread deals over the members that are up, and says which is not.
    let (r, recs) = derive(&p, &["t1", "--count", "2", "--spread"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("member m3 is offline"), "{}", r.stderr);
    // Records print as each clone ends: compare the members, not the order.
    let mut on: Vec<&str> = recs
        .iter()
        .map(|r| r["location"].as_str().unwrap())
        .collect();
    on.sort();
    assert_eq!(on, ["m1", "m2"]);
    assert!(
        started.elapsed() < Duration::from_secs(5 * timeout + 10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn custom_volumes_are_copied_on_their_member_and_never_sent_across() {
    let _up = members_up();
    let p = Project::new("volumes");
    let vol = format!("{}-data", p.name);
    // On m2's own storage, marked as this project's (removed with it).
    incus_ok(&[
        "storage",
        "volume",
        "create",
        "local",
        &vol,
        "--target",
        "m2",
        &format!("user.golden-test.project={}", p.name),
    ]);
    p.incus(&["init", "busybox", "tpl", "--target", "m2"]);
    p.incus(&["storage", "volume", "attach", "local", &vol, "tpl", "/data"]);
    let r = p.tool("golden-create", &["tpl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Beside the template, each clone gets its copy of the volume, on m2.
    let (r, recs) = derive(&p, &["tpl", "c1", "--volumes", "copy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(recs[0]["location"], "m2");
    let copy = format!("c1-{vol}");
    let out = incus_ok(&[
        "storage", "volume", "list", "local", "-f", "csv", "-c", "nL",
    ]);
    assert!(out.lines().any(|l| l == format!("{copy},m2")), "{out}");
    assert_eq!(p.get("c1")["devices"][&vol]["source"], copy.as_str());

    // On another member it could neither share nor copy it: refused, nothing made.
    for how in ["copy", "share"] {
        let r = p.tool(
            "golden-derive",
            &["tpl", "far", "--target", "m3", "--volumes", how],
        );
        assert_eq!(r.code, 2, "{how}: {}", r.stderr);
        assert!(
            r.stderr.contains("on member m2's own storage"),
            "{}",
            r.stderr
        );
    }
    assert!(!p.instances().contains(&"far".to_string()));
    // Dropped, a spread is fine.
    let (r, recs) = derive(
        &p,
        &["tpl", "d1", "d2", "d3", "--volumes", "drop", "--spread"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(recs.len(), 3);
    let _ = incus(&["storage", "volume", "delete", "local", &copy]);
}

/// A file of `text` pushed into an instance (running or not), owner root.
fn push(p: &Project, instance: &str, path: &str, text: &str) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    p.incus(&[
        "file",
        "push",
        f.path().to_str().unwrap(),
        &format!("{instance}{path}"),
    ]);
}

/// What a refresh must leave as it was on a clone.
#[derive(Debug, PartialEq)]
struct Kept {
    location: String,
    mac: Value,
    uuid: Value,
    config: Vec<(String, Value)>,
    hostname: Option<String>,
    machine_id: Option<String>,
}

fn kept(p: &Project, clone: &str) -> Kept {
    let inst = p.get(clone);
    Kept {
        location: inst["location"].as_str().unwrap_or_default().to_string(),
        mac: inst["config"]["volatile.eth0.hwaddr"].clone(),
        uuid: inst["config"]["volatile.uuid"].clone(),
        // The user's keys (the provenance changes, by design).
        config: inst["config"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.starts_with("volatile.") && !k.starts_with("user.golden."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        hostname: p.file(clone, "/etc/hostname"),
        machine_id: p.file(clone, "/etc/machine-id"),
    }
}

#[test]
fn refresh_rebuilds_clones_on_their_own_members_and_keeps_what_makes_them_themselves() {
    let _up = members_up();
    let p = Project::new("refresh");
    // A template on m2 with an identity of its own and a NIC (p2p: no network
    // needed, a MAC all the same).
    p.incus(&["init", "busybox", "tpl", "--target", "m2"]);
    p.incus(&[
        "config",
        "device",
        "add",
        "tpl",
        "eth0",
        "nic",
        "nictype=p2p",
    ]);
    push(&p, "tpl", "/etc/hostname", "tpl\n");
    push(
        &p,
        "tpl",
        "/etc/machine-id",
        "0123456789abcdef0123456789abcdef\n",
    );
    let r = p.tool("golden-create", &["-q", "tpl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Clones on the two other members (full copies there), with config of their own.
    let on = [("c3a", "m3"), ("c3b", "m3"), ("c1", "m1")];
    for (c, m) in on {
        let (r, recs) = derive(
            &p,
            &[
                "-q",
                "tpl",
                c,
                "--target",
                m,
                "-c",
                "user.course=networks",
                "-c",
                "boot.autostart.priority=5",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(recs[0]["location"], m, "{:?}", recs);
    }
    // Each has run once: its identity is its own from its first start.
    p.incus(&["start", "c3a", "c3b", "c1"]);
    p.incus(&["stop", "c3a", "c3b", "c1"]);
    p.incus(&["config", "set", "c3a", "user.owner=alice"]);
    p.snapshot("c1", "mine");
    // One student is at work: stopped, refreshed, and started again.
    p.incus(&["start", "c3b"]);
    let before: Vec<Kept> = on.iter().map(|(c, _)| kept(&p, c)).collect();
    for (k, (c, m)) in before.iter().zip(on) {
        assert_eq!(k.location, m, "{c}");
        assert!(k.mac.is_string(), "{c}: no MAC: {k:?}");
        assert_eq!(k.hostname.as_deref(), Some(format!("{c}\n").as_str()));
        assert_ne!(
            k.machine_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef\n")
        );
    }

    // The update: a file in the template, a new pristine: all three stale.
    push(&p, "tpl", "/etc/golden-update", "v2\n");
    let r = p.tool("golden-create", &["-q", "tpl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.tool("golden-ls", &["--clones", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        json_lines(&r.stdout).iter().all(|c| c["stale"] == true),
        "{}",
        r.stdout
    );

    let pipe = format!(
        "{} --clones -f json -p {p} tpl | jq -c 'select(.stale)' | {} -f json",
        bin("golden-ls").display(),
        bin("golden-refresh").display(),
        p = p.name,
    );
    let r = run(command("sh").args(["-c", &pipe]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let recs = json_lines(&r.stdout);
    assert_eq!(recs.len(), 3, "{}", r.stdout);
    for rec in &recs {
        assert_eq!(rec["status"], "refreshed", "{rec}");
        assert_eq!(rec["identity"], "carried", "{rec}");
        let c = rec["instance"].as_str().unwrap();
        assert_eq!(rec["restarted"], c == "c3b", "{rec}");
        assert_eq!(rec["snapshots"], if c == "c1" { 1 } else { 0 }, "{rec}");
    }

    for (b, (c, m)) in before.iter().zip(on) {
        assert_eq!(&kept(&p, c), b, "{c}");
        assert_eq!(
            p.file(c, "/etc/golden-update").as_deref(),
            Some("v2\n"),
            "{c}"
        );
        // The state before, kept beside it on its member.
        let copy = format!("{c}-pre-refresh");
        assert_eq!(location(&p, &copy), m, "{copy}");
        assert_eq!(p.file(&copy, "/etc/golden-update"), None, "{copy}");
    }
    assert_eq!(p.get("c3b")["status"], "Running");
    assert!(p.snapshots("c1").is_empty());
    assert_eq!(p.snapshots("c1-pre-refresh"), ["mine"]);
    let r = p.tool("golden-ls", &["--clones", "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let clones = json_lines(&r.stdout);
    assert_eq!(clones.len(), 3, "{}", r.stdout);
    for (name, m) in on {
        let c = clones.iter().find(|c| c["instance"] == name).expect(name);
        assert_eq!(
            (c["stale"].as_bool(), c["location"].as_str()),
            (Some(false), Some(m)),
            "{c}"
        );
    }
    // The image rebuilt from is gone once no clone needs it.
    let out = incus_ok(&["query", "/1.0/images?recursion=1&project=default"]);
    let left: Vec<Value> = serde_json::from_str::<Vec<Value>>(&out)
        .unwrap()
        .into_iter()
        .filter(|i| {
            i["properties"]["golden.refresh.template"].as_str() == Some(&format!("{}/tpl", p.name))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let (_, rows) = ls(&p);
    assert_eq!(
        (rows[0]["derived"].as_u64(), rows[0]["stale"].as_u64()),
        (Some(3), Some(0))
    );

    // Back as it was, on its member, with its MAC.
    let r = p.tool("golden-refresh", &["--restore", "c1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The copy is an instance of its own: its uuid is not the clone's.
    let back = kept(&p, "c1");
    assert_eq!(
        Kept {
            uuid: before[2].uuid.clone(),
            ..back
        },
        before[2]
    );
    assert_eq!(p.file("c1", "/etc/golden-update"), None);
    assert_eq!(p.snapshots("c1"), ["mine"]);
    assert!(!p.instances().contains(&"c1-pre-refresh".to_string()));
}

/// `incus ARGS` through member `m`'s own socket (not member 1's).
fn incus_on(m: &str, args: &[&str]) -> std::process::Output {
    command("incus")
        .env("INCUS_DIR", format!("{}/{m}", cluster_dir()))
        .args(args)
        .output()
        .expect("run incus")
}

/// The database leader as member `m` sees it, if it answers.
fn leader_seen_by(m: &str) -> Option<String> {
    let out = incus_on(m, &["query", "/1.0/cluster/members?recursion=1"]);
    let members: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    members
        .iter()
        .find(|v| {
            v["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "database-leader"))
        })
        .and_then(|v| v["server_name"].as_str().map(str::to_string))
}

/// The members whose own store holds image `fp` (the cluster database's view).
fn image_holders(fp: &str) -> Vec<String> {
    let sql = format!(
        "SELECT nodes.name FROM images_nodes \
         JOIN nodes ON nodes.id = images_nodes.node_id \
         JOIN images ON images.id = images_nodes.image_id \
         WHERE images.fingerprint = '{fp}' ORDER BY nodes.name"
    );
    let out = incus_ok(&["admin", "sql", "global", "-f", "csv,noheader", &sql]);
    out.lines().map(str::to_string).collect()
}

/// Member `from`'s new connections to member `to`'s API refused
/// (`tests/cluster.sh member-block`) until lifted or dropped.
struct Block(String, &'static str);

impl Block {
    fn new(from: &str, to: &'static str) -> Block {
        cluster_sh(&["member-block", from, to]);
        Block(from.to_string(), to)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/cluster.sh");
        let _ = std::process::Command::new(script)
            .args(["member-unblock", &self.0, self.1])
            .status();
    }
}

/// A member that has just restarted is "not ready yet" to another one until that
/// one's event link to it is up again: each request the other forwards to it, and
/// each image copy it asks of it, is refused with "Server isn't ready yet". Made
/// here for real and held: member 1 is restarted while F, the member that is not
/// the leader then, is refused new connections to it (a firewall rule in F's
/// namespace), so F says so about member 1 until the rule is lifted.
///
/// - golden-create through F, of a template on member 1: asked again (the trace
///   says so) until the rule is lifted, then done.
/// - golden-publish of a template on member 1: the image is made there, then its
///   copy to F fails as not ready; that image is the one published. Member 1 has
///   the lowest member id, so the daemon has F copy from member 1 even when the
///   leader got its copy first: F is refused every time, never by chance.
#[test]
fn a_member_not_ready_after_a_restart_is_asked_again_and_its_image_taken() {
    let _alone = members_alone();
    let p = Project::new("notready");
    p.incus(&["init", "busybox", "made", "--target", "m1"]);
    template(&p, "pub", "m1", 0, &[]);

    let _restart = Restart("m1");
    cluster_sh(&["member-stop", "m1"]);
    // Another member leads (it did, or one is elected): F is the third one.
    let deadline = Instant::now() + Duration::from_secs(60);
    let leader = loop {
        match leader_seen_by("m2") {
            Some(l) if l != "m1" => break l,
            _ => {
                assert!(Instant::now() < deadline, "no leader but m1 in 60 s");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    let f = if leader == "m2" { "m3" } else { "m2" };
    let block = Block::new(f, "m1");
    cluster_sh(&["member-start", "m1"]);
    // F says it about member 1 (after its next heartbeat): a bounded poll of state.
    let about_made = format!("/1.0/instances/made?project={}", p.name);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = incus_on(f, &["query", &about_made]);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        if said.contains("Server isn't ready yet") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{f} not saying 'not ready yet' about m1 in 60 s: {said}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The publish: made on member 1, its copy to F refused; taken all the same.
    let alias = format!("{}-img", p.name);
    let r = p.tool("golden-publish", &["pub", "--alias", &alias, "-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rec = &json_lines(&r.stdout)[0];
    let fp = rec["fingerprint"].as_str().unwrap_or_default().to_string();
    assert_eq!(fp.len(), 64, "{rec}");
    assert_eq!(
        (rec["instance"].as_str(), rec["alias"].as_str()),
        (Some("pub"), Some(alias.as_str()))
    );
    let store = rec["image_project"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let holders = image_holders(&fp);
    assert!(
        holders.contains(&"m1".to_string()) && !holders.contains(&f.to_string()),
        "the copy to {f} was not refused: the image is on {holders:?}"
    );
    let named: Value = serde_json::from_str(&incus_ok(&[
        "query",
        &format!("/1.0/images/aliases/{alias}?project={store}"),
    ]))
    .unwrap();
    assert_eq!(named["target"], fp.as_str());
    // One image of it, no other left behind.
    let images: Vec<Value> = serde_json::from_str(&incus_ok(&[
        "query",
        &format!("/1.0/images?recursion=1&project={store}"),
    ]))
    .unwrap();
    let ours: Vec<&str> = images
        .iter()
        .filter(|i| i["properties"]["golden.project"] == p.name.as_str())
        .map(|i| i["fingerprint"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ours, [fp.as_str()]);

    // The create through F: refused as not ready, asked again until the rule goes.
    let mut child = golden("golden-create")
        .env("INCUS_DIR", format!("{}/{f}", cluster_dir()))
        .env("GOLDEN_TRACE", "1")
        .args(["made", "-f", "json", "--project", &p.name])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn golden-create");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let asked_again = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("not ready yet") && line.contains("asking again") => {
                break line
            }
            Ok(_) => {}
            // Ended (or 60 s) without asking again.
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "golden-create did not ask again: {}",
                    reader.join().unwrap()
                );
            }
        }
    };
    assert!(
        asked_again.contains("Server isn't ready yet"),
        "{asked_again}"
    );
    drop(block);
    let out = child.wait_with_output().expect("wait golden-create");
    let said = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{said}");
    let recs = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(recs.len(), 1, "{said}");
    assert_eq!(
        (recs[0]["instance"].as_str(), recs[0]["snapshot"].as_str()),
        (Some("made"), Some("pristine")),
        "{}",
        recs[0]
    );
    assert_eq!(p.snapshots("made"), ["pristine"]);
    assert_eq!(location(&p, "made"), "m1");

    // F, linked again, fetches the image from member 1 when it needs it.
    p.incus(&["init", &alias, "from-image", "--target", f]);
    assert_eq!(location(&p, "from-image"), f);
    assert!(image_holders(&fp).contains(&f.to_string()));
}

/// A booted clone as its user sees it: from inside, and from its member's
/// bridge.
#[derive(Debug)]
struct Machine {
    member: String,
    hostname: String,
    machine_id: String,
    address: String,
    ssh_key: String,
}

fn machine(p: &Project, name: &str) -> Machine {
    assert_eq!(p.boot(name), "running", "{name}");
    assert_eq!(p.sh(name, "systemctl is-active ssh").trim(), "active");
    let member = location(p, name);
    let address = p.ipv4(name);
    Machine {
        hostname: p.sh(name, "hostnamectl hostname").trim().to_string(),
        machine_id: p.sh(name, "cat /etc/machine-id").trim().to_string(),
        ssh_key: keyscan_in(&cluster_netns(&member), &address, "ed25519"),
        address,
        member,
    }
}

/// The spread route of issue "every instance its own machine": a booted
/// Debian golden on member 1, six clones dealt over the three members
/// (copies to another member are migrations, which set the templates'
/// trigger `copy` as a local copy does), each booted and judged from inside
/// and by `ssh-keyscan` from its member's bridge.
#[test]
fn every_clone_of_a_spread_is_its_own_machine_on_every_member() {
    let _up = members_up();
    let p = Project::new("spread-id");
    debian_golden_from(
        "debian12",
        &p.name,
        "tpl",
        &["--target", "m1"],
        "echo provisioned >/etc/golden-provisioned",
    );
    let template = machine(&p, "tpl");
    p.incus(&["stop", "tpl"]);

    let (r, recs) = derive(&p, &["tpl", "--count", "6", "--spread"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<String> = recs
        .iter()
        .map(|r| r["instance"].as_str().unwrap().to_string())
        .collect();
    assert!(
        recs.iter()
            .all(|r| r["identity"] == "machine-id,ssh-host-keys,hostname,dhcp-leases"),
        "{recs:?}"
    );
    let mut start = vec!["start"];
    start.extend(names.iter().map(String::as_str));
    p.incus(&start);
    let clones: Vec<Machine> = names.iter().map(|n| machine(&p, n)).collect();
    let members: BTreeSet<&str> = clones.iter().map(|c| c.member.as_str()).collect();
    assert_eq!(members.len(), 3, "{clones:?}");
    for (c, n) in clones.iter().zip(&names) {
        assert_eq!(&c.hostname, n, "{c:?}");
        let uuid = p.get(n)["config"]["volatile.uuid"].clone();
        assert_eq!(
            c.machine_id,
            uuid.as_str().unwrap().replace('-', ""),
            "{c:?}"
        );
        assert_eq!(p.sh(n, "cat /etc/golden-provisioned"), "provisioned\n");
    }
    let distinct = |f: fn(&Machine) -> String| -> usize {
        clones
            .iter()
            .chain([&template])
            .map(f)
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!(distinct(|m| m.machine_id.clone()), 7, "{clones:?}");
    assert_eq!(distinct(|m| m.ssh_key.clone()), 7, "{clones:?}");
    // Each member's bridge is a network of its own: addresses are distinct
    // on each, and may repeat across members.
    assert_eq!(
        distinct(|m| format!("{} {}", m.member, m.address)),
        7,
        "{clones:?}"
    );

    // The template keeps its own identity, and boots as before.
    start[0] = "stop";
    p.incus(&start);
    let again = machine(&p, "tpl");
    assert_eq!(
        (&again.hostname, &again.machine_id, &again.ssh_key),
        (&template.hostname, &template.machine_id, &template.ssh_key)
    );
    p.incus(&["stop", "tpl"]);
}
