//! The update cycle: twenty running clones of a Debian golden, each with what
//! a real clone has of its own (a config key, a custom volume at /data), made
//! stale by a new pristine, then brought to the new pristine two ways:
//! `golden-refresh` (rebuilt in place, identity carried, old state kept) and
//! what a user does without it, one clone after the other: read what it has
//! of its own, `incus delete --force`, `golden-derive`, `incus config set`
//! and `incus config device add` again, `incus start`.
//!
//! The golden has no RSA host key: making one takes about a second a clone
//! (measured by the identity part), which would weigh on the by-hand side
//! only (golden-derive makes new keys; golden-refresh carries the old ones).

use std::collections::BTreeMap;
use std::time::Instant;

use super::identity::debian_golden;
use super::{delete_all, drop_project, median, par, project, rounds, timed, tool, Row};
use golden_tests::{incus, incus_ok};
use serde_json::Value;

const P: &str = "bench-refresh";
const TPL: &str = "brf-tpl";
const POOL: &str = "gbtrfs";
/// The image property that marks what this bench published itself.
const MINE: &str = "golden.bench";

fn volume(clone: &str) -> String {
    format!("{clone}-data")
}

fn kept(names: &[String]) -> Vec<String> {
    names.iter().map(|n| format!("{n}-pre-refresh")).collect()
}

/// The project's instances, by name (one request).
fn instances() -> BTreeMap<String, Value> {
    let out = incus_ok(&["query", &format!("/1.0/instances?project={P}&recursion=1")]);
    let all: Vec<Value> = serde_json::from_str(&out).expect("instances");
    all.into_iter()
        .map(|i| (i["name"].as_str().unwrap_or_default().to_string(), i))
        .collect()
}

fn query(path: &str) -> Vec<Value> {
    let out = incus(&["query", path]);
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// The project gone with all it holds: instances, custom volumes, and the
/// images made from its goldens (kept in `default`: the project has no
/// images of its own).
fn clean() {
    delete_all(P, &golden_tests::instance_names(P));
    for url in query(&format!(
        "/1.0/storage-pools/{POOL}/volumes/custom?project={P}"
    )) {
        let url = url.as_str().unwrap_or_default();
        let name = url.rsplit('/').next().unwrap_or_default();
        let name = name.split('?').next().unwrap_or_default();
        let _ = incus(&["storage", "volume", "delete", POOL, name, "--project", P]);
    }
    for image in query("/1.0/images?recursion=1&project=default") {
        let props = &image["properties"];
        let from_here = props["golden.refresh.template"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{P}/")))
            || props[MINE] == P;
        if from_here {
            let fp = image["fingerprint"].as_str().unwrap_or_default();
            let _ = incus(&["image", "delete", fp, "--project", "default"]);
        }
    }
    drop_project(P);
}

/// A new pristine of the template: every clone is stale.
fn new_pristine(round: &str) {
    incus_ok(&["start", TPL, "--project", P]);
    let line = format!("echo {round} >/etc/golden-update");
    incus_ok(&["exec", TPL, "--project", P, "--", "sh", "-c", &line]);
    incus_ok(&["stop", "--force", TPL, "--project", P]);
    timed(tool("golden-create").args(["-q", TPL, "--project", P]));
}

fn machine_id(name: &str) -> String {
    incus_ok(&[
        "file",
        "pull",
        &format!("{name}/etc/machine-id"),
        "-",
        "--project",
        P,
    ])
}

/// Every clone on the current pristine, running, with its own MAC, config
/// key and volume: both ways must give the same clones (the identity aside).
fn check(names: &[String], macs: &BTreeMap<String, String>, how: &str) {
    let out = tool("golden-ls")
        .args(["--clones", "-f", "json", "-p", P, TPL])
        .output()
        .expect("golden-ls");
    assert!(out.status.success(), "golden-ls --clones");
    let records = golden_tests::json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(records.len(), names.len(), "{how}: clones listed");
    assert!(
        records.iter().all(|r| r["stale"] == false),
        "{how}: a clone is still stale"
    );
    let all = instances();
    for (i, n) in names.iter().enumerate() {
        let inst = &all[n];
        assert_eq!(inst["status"], "Running", "{how}: {n}");
        let config = &inst["config"];
        assert_eq!(
            config["user.owner"],
            format!("student-{}", i + 1),
            "{how}: {n}"
        );
        assert_eq!(
            config["volatile.eth0.hwaddr"].as_str(),
            Some(macs[n].as_str()),
            "{how}: {n}'s MAC"
        );
        assert_eq!(
            inst["devices"]["data"]["source"].as_str(),
            Some(volume(n).as_str()),
            "{how}: {n}'s volume"
        );
    }
}

/// Runs `cmd` until it succeeds, as its man page says to finish a run that
/// failed: a rerun goes on where it stopped. Returns the wall time of all the
/// runs; `reruns` counts the runs that failed (each said on stderr).
fn until_done(cmd: &mut std::process::Command, reruns: &mut usize) -> f64 {
    let t = Instant::now();
    for _ in 0..3 {
        let out = cmd.output().expect("run");
        if out.status.success() {
            return t.elapsed().as_secs_f64();
        }
        *reruns += 1;
        eprintln!(
            "bench refresh: run again after: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    panic!("{cmd:?} failed 3 times");
}

/// What one clone has of its own, as a user's script reads it: its MAC,
/// its `user.*` keys (not golden's provenance), its disks other than the
/// root (its NIC is the template's, which the new clone gets again).
fn own_config(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let out = incus_ok(&["query", &format!("/1.0/instances/{name}?project={P}")]);
    let inst: Value = serde_json::from_str(&out).expect("instance");
    let mut keys = Vec::new();
    for (k, v) in inst["config"].as_object().expect("config") {
        let own = k.starts_with("user.") && !k.starts_with("user.golden.");
        if own || k == "volatile.eth0.hwaddr" {
            keys.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    let mut devices = Vec::new();
    for (dev, conf) in inst["devices"].as_object().expect("devices") {
        let conf = conf.as_object().expect("a device");
        if conf["type"] != "disk" || conf.get("path").is_some_and(|p| p == "/") {
            continue;
        }
        let mut add = vec![dev.clone(), conf["type"].as_str().unwrap().to_string()];
        for (k, v) in conf.iter().filter(|(k, _)| *k != "type") {
            add.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
        devices.push(add);
    }
    (keys, devices)
}

/// The by-hand refresh of one clone.
fn by_hand(name: &str) {
    let (keys, devices) = own_config(name);
    incus_ok(&["delete", "--force", name, "--project", P]);
    timed(tool("golden-derive").args(["-q", TPL, name, "--project", P]));
    let mut set = vec!["config", "set", name, "--project", P];
    set.extend(keys.iter().map(String::as_str));
    incus_ok(&set);
    for d in &devices {
        let mut add = vec!["config", "device", "add", name, "--project", P];
        add.extend(d.iter().map(String::as_str));
        incus_ok(&add);
    }
    incus_ok(&["start", name, "--project", P]);
}

/// Bytes of data the pool holds, once deleted volumes are really gone (read
/// in the daemon's mount namespace).
fn pool_used() -> f64 {
    let mount = format!("{}/storage-pools/{POOL}", golden_tests::incus_dir());
    let script = format!(
        "btrfs filesystem sync {mount} >/dev/null && btrfs subvolume sync {mount} >/dev/null \
         && btrfs filesystem df --raw {mount}"
    );
    let out = std::process::Command::new("nsenter")
        .args(["-t", &golden_tests::daemon_pid(), "-m", "--", "sh", "-c"])
        .arg(&script)
        .output()
        .expect("nsenter btrfs");
    assert!(
        out.status.success(),
        "btrfs df: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let data = text
        .lines()
        .find(|l| l.starts_with("Data"))
        .expect("a Data line");
    let used = data.rsplit("used=").next().expect("used=");
    used.trim().parse().expect("bytes")
}

/// Size of an uncompressed image of the pristine (what golden-refresh makes
/// and unpacks once on the pool), in bytes.
fn image_size() -> u64 {
    let out = incus_ok(&[
        "publish",
        &format!("{TPL}/pristine"),
        "--project",
        P,
        "--compression",
        "none",
        &format!("{MINE}={P}"),
    ]);
    let fp = out
        .split_whitespace()
        .last()
        .expect("a fingerprint")
        .to_string();
    let info = incus_ok(&["query", &format!("/1.0/images/{fp}?project={P}")]);
    let info: Value = serde_json::from_str(&info).expect("image");
    incus_ok(&["image", "delete", &fp, "--project", P]);
    info["size"].as_u64().unwrap_or_default()
}

pub fn bench_refresh(rows: &mut Vec<Row>, n: usize) {
    clean();
    project(P);
    debian_golden(P, TPL, false, &["--network", "goldenbr0"]);
    let names: Vec<String> = (1..=n).map(|i| format!("brf-c{i:02}")).collect();
    timed(
        tool("golden-derive")
            .args(["-q", TPL, "--project", P])
            .args(&names),
    );
    let numbered: Vec<(usize, &String)> = names.iter().enumerate().collect();
    par(&numbered, |(i, name)| {
        let vol = volume(name);
        incus_ok(&["storage", "volume", "create", POOL, &vol, "--project", P]);
        let owner = format!("user.owner=student-{}", i + 1);
        incus_ok(&["config", "set", name, &owner, "--project", P]);
        incus_ok(&[
            "config",
            "device",
            "add",
            name,
            "data",
            "disk",
            &format!("pool={POOL}"),
            &format!("source={vol}"),
            "path=/data",
            "--project",
            P,
        ]);
    });
    let mut start = vec!["start", "--project", P];
    start.extend(names.iter().map(String::as_str));
    incus_ok(&start);
    let all = instances();
    let macs: BTreeMap<String, String> = names
        .iter()
        .map(|n| {
            let mac = all[n]["config"]["volatile.eth0.hwaddr"].as_str();
            (n.clone(), mac.expect("a MAC").to_string())
        })
        .collect();
    let first = &names[0];

    let round = std::cell::Cell::new(0);
    let pristine = || {
        round.set(round.get() + 1);
        new_pristine(&format!("v{}", round.get()));
    };
    // What a run leaves on the pool (the whole pool: noisy while others use
    // the daemon; the median of the rounds).
    let (mut grown_ours, mut grown_hand) = (vec![], vec![]);
    // Each run: its clones stale, and (untimed) the copies kept by an earlier
    // refresh removed, so that every run is each clone's first refresh.
    let mut kept_bytes = 0;
    let mut reruns = 0;
    let mut ours = |extra: &[&str], id_kept: &mut bool| {
        pristine();
        delete_all(P, &kept(&names));
        let before = machine_id(first);
        let used = pool_used();
        let mut c = tool("golden-refresh");
        c.args(["-q", "--force", "--project", P])
            .args(extra)
            .args(&names);
        let t = until_done(&mut c, &mut reruns);
        check(&names, &macs, "golden-refresh");
        *id_kept &= machine_id(first) == before;
        if extra.is_empty() {
            grown_ours.push(pool_used() - used);
            kept_bytes = golden_tests::btrfs_exclusive_bytes(POOL, P, &kept(&names)[0]);
        }
        t
    };
    // Kept: by every golden-refresh run; by any by-hand run.
    let (mut id_ours, mut id_hand) = (true, false);
    let mut hand = |id_kept: &mut bool| {
        pristine();
        let before = machine_id(first);
        let used = pool_used();
        let t = Instant::now();
        for name in &names {
            by_hand(name);
        }
        let t = t.elapsed().as_secs_f64();
        check(&names, &macs, "by hand");
        *id_kept |= machine_id(first) == before;
        grown_hand.push(pool_used() - used);
        t
    };
    let (mut a, mut a_nokeep, mut a_one, mut b) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds() {
        a.push(ours(&[], &mut id_ours));
        b.push(hand(&mut id_hand));
        a_nokeep.push(ours(&["--no-keep"], &mut id_ours));
        a_one.push(ours(&["-j", "1"], &mut id_ours));
    }
    let image = image_size();
    let (a, a_nokeep, a_one, b) = (median(a), median(a_nokeep), median(a_one), median(b));
    let mib = |v: Vec<f64>| median(v) / f64::from(1 << 20);
    let (grown_ours, grown_hand) = (mib(grown_ours), mib(grown_hand));
    let per = |s: f64| s * 1000.0 / n as f64;
    let yes = |b: bool| if b { "kept" } else { "NOT kept" };
    let work =
        format!("refresh {n} stale clones (Debian, each with a /data volume and a config key)");
    let baseline_name = "delete + golden-derive + re-apply config, by hand".to_string();
    rows.push(Row {
        work: work.clone(),
        ours: a,
        baseline_name: baseline_name.clone(),
        baseline: b,
        target: None,
        note: format!(
            "{:.0} ms a clone vs {:.0} ms by hand, one clone after the other (incus query, \
             delete --force, golden-derive with its identity reset, config set of the MAC and \
             user.owner, device add of /data, start); ours: golden-refresh --force -p P \
             c01..c{n} (running clones, -j 4, the image of the pristine made in the run), each \
             a first refresh; machine-id {} by golden-refresh, {} by hand (nor the SSH host \
             keys); by hand also loses the clone's snapshots and its old state (no pre-refresh \
             copy); disk: an uncompressed image of {} MiB during the run; after it, the pool \
             holds {:+.0} MiB (the refreshed clones share their root with each other, no longer \
             with the template's pristine; a kept copy: {} KiB of its own), by hand {:+.0} MiB \
             (clones CoW of the pristine again); golden without an RSA host key (its keygen, \
             ~1 s a clone by hand, is the identity part's); golden-refresh runs (of all three \
             rows) that failed and were run again, timed with them: {reruns}",
            per(a),
            per(b),
            yes(id_ours),
            yes(id_hand),
            image >> 20,
            grown_ours,
            kept_bytes / 1024,
            grown_hand,
        ),
    });
    rows.push(Row {
        work: format!("{work}, --no-keep"),
        ours: a_nokeep,
        baseline_name: baseline_name.clone(),
        baseline: b,
        target: None,
        note: format!(
            "{:.0} ms a clone: the pre-refresh copy removed once done",
            per(a_nokeep)
        ),
    });
    rows.push(Row {
        work: format!("{work}, -j 1"),
        ours: a_one,
        baseline_name,
        baseline: b,
        target: None,
        note: format!(
            "{:.0} ms a clone, one at a time as by hand: what the keep, the rebuild and the \
             carried identity cost against a delete and a derive",
            per(a_one)
        ),
    });
    clean();
}
