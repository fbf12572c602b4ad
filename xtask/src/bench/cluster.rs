//! `make bench` on the private 3-member cluster (`tests/cluster.sh`,
//! `xtask bench-cluster`): 12 clones of a template on m1 holding a file of
//! incompressible bytes (300 MiB; BENCH_MIB to change), made
//!
//! 1. beside the template (the default: CoW);
//! 2. spread over the 3 members the naive way: `incus copy --target`, round
//!    robin, one at a time (several at once fail in Incus 6.0), every clone
//!    off m1 a full copy over the network;
//! 3. spread by `golden-derive --spread` (one full copy per member, then CoW
//!    copies of it), at -j 1, 4 (the default) and 8;
//! 4. spread through an image: `golden-publish` (compressed), then `incus init
//!    IMAGE --target M` (unpacked once per member, then CoW).
//!
//! Wall time of the work alone, and the extra disk each member's pool holds
//! after it (the daemon's pool resources, read after a `sync` in each
//! member's mount namespace). Results go to target/bench/cluster.json.

use std::process::Command;
use std::time::Instant;

use golden_tests::{big_file, cluster_dir, command, incus, incus_ok, use_cluster};
use serde_json::json;

use super::{drop_project, full, median, project, timed, tool};

const MEMBERS: [&str; 3] = ["m1", "m2", "m3"];
const P: &str = "bench-cluster";
const N: usize = 12;

struct Row {
    work: String,
    secs: f64,
    /// Extra MiB on each member's pool.
    extra: Vec<f64>,
}

fn rounds() -> usize {
    if full() {
        3
    } else {
        1
    }
}

/// Bytes used in member `m`'s pool `local`, once btrfs has cleaned up what
/// was deleted (it frees space later, in the background) and after a sync,
/// in the member's mount namespace.
fn used(m: &str) -> f64 {
    let pid = std::fs::read_to_string(format!("{}.state/{m}.pid", cluster_dir())).unwrap();
    let pool = format!("{}/{m}/storage-pools/local", cluster_dir());
    let st = Command::new("nsenter")
        .args(["-t", pid.trim(), "-m", "--", "sh", "-c"])
        .arg(format!("btrfs subvolume sync {pool} >/dev/null && sync"))
        .status()
        .unwrap();
    assert!(st.success(), "sync in {m}'s namespace");
    let out = incus_ok(&[
        "query",
        &format!("/1.0/storage-pools/local/resources?target={m}"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["space"]["used"].as_f64().unwrap()
}

fn usage() -> Vec<f64> {
    MEMBERS.iter().map(|m| used(m)).collect()
}

fn names() -> Vec<String> {
    (1..=N).map(|i| format!("c{i}")).collect()
}

/// Times `work` (rounds, median), with the extra disk it left on each member
/// (of the last round), and removes the clones after each round.
fn measure(rows: &mut Vec<Row>, work: &str, mut f: impl FnMut() -> f64) {
    let mut times = Vec::new();
    let mut extra = Vec::new();
    for _ in 0..rounds() {
        let before = usage();
        times.push(f());
        let after = usage();
        extra = after
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b) / (1024.0 * 1024.0))
            .collect();
        super::delete_all(
            P,
            &golden_tests::instance_names(P)
                .into_iter()
                .filter(|n| n != "tpl")
                .collect::<Vec<_>>(),
        );
    }
    let row = Row {
        work: work.to_string(),
        secs: median(times),
        extra,
    };
    println!(
        "| {} | {:.2} | {:.0} | {:.0} | {:.0} |",
        row.work, row.secs, row.extra[0], row.extra[1], row.extra[2]
    );
    rows.push(row);
}

pub fn run() {
    use_cluster();
    golden_tests::require_daemon();
    let mib: usize = std::env::var("BENCH_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    project(P);
    incus_ok(&["init", "busybox", "tpl", "--project", P, "--target", "m1"]);
    let f = big_file(mib);
    incus_ok(&[
        "file",
        "push",
        f.path().to_str().unwrap(),
        "tpl/root/big",
        "--project",
        P,
    ]);
    drop(f);
    timed(tool("golden-create").args(["-q", "tpl", "--project", P]));

    println!(
        "golden bench on a 3-member cluster (btrfs pool `local` on each), {N} clones of a \
         template on m1 holding {mib} MiB, median of {} round(s)\n",
        rounds()
    );
    println!("| work | seconds | extra MiB on m1 | on m2 | on m3 |");
    println!("|---|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    measure(
        &mut rows,
        "golden-derive, beside the template (default)",
        || {
            timed(
                tool("golden-derive")
                    .args(["-q", "tpl", "--project", P, "--count"])
                    .arg(N.to_string()),
            )
        },
    );
    measure(
        &mut rows,
        "incus copy --target, round robin, one at a time (naive spread)",
        || {
            let t = Instant::now();
            for (i, name) in names().iter().enumerate() {
                let out = command("incus")
                    .args(["copy", "tpl/pristine", name, "--project", P, "--target"])
                    .arg(MEMBERS[i % 3])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            t.elapsed().as_secs_f64()
        },
    );
    for j in ["1", "4", "8"] {
        let work = format!("golden-derive --spread -j {j} (one full copy per member, then CoW)");
        measure(&mut rows, &work, || {
            timed(
                tool("golden-derive")
                    .args(["-q", "tpl", "--project", P, "--spread", "-j", j, "--count"])
                    .arg(N.to_string()),
            )
        });
    }
    let alias = format!("{P}-img");
    measure(
        &mut rows,
        "golden-publish, then incus init IMAGE --target, round robin",
        || {
            let t = Instant::now();
            timed(tool("golden-publish").args(["-q", "tpl", "--project", P, "--alias", &alias]));
            std::thread::scope(|s| {
                for (k, m) in MEMBERS.iter().enumerate() {
                    let alias = &alias;
                    s.spawn(move || {
                        for name in names().iter().skip(k).step_by(3) {
                            let out = command("incus")
                                .args(["init", alias, name, "--project", P, "--target", m])
                                .output()
                                .unwrap();
                            assert!(
                                out.status.success(),
                                "{}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                        }
                    });
                }
            });
            let secs = t.elapsed().as_secs_f64();
            let _ = incus(&["image", "delete", &alias, "--project", P]);
            secs
        },
    );
    drop_project(P);

    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let json: Vec<_> = rows
        .iter()
        .map(|r| json!({"work": r.work, "seconds": r.secs, "extra_mib": r.extra, "members": MEMBERS, "template_mib": mib}))
        .collect();
    std::fs::write(
        dir.join("cluster.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    println!("\nwritten: target/bench/cluster.json");
}
