//! golden-ls against the real private Incus.

use golden_tests::*;
use serde_json::Value;

fn ls(args: &[&str]) -> Run {
    run(golden("golden-ls").args(args))
}

fn rows_of(project: &Project) -> Vec<Value> {
    let r = ls(&["-f", "json", "-p", &project.name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    json_lines(&r.stdout)
}

#[test]
fn lists_goldens_of_two_projects_with_pool_driver_and_cow() {
    let a = Project::new("ls-a");
    let b = Project::new("ls-b");
    a.golden("gold-btrfs", None);
    a.instance("plain", None);
    a.instance("other-snap", None);
    a.snapshot("other-snap", "snap0");
    b.golden("gold-dir", Some("gdir"));

    // All projects by default: both goldens, no non-golden.
    let r = ls(&["-f", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mine: Vec<Value> = json_lines(&r.stdout)
        .into_iter()
        .filter(|v| v["project"] == a.name.as_str() || v["project"] == b.name.as_str())
        .collect();
    let names: Vec<&str> = mine
        .iter()
        .map(|v| v["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gold-btrfs", "gold-dir"]);

    let gb = &mine[0];
    assert_eq!(gb["project"], a.name.as_str());
    assert_eq!(gb["type"], "container");
    assert_eq!(gb["status"], "Stopped");
    assert_eq!(gb["snapshot"], "pristine");
    assert_eq!(
        gb["created_at"],
        a.snapshot_created_at("gold-btrfs", "pristine").as_str()
    );
    assert_eq!(gb["pool"], "gbtrfs");
    assert_eq!(gb["driver"], "btrfs");
    assert_eq!(gb["cow"], true);
    assert_eq!(gb["derived"], 0);
    assert_eq!(gb["stale"], 0);
    assert_eq!(gb["location"], Value::Null);

    // What the README promises: `golden-ls -f json | jq` parses.
    let jq = run_with_stdin(command("jq").args(["-c", "."]), &r.stdout);
    assert_eq!(jq.code, 0, "jq: {}", jq.stderr);
    assert_eq!(jq.stdout.lines().count(), r.stdout.lines().count());

    let gd = &mine[1];
    assert_eq!(gd["pool"], "gdir");
    assert_eq!(gd["driver"], "dir");
    assert_eq!(gd["cow"], false);
}

#[test]
fn in_a_pipe_the_first_line_is_the_tsv_header() {
    let p = Project::new("ls-tsv");
    p.golden("g1", None);
    let r = ls(&["-p", &p.name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "project\tinstance\ttype\tstatus\tsnapshot\tcreated_at\tpool\tdriver\tcow\tvolumes\tderived\tstale\tlocation"
    );
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(&row[..4], [p.name.as_str(), "g1", "container", "Stopped"]);
    assert_eq!(lines.next(), None);
}

#[test]
fn no_header_and_one_column_give_bare_names() {
    let p = Project::new("ls-bare");
    p.golden("zeta", None);
    p.golden("alpha", None);
    p.instance("not-golden", None);
    let r = ls(&["-H", "-o", "instance", "-p", &p.name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "alpha\nzeta\n");
}

#[test]
fn table_format_has_an_uppercase_header_and_aligned_rows() {
    let p = Project::new("ls-table");
    p.golden("g1", None);
    let r = ls(&[
        "-f",
        "table",
        "-o",
        "instance,pool,cow,location",
        "-p",
        &p.name,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "INSTANCE  POOL    COW   LOCATION\ng1        gbtrfs  true  -\n"
    );
}

#[test]
fn names_filter_and_missing_or_non_golden_names_fail_with_exit_1() {
    let p = Project::new("ls-names");
    p.golden("g1", None);
    p.golden("g2", None);
    p.instance("plain", None);
    let r = ls(&["-H", "-o", "instance", "-p", &p.name, "g2"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "g2\n"), "{}", r.stderr);

    let r = ls(&[
        "-H", "-o", "instance", "-p", &p.name, "g1", "plain", "ghost",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "g1\n");
    assert!(r.stderr.contains("plain: not a golden"), "{}", r.stderr);
    assert!(r.stderr.contains("golden-create plain"), "{}", r.stderr);
    assert!(r.stderr.contains("ghost: no such instance"), "{}", r.stderr);
}

#[test]
fn bad_inputs_are_refused_with_exit_2_naming_them() {
    require_daemon();
    let cases: &[(&[&str], &str)] = &[
        (
            &["-p", "no-such-project-here"],
            "project not found: no-such-project-here",
        ),
        (&["-o", "instance,colour"], "unknown column \"colour\""),
        (&["bad/name"], "invalid instance name \"bad/name\""),
        (&["-f", "yaml"], "yaml"),
        (&["-p", "a/b"], "invalid project name \"a/b\""),
    ];
    for (args, want) in cases {
        let r = ls(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{args:?}: one line please: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn derived_and_stale_follow_the_provenance_keys() {
    let p = Project::new("ls-derived");
    p.golden("tpl", None);
    let first = p.snapshot_created_at("tpl", "pristine");
    for c in ["c1", "c2"] {
        p.incus(&["copy", "tpl/pristine", c]);
        p.incus(&["config", "set", c, "user.golden.project", &p.name]);
        p.incus(&["config", "set", c, "user.golden.template", "tpl"]);
        p.incus(&["config", "set", c, "user.golden.created_at", &first]);
    }
    let tpl = |rows: Vec<Value>| rows.into_iter().find(|v| v["instance"] == "tpl").unwrap();
    let t = tpl(rows_of(&p));
    assert_eq!(
        (t["derived"].as_u64(), t["stale"].as_u64()),
        (Some(2), Some(0))
    );

    // A new pristine makes both clones stale.
    p.incus(&["snapshot", "delete", "tpl", "pristine"]);
    p.snapshot("tpl", "pristine");
    let t = tpl(rows_of(&p));
    assert_eq!(
        (t["derived"].as_u64(), t["stale"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn an_interrupted_swap_still_shows_the_golden() {
    let p = Project::new("ls-swap");
    p.instance("half", None);
    p.swap_leftover("half", SWAP_OLD);
    p.swap_leftover("half", SWAP_NEXT);
    let rows = rows_of(&p);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["snapshot"], SWAP_NEXT);
    assert_eq!(
        rows[0]["created_at"],
        p.snapshot_created_at("half", SWAP_NEXT).as_str()
    );
}

#[test]
fn daemon_calls_do_not_grow_with_instances() {
    let small = Project::new("ls-calls-s");
    small.golden("g1", None);
    let big = Project::new("ls-calls-b");
    for i in 0..6 {
        big.golden(
            &format!("g{i}"),
            if i % 2 == 0 { None } else { Some("gdir") },
        );
    }
    let calls = |p: &Project| {
        let r = run(golden("golden-ls")
            .env("GOLDEN_TRACE", "1")
            .args(["-p", &p.name]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stderr
            .lines()
            .filter(|l| l.starts_with("golden: incus query"))
            .count()
    };
    let (s, b) = (calls(&small), calls(&big));
    assert_eq!(s, b, "calls for 1 instance vs 6");
    let all = run(golden("golden-ls").env("GOLDEN_TRACE", "1"));
    let n_all = all
        .stderr
        .lines()
        .filter(|l| l.starts_with("golden: incus query"))
        .count();
    assert_eq!(n_all, s, "all projects take as many calls as one");
}

#[test]
fn an_unreachable_daemon_is_a_quick_clear_error() {
    let started = std::time::Instant::now();
    let r = run(golden("golden-ls").env("INCUS_DIR", "/nonexistent/golden-incus"));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot reach Incus"), "{}", r.stderr);
    assert!(r.stderr.contains("incus info"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    // A hang would be a bug; this is a sanity bound, not a speed target.
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let p = Project::new("ls-pipe");
    for i in 0..3 {
        p.golden(&format!("g{i}"), None);
    }
    let script = format!(
        "set -o pipefail; '{}' -p '{}' | head -c 0; echo \"status=${{PIPESTATUS[0]}}\"",
        bin("golden-ls").display(),
        p.name
    );
    let r = run(command("bash").arg("-c").arg(script));
    assert!(r.stdout.contains("status=0"), "{} {}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("golden-ls"), "{}", r.stderr);
}
