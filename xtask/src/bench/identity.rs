//! Every clone its own machine: what it costs golden-derive. Twenty clones of
//! a real Debian 12 golden (the `debian12` image of `tests/incus.sh`, RSA,
//! ECDSA and Ed25519 host keys) whose pristine holds golden-create's identity
//! templates, against the same with `--keep-identity` and against twenty
//! plain `incus copy` of the pristine, interleaved. The identity is then made
//! at each clone's first start, in the guest: the last row says what that
//! start costs, against a start of a clone that keeps the template's. The
//! files-API reset (a pristine without templates) is measured for the record.

use std::process::Stdio;
use std::time::Instant;

use golden_tests::{command, incus_ok};

use super::{delete_all, drop_project, median, project, rounds, timed, tool, Row};

/// A provisioned Debian golden, as the tests make it; without its RSA host
/// key unless `rsa`; `init`: more `incus init` arguments (a NIC).
pub(super) fn debian_golden(p: &str, name: &str, rsa: bool, init: &[&str]) {
    let script = if rsa {
        "true"
    } else {
        "rm /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_rsa_key.pub"
    };
    golden_tests::debian_golden(p, name, init, script);
}

pub fn bench_identity(rows: &mut Vec<Row>, n: usize) {
    let p = "bench-identity";
    project(p);
    debian_golden(p, "deb", true, &[]);
    // The same golden, its pristine taken by hand: no templates say so, and
    // golden-derive resets each clone through the files API.
    debian_golden(p, "deb-files", true, &[]);
    incus_ok(&[
        "config",
        "unset",
        "deb-files",
        "user.golden.renews",
        "--project",
        p,
    ]);
    incus_ok(&[
        "snapshot",
        "delete",
        "deb-files",
        "pristine",
        "--project",
        p,
    ]);
    incus_ok(&[
        "snapshot",
        "create",
        "deb-files",
        "pristine",
        "--project",
        p,
    ]);
    let names: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let derive = |tpl: &str, keep: bool| {
        let mut c = tool("golden-derive");
        c.args(["-q", tpl, "--project", p]).args(&names);
        if keep {
            c.arg("--keep-identity");
        }
        let t = timed(&mut c);
        delete_all(p, &names);
        t
    };
    // What a user types: one copy after another.
    let copies = || {
        let t = Instant::now();
        for name in &names {
            let st = command("incus")
                .args(["copy", "deb/pristine", name, "--project", p])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "incus copy {name}");
        }
        let secs = t.elapsed().as_secs_f64();
        delete_all(p, &names);
        secs
    };
    let (mut own, mut keep, mut plain, mut files) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds() {
        own.push(derive("deb", false));
        keep.push(derive("deb", true));
        plain.push(copies());
        files.push(derive("deb-files", false));
    }
    let (own, keep, plain, files) = (median(own), median(keep), median(plain), median(files));
    let (first, kept_first) = first_starts(p);
    rows.push(Row {
        work: format!("derive {n} clones of a Debian golden, each its own machine"),
        ours: own,
        baseline_name: "the same with --keep-identity".into(),
        baseline: keep,
        target: Some(1.3),
        note: "the identity templates travel with the copy: nothing per clone".into(),
    });
    rows.push(Row {
        work: format!("derive {n} clones of a Debian golden, against plain copies"),
        ours: own,
        baseline_name: format!("{n} incus copy of the pristine, one after another"),
        baseline: plain,
        target: Some(1.3),
        note: format!(
            "a pristine without templates, reset by golden-derive through the files API \
             (RSA-3072 keys made by the tool): {files:.2} s, {:.1}x the copies",
            files / plain
        ),
    });
    rows.push(Row {
        work: "first start of a clone to systemd running, identity renewed".into(),
        ours: first,
        baseline_name: "the same, --keep-identity".into(),
        baseline: kept_first,
        target: None,
        note: "where the identity's cost went: the host keys made in the guest, at its first \
               boot, before sshd"
            .into(),
    });
    drop_project(p);
}

/// Medians of a clone's first start until systemd says `running`: renewed
/// by the templates, and keeping the template's identity (interleaved; each
/// clone alone, the template stopped).
fn first_starts(p: &str) -> (f64, f64) {
    let start = |keep: bool| {
        let mut c = tool("golden-derive");
        c.args(["-q", "deb", "s", "--project", p]);
        if keep {
            c.arg("--keep-identity");
        }
        timed(&mut c);
        let t = Instant::now();
        incus_ok(&["start", "s", "--project", p]);
        let state = golden_tests::booted(p, "s");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(state, "running", "s booted {state}");
        delete_all(p, &["s".to_string()]);
        secs
    };
    let (mut own, mut kept) = (vec![], vec![]);
    for _ in 0..rounds() {
        own.push(start(false));
        kept.push(start(true));
    }
    (median(own), median(kept))
}
