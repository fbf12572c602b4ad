//! Readers and the swap: golden-create looping on a golden while golden-derive
//! and golden-publish run against it, on btrfs (CoW copies) and on dir (full
//! copies, where a snapshot being read cannot be renamed). Every run must
//! succeed, and every clone must name the pristine it was really copied from.
//!
//! Each create writes a generation number into the template first, so a clone's
//! `/etc/gen` tells which pristine it came from, whatever its record says.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use golden_tests::*;

const CREATES: usize = 10;
const DERIVE_BATCHES: usize = 6;
const CLONES_PER_BATCH: usize = 4;
const PUBLISHES: usize = 6;

struct Tally {
    runs: usize,
    failures: Vec<String>,
}

fn stress(tag: &str, pool: &str) {
    let p = Project::new(tag);
    p.instance("tpl", Some(pool));
    // generation -> created_at of the pristine holding it.
    let made: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let gen_file = tempfile::NamedTempFile::new().unwrap();
    let create = |n: usize| -> Result<(), String> {
        std::fs::write(gen_file.path(), n.to_string()).unwrap();
        p.incus(&[
            "file",
            "push",
            gen_file.path().to_str().unwrap(),
            "tpl/etc/gen",
        ]);
        let r = p.tool("golden-create", &["-q", "-f", "json", "tpl"]);
        if r.code != 0 {
            return Err(format!("create {n}: exit {}: {}", r.code, r.stderr));
        }
        let rec = &json_lines(&r.stdout)[0];
        made.lock().unwrap().insert(
            n.to_string(),
            rec["created_at"].as_str().unwrap().to_string(),
        );
        Ok(())
    };
    create(0).unwrap();

    let creating = AtomicBool::new(true);
    // Runs of derive and publish that ended while creates were still looping.
    let overlapped = std::sync::atomic::AtomicUsize::new(0);
    let during = || {
        if creating.load(Ordering::SeqCst) {
            overlapped.fetch_add(1, Ordering::SeqCst);
        }
    };
    let tally = Mutex::new(Tally {
        runs: 0,
        failures: Vec::new(),
    });
    let note = |r: Result<(), String>| {
        let mut t = tally.lock().unwrap();
        t.runs += 1;
        if let Err(e) = r {
            t.failures.push(e);
        }
    };
    let alias = format!("{}-img", p.name);
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 1..=CREATES {
                note(create(n));
            }
            creating.store(false, Ordering::SeqCst);
        });
        s.spawn(|| {
            for b in 0..DERIVE_BATCHES {
                let names: Vec<String> =
                    (0..CLONES_PER_BATCH).map(|i| format!("c{b}-{i}")).collect();
                let mut args = vec!["-q", "-j", "2", "tpl"];
                args.extend(names.iter().map(String::as_str));
                let r = p.tool("golden-derive", &args);
                during();
                note(if r.code == 0 {
                    Ok(())
                } else {
                    Err(format!("derive batch {b}: exit {}: {}", r.code, r.stderr))
                });
            }
        });
        s.spawn(|| {
            for n in 0..PUBLISHES {
                let r = p.tool(
                    "golden-publish",
                    &["-q", "--replace", "tpl", "--alias", &alias],
                );
                during();
                note(if r.code == 0 {
                    Ok(())
                } else {
                    Err(format!("publish {n}: exit {}: {}", r.code, r.stderr))
                });
            }
        });
    });
    assert!(!creating.load(Ordering::SeqCst));
    let overlapped = overlapped.into_inner();

    // Provenance: each clone names the pristine whose content it holds.
    let made = made.into_inner().unwrap();
    let mut clones = 0;
    let mut wrong = Vec::new();
    for name in p.instances().into_iter().filter(|n| n != "tpl") {
        clones += 1;
        let gen = p.incus(&["file", "pull", &format!("{name}/etc/gen"), "-"]);
        let said = p.get(&name)["config"]["user.golden.created_at"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let truth = made.get(gen.trim()).cloned().unwrap_or_default();
        if said != truth {
            wrong.push(format!(
                "{name}: holds generation {} ({truth}) but says {said}",
                gen.trim()
            ));
        }
    }
    let t = tally.into_inner().unwrap();
    println!(
        "stress on {pool}: {} runs ({} creates, {} derives of {} clones each, {} publishes), \
         {overlapped} of the derives and publishes ended during the creates, \
         {} failures, {clones} clones, {} with a wrong provenance",
        t.runs + 1,
        CREATES + 1,
        DERIVE_BATCHES,
        CLONES_PER_BATCH,
        PUBLISHES,
        t.failures.len(),
        wrong.len()
    );
    assert!(t.failures.is_empty(), "{:#?}", t.failures);
    assert!(
        overlapped * 2 >= DERIVE_BATCHES + PUBLISHES,
        "too few runs met a create: {overlapped}"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(clones, DERIVE_BATCHES * CLONES_PER_BATCH);
    // One pristine, no temporary snapshot left.
    assert_eq!(p.snapshots_but_generations("tpl"), ["pristine"]);
}

#[test]
fn a_create_looping_while_derives_and_publishes_run_on_btrfs() {
    stress("stress-btrfs", "gbtrfs");
}

#[test]
fn a_create_looping_while_derives_and_publishes_run_on_dir() {
    stress("stress-dir", "gdir");
}
