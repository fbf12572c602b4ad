//! Bad input, every way in: each is refused with exit 2 and a one-line error
//! naming what is wrong, before anything is created; or, for CRLF and a BOM,
//! handled as if they were not there.

use golden_tests::*;

const BAD_NAMES: &[(&str, &str)] = &[
    ("", "empty"),
    ("-rf", "must not start with '-'"),
    ("a/b", "'/'"),
    ("..", "'.'"),
    ("two words", "' '"),
    ("élève", "'é'"),
    ("12345", "must not be a number"),
    (
        "a123456789b123456789c123456789d123456789e123456789f123456789g1234",
        "longer than 63",
    ),
];

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Runs a tool with `args` (plus --project) and `stdin`, and checks the refusal.
fn refused(
    p: &Project,
    tool: &str,
    args: &[&str],
    stdin: Option<&str>,
    want: &str,
    before: &[String],
) {
    let mut cmd = golden(tool);
    cmd.args(args).args(["--project", &p.name]);
    let r = match stdin {
        Some(text) => run_with_stdin(&mut cmd, text),
        None => run(&mut cmd),
    };
    let what = format!("{tool} {args:?} stdin={stdin:?}");
    assert_eq!(r.code, 2, "{what}: {}", r.stderr);
    assert!(
        r.stderr.contains(want),
        "{what}: wanted {want:?} in {}",
        r.stderr
    );
    assert_eq!(
        r.stderr.trim().lines().count(),
        1,
        "{what}: one line: {}",
        r.stderr
    );
    assert_eq!(&p.instances(), before, "{what}: nothing may be created");
    assert_eq!(p.pristine_like("tpl"), ["pristine"], "{what}");
}

#[test]
fn bad_names_are_refused_by_every_tool_every_way_in() {
    let p = Project::new("bi-names");
    p.golden("tpl", None);
    let before = p.instances();
    for (name, why) in BAD_NAMES {
        let quoted = format!("{name:?}");
        // What the check says for a name given as an argument (an empty field
        // in a record is a missing one, checked below).
        let want = format!("invalid instance name {quoted}: {why}");
        let want = want.as_str();
        let tsv = format!("project\tinstance\n{}\t{name}\n", p.name);
        let ndjson = format!(
            "{{\"project\":\"{}\",\"instance\":{}}}\n",
            p.name,
            json_str(name)
        );
        for tool in ["golden-create", "golden-publish"] {
            let alias: &[&str] = if tool == "golden-publish" {
                &["--alias", "x-{instance}"]
            } else {
                &[]
            };
            let mut args = alias.to_vec();
            args.extend(["--", name]);
            refused(&p, tool, &args, None, want, &before);
            refused(
                &p,
                tool,
                alias,
                Some(&tsv),
                if name.is_empty() {
                    "no \"instance\" field"
                } else {
                    want
                },
                &before,
            );
            refused(
                &p,
                tool,
                alias,
                Some(&ndjson),
                if name.is_empty() {
                    "no \"instance\" field"
                } else {
                    want
                },
                &before,
            );
            if !name.is_empty() {
                refused(&p, tool, alias, Some(&format!("{name}\n")), want, &before);
            }
        }
        // derive: as NEW (argument, bare line, TSV, NDJSON) and as TEMPLATE.
        refused(
            &p,
            "golden-derive",
            &["tpl", "ok-1", "--", name],
            None,
            want,
            &before,
        );
        let new_tsv = format!("new\n{name}\n");
        let new_json = format!("{{\"new\":{}}}\n", json_str(name));
        if !name.is_empty() {
            refused(
                &p,
                "golden-derive",
                &["tpl"],
                Some(&format!("ok-1\n{name}\n")),
                &format!("stdin line 2: invalid instance name {quoted}"),
                &before,
            );
            refused(&p, "golden-derive", &["tpl"], Some(&new_tsv), want, &before);
            refused(
                &p,
                "golden-derive",
                &["tpl"],
                Some(&new_json),
                want,
                &before,
            );
            refused(
                &p,
                "golden-derive",
                &["--", name, "ok-1"],
                None,
                want,
                &before,
            );
            let full = format!("{{\"template\":{},\"new\":\"ok-1\"}}\n", json_str(name));
            refused(&p, "golden-derive", &[], Some(&full), want, &before);
        }
        // ls: as a filter.
        if !name.is_empty() {
            let r = run(golden("golden-ls").args(["--", name]));
            assert_eq!(r.code, 2, "golden-ls {name:?}: {}", r.stderr);
            assert!(r.stderr.contains(why), "golden-ls {name:?}: {}", r.stderr);
        }
    }
}

#[test]
fn alias_templates_that_expand_to_bad_aliases_are_refused() {
    let p = Project::new("bi-alias");
    p.golden("tpl", None);
    let before = p.instances();
    for (tag, want) in [
        ("two words", "invalid image alias"),
        ("-x", "invalid image alias"),
        ("r:x", "invalid image alias"),
    ] {
        let rec = format!(
            "{{\"project\":\"{}\",\"instance\":\"tpl\",\"tag\":{}}}\n",
            p.name,
            json_str(tag)
        );
        refused(
            &p,
            "golden-publish",
            &["--alias", "{tag}"],
            Some(&rec),
            want,
            &before,
        );
    }
    let rec = format!("{{\"project\":\"{}\",\"instance\":\"tpl\"}}\n", p.name);
    refused(
        &p,
        "golden-publish",
        &["--alias", "golden-{tag}"],
        Some(&rec),
        "needs field \"tag\"",
        &before,
    );
    refused(
        &p,
        "golden-publish",
        &["--alias", "golden-{instance"],
        Some(&rec),
        "unclosed",
        &before,
    );
}

#[test]
fn malformed_stdin_names_its_line_and_nothing_is_done() {
    let p = Project::new("bi-stdin");
    p.golden("tpl", None);
    let before = p.instances();
    let pn = &p.name;
    let cases: Vec<(&str, String, String)> = vec![
        (
            "golden-create",
            format!("{{\"instance\":\"tpl\",\"project\":\"{pn}\"}}\n{{\"instance\": tpl\n"),
            "stdin line 2: broken JSON".into(),
        ),
        (
            "golden-create",
            format!("project\tstatus\n{pn}\tStopped\n"),
            "stdin line 2: no \"instance\" field".into(),
        ),
        (
            "golden-create",
            format!("project\tinstance\n{pn}\ttpl\n{pn}\n"),
            "stdin line 3: 1 fields where the header has 2".into(),
        ),
        (
            "golden-create",
            format!("project\tinstance\n{pn}\ttpl\textra\n"),
            "stdin line 2: 3 fields where the header has 2".into(),
        ),
        (
            "golden-create",
            String::new(),
            "no instance names on stdin".into(),
        ),
        (
            "golden-create",
            "\n\n  \n".into(),
            "no instance names on stdin".into(),
        ),
        (
            "golden-derive",
            String::new(),
            "no NEW names on stdin".into(),
        ),
        (
            "golden-derive",
            "[\"not\", \"an object\"]\n".into(),
            "stdin line 1: a JSON object was expected".into(),
        ),
    ];
    for (tool, input, want) in &cases {
        let args: &[&str] = if *tool == "golden-derive" {
            &["tpl"]
        } else {
            &[]
        };
        refused(&p, tool, args, Some(input), want, &before);
    }
    // Not UTF-8.
    let mut cmd = golden("golden-create");
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"tpl\n\xff\xfe\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stdin line 2: not UTF-8"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn crlf_and_a_bom_are_read_as_if_they_were_not_there() {
    let p = Project::new("bi-crlf");
    p.golden("tpl", None);
    let ls = p.tool("golden-ls", &[]);
    let crlf = format!("\u{feff}{}", ls.stdout.replace('\n', "\r\n"));
    let r = run_with_stdin(
        golden("golden-create").args(["-H", "-o", "instance"]),
        &crlf,
    );
    r.assert_ok();
    assert_eq!(r.stdout, "tpl\n");
    let r = run_with_stdin(
        golden("golden-derive").args(["tpl", "-H", "-o", "instance", "--project", &p.name]),
        "\u{feff}c-1\r\nc-2\r\n",
    );
    r.assert_ok();
    let mut got: Vec<&str> = r.stdout.lines().collect();
    got.sort();
    assert_eq!(got, ["c-1", "c-2"]);
}

#[test]
fn a_hundred_thousand_lines_are_checked_through_to_the_last() {
    let p = Project::new("bi-long");
    p.golden("tpl", None);
    let before = p.instances();
    let mut input: String = (1..100_000).map(|i| format!("lab-student-{i}\n")).collect();
    input.push_str("lab student 100000\n");
    refused(
        &p,
        "golden-derive",
        &["tpl"],
        Some(&input),
        "stdin line 100000: invalid instance name \"lab student 100000\"",
        &before,
    );
    // All valid: planned with -n, one record a name.
    let input: String = (1..=100_000)
        .map(|i| format!("lab-student-{i}\n"))
        .collect();
    let r = run_with_stdin(
        golden("golden-derive").args([
            "-n",
            "-q",
            "-H",
            "-o",
            "instance",
            "tpl",
            "--project",
            &p.name,
        ]),
        &input,
    );
    r.assert_ok();
    assert_eq!(r.stdout.lines().count(), 100_000);
    assert_eq!(p.instances(), before);
}
