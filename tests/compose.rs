//! The design card's own composition, `golden-ls | golden-derive`, in the forms
//! that work, the one that cannot, and the reruns that finish a job.

use golden_tests::*;

fn ls(p: &Project, args: &[&str]) -> String {
    let r = p.tool("golden-ls", args);
    r.assert_ok();
    r.stdout
}

/// `golden-ls -p P | golden-derive --count 2`: two clones of every golden,
/// numbered from the first free number.
#[test]
fn golden_ls_piped_into_derive_count() {
    let p = Project::new("cmp-pipe");
    p.golden("gold", None);
    p.golden("web", None);
    // gold-1 exists already (not a clone): numbering skips it.
    p.instance("gold-1", None);
    let records = ls(&p, &[]);
    let r = run_with_stdin(
        golden("golden-derive").args(["-q", "--count", "2", "-o", "instance"]),
        &records,
    );
    r.assert_ok();
    let mut made: Vec<&str> = r.stdout.lines().skip(1).collect();
    made.sort();
    assert_eq!(made, ["gold-2", "gold-3", "web-1", "web-2"]);
    assert_eq!(
        p.instances(),
        ["gold", "gold-1", "gold-2", "gold-3", "web", "web-1", "web-2"]
    );
    assert_eq!(p.get("web-2")["config"]["user.golden.template"], "web");
}

/// `golden-ls -H -o instance | xargs -n1 golden-derive --count 1`, and --name.
#[test]
fn xargs_form_and_name_pattern() {
    let p = Project::new("cmp-xargs");
    p.golden("gold", None);
    let names = ls(&p, &["-H", "-o", "instance"]);
    assert_eq!(names.trim(), "gold");
    for n in names.lines() {
        let r = p.tool("golden-derive", &["--count", "1", n]);
        r.assert_ok();
    }
    let r = p.tool(
        "golden-derive",
        &["--count", "2", "--name", "s{n}-{template}", "gold"],
    );
    r.assert_ok();
    assert_eq!(p.instances(), ["gold", "gold-1", "s1-gold", "s2-gold"]);
}

/// A golden-ls record extended with `new` (jq) derives that name from its instance.
#[test]
fn a_json_record_with_new_derives_from_its_instance() {
    let p = Project::new("cmp-json");
    p.golden("gold", None);
    let input = format!(
        "{{\"project\":\"{}\",\"instance\":\"gold\",\"new\":\"x\"}}\n",
        p.name
    );
    let r = run_with_stdin(golden("golden-derive").args(["-q", "-f", "json"]), &input);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (rec["instance"].as_str(), rec["status"].as_str()),
        (Some("x"), Some("Stopped"))
    );
    assert_eq!(p.instances(), ["gold", "x"]);
}

/// `golden-ls | xargs golden-derive` hands over the header: exit 2, the two
/// working forms named, nothing made.
#[test]
fn a_header_passed_by_xargs_is_named_and_nothing_is_made() {
    let p = Project::new("cmp-header");
    p.golden("gold", None);
    let header = ls(&p, &[]);
    let args: Vec<&str> = header.split_whitespace().collect();
    let r = p.tool("golden-derive", &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("golden-ls's header"), "{}", r.stderr);
    assert!(
        r.stderr.contains("golden-ls | golden-derive --count 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("xargs -n1 golden-derive --count 1"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(p.instances(), ["gold"]);
}

/// Records naming templates on two remotes: refused before anything is asked
/// of any daemon (exit 2, one line).
#[test]
fn templates_on_two_remotes_are_refused() {
    let p = Project::new("cmp-remotes");
    let r = run_with_stdin(
        golden("golden-derive").args(["-q"]),
        "template\tnew\na:tpl\tx\nb:tpl\ty\n",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("several remotes (a, b)"), "{}", r.stderr);
    assert!(p.instances().is_empty());
}

/// A clone an earlier `--start` left stopped is started by a rerun with
/// `--start --skip-existing`; a running one is only reported.
#[test]
fn a_rerun_with_start_and_skip_existing_starts_what_was_left_stopped() {
    let p = Project::new("cmp-start");
    p.golden("gold", None);
    let r = p.tool("golden-derive", &["-q", "gold", "c1", "c2"]);
    r.assert_ok();
    p.incus(&["start", "c2"]);
    let r = p.tool(
        "golden-derive",
        &[
            "-q",
            "-f",
            "json",
            "--start",
            "--skip-existing",
            "gold",
            "c1",
            "c2",
            "c3",
        ],
    );
    r.assert_ok();
    let mut recs = json_lines(&r.stdout);
    recs.sort_by_key(|v| v["instance"].as_str().unwrap().to_string());
    let status: Vec<&str> = recs.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["started", "skipped", "Running"]);
    for c in ["c1", "c2", "c3"] {
        assert_eq!(p.get(c)["status"], "Running", "{c}");
    }
}

/// --count's mistakes are usage errors, before anything is made.
#[test]
fn count_mistakes_are_refused() {
    let p = Project::new("cmp-bad");
    p.golden("gold", None);
    for (args, says) in [
        (
            vec!["--count", "2", "--name", "{template}", "gold"],
            "has no {n}",
        ),
        (
            vec!["--count", "1", "--name", "{nope}-{n}", "gold"],
            "needs field \"nope\"",
        ),
        (
            vec!["--count", "1", "--name", "x_{n}", "gold"],
            "invalid instance name",
        ),
        (vec!["--count", "0", "gold"], "--count 0"),
        (vec!["--count", "1", "gold", "x"], "give no NEW names"),
        (vec!["--name", "x{n}", "gold", "y"], "--count"),
    ] {
        let r = p.tool("golden-derive", &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
    }
    assert_eq!(p.instances(), ["gold"]);
}

/// golden-ls offers no option that nothing reads: -n and -q are refused as
/// unknown (exit 2), and its help does not show them.
#[test]
fn golden_ls_has_no_dead_options() {
    for opt in ["-n", "--dry-run", "-q", "--quiet"] {
        let r = run(golden("golden-ls").arg(opt));
        assert_eq!(r.code, 2, "{opt}: {}", r.stderr);
        assert!(
            r.stderr.contains("unexpected argument"),
            "{opt}: {}",
            r.stderr
        );
    }
    let help = run(golden("golden-ls").arg("--help")).stdout;
    assert!(
        !help.contains("--dry-run") && !help.contains("--quiet"),
        "{help}"
    );
}
