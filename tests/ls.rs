//! golden-ls against the real private Incus.

use golden_tests::*;
use serde_json::Value;

fn ls(args: &[&str]) -> Run {
    run(golden("golden-ls").args(args))
}

fn rows_of(project: &Project) -> Vec<Value> {
    let r = ls(&["-f", "json", "-p", &project.name]);
    r.assert_ok();
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
    r.assert_ok();
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
    r.assert_ok();
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
    r.assert_ok();
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
    r.assert_ok();
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
        r.assert_ok();
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

// ---- --clones: one record per derived instance -------------------------------

/// Derives `names` from `template` with golden-derive (in `target`, if given).
fn derive(p: &Project, template: &str, names: &[&str], target: Option<&Project>) {
    let mut args = vec!["-q"];
    if let Some(t) = target {
        args.extend(["--target-project", t.name.as_str()]);
    }
    args.push(template);
    args.extend(names);
    let r = p.tool("golden-derive", &args);
    assert_eq!(r.code, 0, "derive {names:?}: {}", r.stderr);
}

fn clone_rows(args: &[&str]) -> Vec<Value> {
    let r = ls(&[&["--clones", "-f", "json"], args].concat());
    r.assert_ok();
    json_lines(&r.stdout)
}

#[test]
fn clones_are_listed_with_their_template_pristine_and_staleness() {
    let p = Project::new("ls-clones");
    let elsewhere = Project::new("ls-clones-x");
    p.golden("tpl", None);
    p.golden("other", None);
    p.instance("plain", None);
    let first = p.snapshot_created_at("tpl", "pristine");
    derive(&p, "tpl", &["c1", "c2"], None);
    derive(&p, "other", &["o1"], None);
    // A new pristine: c1 and c2 now come from an older one.
    let r = p.tool("golden-create", &["-q", "tpl"]);
    r.assert_ok();
    let second = p.snapshot_created_at("tpl", "pristine");
    assert_ne!(first, second);
    derive(&p, "tpl", &["c3"], None);
    derive(&p, "tpl", &["x1"], Some(&elsewhere));

    let rows = clone_rows(&["-p", &p.name]);
    let names: Vec<&str> = rows
        .iter()
        .map(|v| v["instance"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["c1", "c2", "c3", "o1"],
        "goldens and plain are no clones"
    );
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "project",
            "instance",
            "template",
            "created_at",
            "stale",
            "generation",
            "revoked",
            "status",
            "location",
            "volumes"
        ]
    );
    let tpl = format!("{}/tpl", p.name);
    let by = |n: &str| rows.iter().find(|v| v["instance"] == n).unwrap();
    for (n, created, stale) in [
        ("c1", &first, true),
        ("c2", &first, true),
        ("c3", &second, false),
    ] {
        let v = by(n);
        assert_eq!(v["project"], p.name.as_str(), "{n}");
        assert_eq!(v["template"], tpl.as_str(), "{n}");
        assert_eq!(v["created_at"], created.as_str(), "{n}");
        assert_eq!(v["stale"], stale, "{n}");
        assert_eq!(v["status"], "Stopped", "{n}");
        assert_eq!(v["location"], Value::Null, "{n}");
        assert_eq!(v["volumes"], 0, "{n}");
    }
    assert_eq!(by("o1")["template"], format!("{}/other", p.name).as_str());
    assert_eq!(by("o1")["stale"], false);

    // -p is the clones' own project: a clone derived into another one is
    // listed there, its template (and its staleness) found in the first.
    let x = clone_rows(&["-p", &elsewhere.name]);
    assert_eq!(x.len(), 1);
    assert_eq!(
        (&x[0]["instance"], &x[0]["template"], &x[0]["stale"]),
        (
            &Value::from("x1"),
            &Value::from(tpl.as_str()),
            &Value::from(false)
        )
    );

    // A NAME keeps the clones of that golden, wherever they are.
    let r = ls(&["--clones", "-H", "-o", "instance", "-p", &p.name, "tpl"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "c1\nc2\nc3\n"),
        "{}",
        r.stderr
    );

    // In a pipe: TSV with the clone columns as header.
    let r = ls(&["--clones", "-p", &p.name, "other"]);
    r.assert_ok();
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "project\tinstance\ttemplate\tcreated_at\tstale\tgeneration\trevoked\tstatus\tlocation\tvolumes"
    );
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(
        row[..3],
        [p.name.as_str(), "o1", &format!("{}/other", p.name)]
    );
    assert_eq!(row[4], "false");
    assert_eq!(lines.next(), None);

    // The records feed the next tool: the stale ones, read by project and
    // instance (golden-create -n says what it would do, and does nothing).
    let script = format!(
        "set -o pipefail; '{}' --clones -f json -p '{}' | jq -c 'select(.stale)' \
         | '{}' -n -f json -o project,instance",
        bin("golden-ls").display(),
        p.name,
        bin("golden-create").display()
    );
    let r = run(command("bash").arg("-c").arg(script));
    r.assert_ok();
    let fed: Vec<(String, String)> = json_lines(&r.stdout)
        .iter()
        .map(|v| (v["project"].to_string(), v["instance"].to_string()))
        .collect();
    let want = |n: &str| (format!("{:?}", p.name), format!("{n:?}"));
    assert_eq!(fed, [want("c1"), want("c2")]);
    assert_eq!(
        p.snapshots("c1"),
        Vec::<String>::new(),
        "-n changed nothing"
    );
}

#[test]
fn clones_of_a_name_that_is_no_golden_fail_with_exit_1_the_rest_listed() {
    let p = Project::new("ls-clones-names");
    p.golden("tpl", None);
    p.instance("plain", None);
    derive(&p, "tpl", &["c1"], None);
    let r = ls(&[
        "--clones", "-H", "-o", "instance", "-p", &p.name, "tpl", "plain", "ghost",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "c1\n");
    assert!(r.stderr.contains("plain: not a golden"), "{}", r.stderr);
    assert!(r.stderr.contains("golden-create plain"), "{}", r.stderr);
    assert!(r.stderr.contains("ghost: no such instance"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 2, "{}", r.stderr);

    // Bad values are refused before anything is listed; a goldens' column is
    // not a clones' one.
    for (args, want) in [
        (&["-o", "instance,type"][..], "unknown column \"type\""),
        (&["-f", "yaml"][..], "yaml"),
        (&["-p", "no-such-project-here"][..], "project not found"),
    ] {
        let r = ls(&[&["--clones"], args].concat());
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn clone_listing_calls_do_not_grow_with_clones() {
    let small = Project::new("ls-ccalls-s");
    small.golden("g", None);
    derive(&small, "g", &["c0"], None);
    let big = Project::new("ls-ccalls-b");
    big.golden("g", None);
    big.golden("h", Some("gdir"));
    derive(&big, "g", &["c0", "c1", "c2", "c3"], None);
    derive(&big, "h", &["d0", "d1"], None);
    let calls = |args: &[&str]| {
        let r = run(golden("golden-ls").env("GOLDEN_TRACE", "1").args(args));
        r.assert_ok();
        r.stderr
            .lines()
            .filter(|l| l.starts_with("golden: incus query"))
            .count()
    };
    let s = calls(&["--clones", "-p", &small.name]);
    let b = calls(&["--clones", "-p", &big.name]);
    assert_eq!(s, b, "calls for 1 clone vs 6");
    assert_eq!(
        calls(&["--clones"]),
        s,
        "all projects take as many calls as one"
    );
    assert_eq!(
        calls(&["-p", &big.name]),
        s,
        "as many as the goldens' listing"
    );
}
