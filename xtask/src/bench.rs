//! `make bench` (`cargo run --release -p xtask -- bench`): golden's tools against what users do today, on the same private
//! daemon, as ratios of interleaved runs (A B A B ..., median of each).
//!
//! Setup (fixtures, clean-up between rounds) is not timed; only the work is.
//! BENCH_FULL=1 adds the larger sizes. Results go to target/bench/ as JSON and CSV.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use golden_tests::{command, incus, incus_ok};

pub mod cluster;
use serde_json::json;

mod identity;
mod refresh;

struct Row {
    work: String,
    ours: f64,
    baseline_name: String,
    baseline: f64,
    target: Option<f64>,
    note: String,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.ours / self.baseline
    }
    fn holds(&self) -> String {
        match self.target {
            Some(t) if self.ratio() <= t => "yes".into(),
            Some(_) => "NO".into(),
            None => "-".into(),
        }
    }
}

pub(crate) fn full() -> bool {
    std::env::var_os("BENCH_FULL").is_some()
}

fn rounds() -> usize {
    if full() {
        5
    } else {
        3
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs `cmd`, which must succeed; returns its wall time in seconds.
pub(crate) fn timed(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

pub(crate) fn tool(name: &str) -> Command {
    command(bin_dir().join(name))
}

fn bin_dir() -> PathBuf {
    let mut d = std::env::current_exe().unwrap();
    d.pop();
    d
}

/// Runs `f` on 8 threads over `items` (fixture making and clean-up, not timed).
fn par<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(x) = items.get(i) else { break };
                f(x);
            });
        }
    });
}

pub(crate) fn project(name: &str) {
    // A leftover of an interrupted run, instances and all.
    drop_project(name);
    incus_ok(&[
        "project",
        "create",
        name,
        "-c",
        "features.images=false",
        "-c",
        "features.profiles=false",
    ]);
}

pub(crate) fn drop_project(name: &str) {
    let names = golden_tests::instance_names(name);
    par(&names, |n| {
        let _ = incus(&["delete", "-f", n, "--project", name]);
    });
    let _ = incus(&["project", "delete", name]);
}

pub(crate) fn delete_all(project: &str, names: &[String]) {
    par(names, |n| {
        // A golden with clones is protected from deletion (golden-derive).
        let unprotect = ["config", "unset", n, "security.protection.delete"];
        let _ = incus(&[&unprotect[..], &["--project", project]].concat());
        let _ = incus(&["delete", "-f", n, "--project", project]);
    });
}

// ---- 1. derive N clones ----------------------------------------------------

fn bench_derive(rows: &mut Vec<Row>, n: usize) {
    let p = format!("bench-derive-{n}");
    project(&p);
    incus_ok(&["init", "busybox", "tpl", "--project", &p]);
    timed(tool("golden-create").args(["-q", "tpl", "--project", &p]));
    let names: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();

    let ours = |jobs: Option<&str>| {
        let mut c = tool("golden-derive");
        c.args(["-q", "tpl", "--project", &p]).args(&names);
        if let Some(j) = jobs {
            c.args(["-j", j]);
        }
        let t = timed(&mut c);
        delete_all(&p, &names);
        t
    };
    // The seed's script: find the project by listing everything, then copy, one by one.
    let sequential = || {
        let t = Instant::now();
        for name in &names {
            let out = command("incus")
                .args(["list", "--all-projects", "--format", "json"])
                .output()
                .unwrap();
            assert!(out.status.success());
            let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
            let proj = list.iter().find(|i| i["name"] == "tpl").unwrap()["project"]
                .as_str()
                .unwrap()
                .to_string();
            let st = command("incus")
                .args(["copy", "tpl/pristine", name, "--project", &proj])
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{}",
                String::from_utf8_lossy(&st.stderr)
            );
        }
        let secs = t.elapsed().as_secs_f64();
        delete_all(&p, &names);
        secs
    };
    // The best by hand: every copy at once.
    let parallel = || {
        let t = Instant::now();
        let children: Vec<_> = names
            .iter()
            .map(|name| {
                command("incus")
                    .args(["copy", "tpl/pristine", name, "--project", &p])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let secs = t.elapsed().as_secs_f64();
        delete_all(&p, &names);
        secs
    };

    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for _ in 0..rounds() {
        a.push(ours(None));
        b.push(sequential());
        c.push(parallel());
    }
    let ours_t = median(a);
    rows.push(Row {
        work: format!("derive {n} clones (btrfs), default -j"),
        ours: ours_t,
        baseline_name: "seed loop: list all + incus copy, one by one".into(),
        baseline: median(b),
        target: Some(0.5),
        note: String::new(),
    });
    rows.push(Row {
        work: format!("derive {n} clones (btrfs), default -j"),
        ours: ours_t,
        baseline_name: format!("{n} incus copy in parallel"),
        baseline: median(c.clone()),
        target: Some(1.1),
        note: String::new(),
    });
    let base = median(c);
    for j in ["1", "2", "4", "8", "16"] {
        let t = median((0..rounds()).map(|_| ours(Some(j))).collect());
        rows.push(Row {
            work: format!("derive {n} clones, -j {j}"),
            ours: t,
            baseline_name: format!("{n} incus copy in parallel"),
            baseline: base,
            target: None,
            note: "sweep".into(),
        });
    }
    drop_project(&p);
}

// ---- 2. list goldens ------------------------------------------------------

fn bench_list(rows: &mut Vec<Row>, instances: usize, projects: usize) {
    let names: Vec<(String, String, bool)> = (0..instances)
        .map(|i| {
            (
                format!("bench-list-{}", i % projects),
                format!("i{i}"),
                i % 5 == 0,
            )
        })
        .collect();
    let plist: Vec<String> = (0..projects).map(|p| format!("bench-list-{p}")).collect();
    par(&plist, |p| project(p));
    // Each golden has two generations kept before its pristine; one
    // instance in five others is a clone of the golden before it (its
    // provenance keys as golden-derive writes them), of the first generation.
    par(&names, |(p, n, golden)| {
        incus_ok(&["init", "busybox", n, "--project", p, "-q"]);
        if *golden {
            for s in ["pristine.g1", "pristine.g2", "pristine"] {
                incus_ok(&["snapshot", "create", n, s, "--project", p]);
            }
        }
    });
    par(&names, |(p, n, golden)| {
        let i: usize = n[1..].parse().unwrap();
        if !*golden && i % 5 == 1 {
            let (tp, tn, _) = &names[i - 1];
            let created = String::from_utf8_lossy(
                &command("incus")
                    .args([
                        "query",
                        &format!("/1.0/instances/{tn}/snapshots/pristine.g1?project={tp}"),
                    ])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .to_string();
            let created: serde_json::Value = serde_json::from_str(&created).unwrap();
            incus_ok(&[
                "config",
                "set",
                n,
                "--project",
                p,
                &format!("user.golden.project={tp}"),
                &format!("user.golden.template={tn}"),
                &format!(
                    "user.golden.created_at={}",
                    created["created_at"].as_str().unwrap()
                ),
            ]);
        }
    });

    let ours = || timed(tool("golden-ls").args(["-f", "json"]));
    let baseline = || {
        let t = Instant::now();
        let out = command("incus")
            .args(["project", "list", "-f", "csv", "-c", "n"])
            .output()
            .unwrap();
        for p in String::from_utf8_lossy(&out.stdout).lines() {
            let p = p.trim_end_matches(" (current)");
            let o = command("incus")
                .args(["list", "--format", "json", "--project", p])
                .output()
                .unwrap();
            assert!(o.status.success());
        }
        t.elapsed().as_secs_f64()
    };
    let floor = || timed(command("incus").args(["query", "/1.0/instances?all-projects=true"]));
    let rec = |r: u8| {
        timed(command("incus").args([
            "query",
            &format!("/1.0/instances?all-projects=true&recursion={r}"),
        ]))
    };
    let (mut a, mut b, mut c, mut r1, mut r2) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..rounds() {
        a.push(ours());
        b.push(baseline());
        c.push(floor());
        r1.push(rec(1));
        r2.push(rec(2));
    }
    let calls_of = |extra: &[&str]| {
        let out = tool("golden-ls")
            .env("GOLDEN_TRACE", "1")
            .args(["-f", "json"])
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("golden: "))
            .count()
    };
    let calls = calls_of(&[]);
    let listings = format!(
        "{calls} daemon calls; --clones {}, --generations {}, --kept {}",
        calls_of(&["--clones"]),
        calls_of(&["--generations"]),
        calls_of(&["--kept"])
    );
    let goldens = names.iter().filter(|n| n.2).count();
    let clones = (0..instances).filter(|i| i % 5 == 1).count();
    let ours_t = median(a);
    let what = format!("list goldens, {instances} instances in {projects} projects");
    rows.push(Row {
        work: what.clone(),
        ours: ours_t,
        baseline_name: "incus list --format json per project".into(),
        baseline: median(b),
        target: Some(0.3),
        note: format!("{listings}; {goldens} goldens of 3 generations each, {clones} clones"),
    });
    rows.push(Row {
        work: what.clone(),
        ours: ours_t,
        baseline_name: "floor: one GET /1.0/instances (recursion=0)".into(),
        baseline: median(c),
        target: Some(2.0),
        note: format!("{calls} daemon calls"),
    });
    rows.push(Row {
        work: format!("raw GET instances recursion=2 vs =1, {instances} instances"),
        ours: median(r2),
        baseline_name: "recursion=1".into(),
        baseline: median(r1),
        target: None,
        note: "why golden-ls uses recursion=1".into(),
    });
    par(&plist, |p| drop_project(p));
}

// ---- 3. what CoW buys -------------------------------------------------------

fn bench_cow(rows: &mut Vec<Row>, mib: usize) {
    let p = "bench-cow";
    project(p);
    let big = golden_tests::big_file(mib);
    for (tpl, pool) in [("tpl-btrfs", "gbtrfs"), ("tpl-dir", "gdir")] {
        incus_ok(&["init", "busybox", tpl, "-s", pool, "--project", p, "-q"]);
        incus_ok(&[
            "file",
            "push",
            "-q",
            big.path().to_str().unwrap(),
            &format!("{tpl}/big.bin"),
            "--project",
            p,
        ]);
        timed(tool("golden-create").args(["-q", tpl, "--project", p]));
    }
    let (mut a, mut b) = (vec![], vec![]);
    let mut cow_said = (String::new(), String::new());
    for r in 0..rounds() {
        for (tpl, out) in [("tpl-btrfs", &mut a), ("tpl-dir", &mut b)] {
            let clone = format!("{tpl}-c{r}");
            let t = Instant::now();
            let o = tool("golden-derive")
                .args(["-q", "-f", "json", "-o", "cow", tpl, &clone, "--project", p])
                .output()
                .unwrap();
            out.push(t.elapsed().as_secs_f64());
            assert!(o.status.success());
            let said = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if tpl == "tpl-btrfs" {
                cow_said.0 = said
            } else {
                cow_said.1 = said
            }
        }
    }
    let ex = golden_tests::btrfs_exclusive_bytes("gbtrfs", p, "tpl-btrfs-c0");
    let full = golden_tests::dir_bytes("gdir", p, "tpl-dir-c0");
    rows.push(Row {
        work: format!("derive 1 clone of a {mib} MiB template"),
        ours: median(a),
        baseline_name: "the same on the dir pool".into(),
        baseline: median(b),
        target: None,
        note: format!(
            "extra disk per clone: btrfs {} KiB, dir {} MiB; cow said {} / {}",
            ex / 1024,
            full >> 20,
            cow_said.0,
            cow_said.1
        ),
    });
    drop_project(p);
}

// ---- 4. client overhead ------------------------------------------------------

fn bench_overhead(rows: &mut Vec<Row>) {
    let n = 20;
    let socket = format!("{}/unix.socket", golden_tests::incus_dir());
    let via_incus = || {
        let t = Instant::now();
        for _ in 0..n {
            timed(command("incus").args(["query", "/1.0/instances?all-projects=true"]));
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let direct = || {
        let t = Instant::now();
        for _ in 0..n {
            timed(Command::new("curl").args([
                "-sf",
                "--unix-socket",
                &socket,
                "http://incus/1.0/instances?all-projects=true",
            ]));
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let ours_process = || {
        let t = Instant::now();
        for _ in 0..n {
            timed(tool("golden-ls").arg("--version"));
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for _ in 0..rounds() {
        a.push(via_incus());
        b.push(direct());
        c.push(ours_process());
    }
    let (a, b, c) = (median(a), median(b), median(c));
    rows.push(Row {
        work: "one API call through `incus query`".into(),
        ours: a,
        baseline_name: "the same call straight on the socket (curl)".into(),
        baseline: b,
        target: None,
        note: format!(
            "a direct client would save ~{:.0} ms a call; our own process costs {:.1} ms",
            (a - b) * 1000.0,
            c * 1000.0
        ),
    });
}

// ---- 5. the native client against the same calls made with curl -------------

fn curl_socket() -> Command {
    let mut c = Command::new("curl");
    c.args([
        "-sf",
        "--unix-socket",
        &format!("{}/unix.socket", golden_tests::incus_dir()),
    ]);
    c
}

fn curl_get(path: &str) -> Vec<u8> {
    let out = curl_socket()
        .arg(format!("http://incus{path}"))
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {path}");
    out.stdout
}

/// One request: the tools' own client (in process), `incus query`, curl.
fn bench_one_request(rows: &mut Vec<Row>) {
    // The tools' client in this process reads the same environment as the tools.
    std::env::set_var("INCUS_DIR", golden_tests::incus_dir());
    std::env::set_var("INCUS_CONF", golden_tests::incus_conf());
    let incus = golden::incus::Incus::new(None);
    incus
        .project_exists("default")
        .expect("the native client answers");
    let n = 50;
    let native = || {
        let t = Instant::now();
        for _ in 0..n {
            incus.project_exists("default").unwrap();
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let query = || {
        let t = Instant::now();
        for _ in 0..n {
            timed(command("incus").args(["query", "/1.0/projects/default"]));
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let curl = || {
        let t = Instant::now();
        for _ in 0..n {
            curl_get("/1.0/projects/default");
        }
        t.elapsed().as_secs_f64() / n as f64
    };
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for _ in 0..rounds() {
        a.push(native());
        b.push(query());
        c.push(curl());
    }
    let (a, b, c) = (median(a), median(b), median(c));
    rows.push(Row {
        work: "one request (GET a project), the tools' native client".into(),
        ours: a,
        baseline_name: "the same through `incus query`".into(),
        baseline: b,
        target: None,
        note: format!("curl on the socket: {:.1} ms (a process each)", c * 1000.0),
    });
}

/// golden-ls against the same API calls made with curl, in the same parallel
/// rounds: instances and pools at once, then every pool's volumes at once.
fn bench_list_native(rows: &mut Vec<Row>, instances: usize) {
    let p = "bench-native-list";
    project(p);
    let names: Vec<String> = (0..instances).map(|i| format!("i{i}")).collect();
    par(&names, |n| {
        incus_ok(&["init", "busybox", n, "--project", p, "-q"]);
    });
    par(&names[..instances / 5], |n| {
        incus_ok(&["snapshot", "create", n, "pristine", "--project", p]);
    });
    let ours = || timed(tool("golden-ls").args(["-f", "json"]));
    let same_calls = || {
        let t = Instant::now();
        std::thread::scope(|s| {
            let inst = s.spawn(|| curl_get("/1.0/instances?recursion=1&all-projects=true"));
            let pools: Vec<serde_json::Value> = serde_json::from_slice::<serde_json::Value>(
                &curl_get("/1.0/storage-pools?recursion=1"),
            )
            .unwrap()["metadata"]
                .as_array()
                .unwrap()
                .clone();
            let vols: Vec<_> = pools
                .iter()
                .map(|pool| {
                    let name = pool["name"].as_str().unwrap().to_string();
                    s.spawn(move || {
                        curl_get(&format!(
                            "/1.0/storage-pools/{name}/volumes?recursion=1&all-projects=true\
                             &filter=type%20eq%20container%20or%20type%20eq%20virtual-machine"
                        ))
                    })
                })
                .collect();
            for v in vols {
                v.join().unwrap();
            }
            inst.join().unwrap();
        });
        t.elapsed().as_secs_f64()
    };
    let (mut a, mut b) = (vec![], vec![]);
    for _ in 0..rounds() + 2 {
        a.push(ours());
        b.push(same_calls());
    }
    rows.push(Row {
        work: format!("golden-ls, {instances} instances"),
        ours: median(a),
        baseline_name: "the same API calls with curl, same parallel rounds".into(),
        baseline: median(b),
        target: Some(1.2),
        note: "process start, TLS-free socket, parsing and output included".into(),
    });
    drop_project(p);
}

/// derive 20 against 20 copy POSTs and operation waits made with curl, 4 at a
/// time (golden-derive's default -j).
fn bench_derive_native(rows: &mut Vec<Row>, n: usize) {
    let p = "bench-native-derive";
    project(p);
    incus_ok(&["init", "busybox", "tpl", "--project", p]);
    timed(tool("golden-create").args(["-q", "tpl", "--project", p]));
    let names: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let ours = || {
        let t = timed(
            tool("golden-derive")
                .args(["-q", "tpl", "--project", p])
                .args(&names),
        );
        delete_all(p, &names);
        t
    };
    let same_calls = || {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let t = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(name) = names.get(i) else { break };
                    let body = json!({
                        "name": name, "type": "container",
                        "source": {"type": "copy", "source": "tpl/pristine", "project": p},
                    });
                    let out = curl_socket()
                        .args(["-X", "POST", "-d", &body.to_string()])
                        .arg(format!("http://incus/1.0/instances?project={p}"))
                        .output()
                        .unwrap();
                    let op: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    let id = op["metadata"]["id"].as_str().unwrap().to_string();
                    curl_get(&format!("/1.0/operations/{id}/wait?timeout=600"));
                });
            }
        });
        let secs = t.elapsed().as_secs_f64();
        delete_all(p, &names);
        secs
    };
    let (mut a, mut b) = (vec![], vec![]);
    for _ in 0..rounds() {
        a.push(ours());
        b.push(same_calls());
    }
    rows.push(Row {
        work: format!("derive {n} clones, -j 4"),
        ours: median(a),
        baseline_name: format!("{n} copy POSTs + operation waits with curl, 4 at a time"),
        baseline: median(b),
        target: Some(1.1),
        note: "ours also checks names, template, pools, config before the first copy".into(),
    });
    drop_project(p);
}

/// BENCH_ONLY=native,derive,... runs those parts alone (default: all).
fn wanted(part: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|p| p == part))
}

pub fn run() {
    golden_tests::require_daemon();
    let started = Instant::now();
    let mut rows = Vec::new();
    if wanted("native") {
        bench_one_request(&mut rows);
        bench_list_native(&mut rows, 100);
        bench_derive_native(&mut rows, 20);
    }
    if wanted("overhead") {
        bench_overhead(&mut rows);
    }
    if wanted("derive") {
        bench_derive(&mut rows, 20);
        if full() {
            bench_derive(&mut rows, 100);
        }
    }
    if wanted("identity") {
        identity::bench_identity(&mut rows, 20);
    }
    if wanted("refresh") {
        refresh::bench_refresh(&mut rows, 20);
    }
    if wanted("cow") {
        bench_cow(&mut rows, if full() { 500 } else { 200 });
    }
    if wanted("list") {
        // Two sizes: the number of calls must not grow with them.
        bench_list(&mut rows, 20, 4);
        bench_list(&mut rows, 100, 20);
        if full() {
            bench_list(&mut rows, 1000, 100);
        }
    }
    report(&rows, started.elapsed().as_secs());
}

fn report(rows: &[Row], secs: u64) {
    let machine = format!(
        "{} cores, {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        String::from_utf8_lossy(&Command::new("uname").arg("-sr").output().unwrap().stdout).trim()
    );
    let date = String::from_utf8_lossy(
        &Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    println!(
        "golden bench, {date}, {machine}, median of {} interleaved rounds ({secs} s)\n",
        rounds()
    );
    println!("| work | ours (s) | baseline | baseline (s) | ratio | target | holds | note |");
    println!("|---|---:|---|---:|---:|---:|---|---|");
    for r in rows {
        println!(
            "| {} | {:.3} | {} | {:.3} | {:.2} | {} | {} | {} |",
            r.work,
            r.ours,
            r.baseline_name,
            r.baseline,
            r.ratio(),
            r.target.map(|t| format!("≤ {t}")).unwrap_or("-".into()),
            r.holds(),
            r.note
        );
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let json: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({"work": r.work, "ours_s": r.ours, "baseline": r.baseline_name, "baseline_s": r.baseline,
                   "ratio": r.ratio(), "target": r.target, "holds": r.holds(), "note": r.note,
                   "date": date, "machine": machine})
        })
        .collect();
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    let mut w = csv::Writer::from_path(dir.join("results.csv")).unwrap();
    w.write_record([
        "work",
        "ours_s",
        "baseline",
        "baseline_s",
        "ratio",
        "target",
        "holds",
        "note",
        "date",
        "machine",
    ])
    .unwrap();
    for r in rows {
        w.write_record([
            r.work.clone(),
            format!("{:.4}", r.ours),
            r.baseline_name.clone(),
            format!("{:.4}", r.baseline),
            format!("{:.3}", r.ratio()),
            r.target.map(|t| t.to_string()).unwrap_or_default(),
            r.holds(),
            r.note.clone(),
            date.clone(),
            machine.clone(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
    println!("\nwritten: target/bench/results.json, target/bench/results.csv");
}
