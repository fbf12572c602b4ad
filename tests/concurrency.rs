//! Concurrent runs on the same instances end in a defined state.

use golden_tests::*;
use std::process::Stdio;

#[test]
fn two_creates_of_one_instance_run_one_after_the_other() {
    let p = Project::new("cc-create");
    p.instance("t", None);
    for round in 0..3 {
        let spawn = || {
            golden("golden-create")
                .args(["-f", "json", "t", "--project", &p.name])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(
            a.status.success() && b.status.success(),
            "round {round}: {} / {}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        assert_eq!(
            p.snapshots_but_generations("t"),
            ["pristine"],
            "round {round}"
        );
        // Serialized: one replaced what the other made.
        let ra = &json_lines(&String::from_utf8_lossy(&a.stdout))[0];
        let rb = &json_lines(&String::from_utf8_lossy(&b.stdout))[0];
        assert!(
            ra["previous"] == rb["created_at"] || rb["previous"] == ra["created_at"],
            "round {round}: {ra} {rb}"
        );
    }
}

#[test]
fn two_derives_of_one_new_name_one_wins_the_other_fails_cleanly() {
    let p = Project::new("cc-derive");
    p.golden("tpl", None);
    for round in 0..3 {
        let name = format!("same{round}");
        let spawn = || {
            golden("golden-derive")
                .args(["-q", "tpl", &name, "--project", &p.name])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let codes = [a.status.code(), b.status.code()];
        assert!(
            codes.contains(&Some(0)) && codes.contains(&Some(1)),
            "round {round}: {codes:?}"
        );
        let loser = if a.status.success() { &b } else { &a };
        let err = String::from_utf8_lossy(&loser.stderr);
        assert!(
            err.contains(&format!("{name}: already exists")),
            "round {round}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(p.get(&name)["config"]["user.golden.template"], "tpl");
    }
}

#[test]
fn derive_rides_over_a_create_swapping_pristine() {
    let p = Project::new("cc-swap");
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["tpl"]).code, 0);
    let done = std::sync::atomic::AtomicBool::new(false);
    let creates = std::sync::atomic::AtomicUsize::new(0);
    let mut batches = 0;
    // Set however the derives end (a failed assertion too), or the creator
    // would loop on and the test would hang instead of failing.
    struct Done<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    std::thread::scope(|s| {
        let creator = s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let r = p.tool("golden-create", &["-q", "tpl"]);
                r.assert_ok();
                creates.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // Derive batches go on until at least two swaps happened among them
        // (synchronised on the creates done, not on how fast the machine is).
        let _done = Done(&done);
        while batches < 4 || creates.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            assert!(batches < 40, "the creates never got through");
            let names: Vec<String> = (0..5).map(|i| format!("b{batches}-{i}")).collect();
            let mut args = vec!["-q", "-j", "2", "tpl"];
            args.extend(names.iter().map(String::as_str));
            let r = p.tool("golden-derive", &args);
            assert_eq!(r.code, 0, "batch {batches}: {}", r.stderr);
            batches += 1;
        }
        drop(_done);
        creator.join().unwrap();
    });
    assert_eq!(p.instances().len(), 1 + 5 * batches);
    assert_eq!(p.snapshots_but_generations("tpl"), ["pristine"]);
}
