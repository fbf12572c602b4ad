//! Every clone its own machine: what the identity reset costs. Twenty clones
//! of a real Debian 12 golden (the `debian12` image of `tests/incus.sh`),
//! with `--keep-identity`, with the reset, and with the reset of a golden
//! without an RSA host key: the difference of the last two is what RSA keys
//! cost, the rest is the files API's work.

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
    debian_golden(p, "deb-norsa", false, &[]);
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
    let (mut keep, mut reset, mut norsa) = (vec![], vec![], vec![]);
    for _ in 0..rounds() {
        keep.push(derive("deb", true));
        reset.push(derive("deb", false));
        norsa.push(derive("deb-norsa", false));
    }
    let (keep, reset, norsa) = (median(keep), median(reset), median(norsa));
    let per = |s: f64| s * 1000.0 / n as f64;
    rows.push(Row {
        work: format!("derive {n} clones of a Debian golden, identity reset"),
        ours: reset,
        baseline_name: "the same with --keep-identity".into(),
        baseline: keep,
        target: Some(1.3),
        note: format!(
            "RSA-3072 host keys: {:.0} ms a clone (reset {:.2} s vs without an RSA key {:.2} s); \
             the rest (files API, ed25519 and ECDSA keys): {:.0} ms a clone",
            per(reset - norsa),
            reset,
            norsa,
            per(norsa - keep)
        ),
    });
    rows.push(Row {
        work: format!("derive {n} clones of a Debian golden without an RSA host key, reset"),
        ours: norsa,
        baseline_name: "the same with --keep-identity".into(),
        baseline: keep,
        target: Some(1.3),
        note: "what the reset costs when no RSA key is to be made".into(),
    });
    drop_project(p);
}
