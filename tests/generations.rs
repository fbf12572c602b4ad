//! A golden's generations against the real private Incus: golden-create keeps
//! the pristines it replaces, golden-ls lists them with their clones, an old
//! one is let go only once no clone came from it, and --rollback brings one
//! back for the golden (its root too), after which golden-refresh brings the
//! clones back.

use golden_tests::*;
use serde_json::Value;

fn create(p: &Project, args: &[&str]) -> Value {
    let mut all = vec!["-f", "json"];
    all.extend_from_slice(args);
    let r = p.tool("golden-create", &all);
    r.assert_ok();
    json_lines(&r.stdout).remove(0)
}

/// (generation, snapshot, current, clones, revoked) of each generation of `golden`.
fn generations(p: &Project, golden: &str) -> Vec<(u64, String, bool, u64, String)> {
    let r = p.tool("golden-ls", &["--generations", "-f", "json", golden]);
    r.assert_ok();
    json_lines(&r.stdout)
        .iter()
        .map(|g| {
            (
                g["generation"].as_u64().unwrap(),
                g["snapshot"].as_str().unwrap().to_string(),
                g["current"].as_bool().unwrap(),
                g["clones"].as_u64().unwrap(),
                g["revoked"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn gen(n: u64, snap: &str, current: bool, clones: u64) -> (u64, String, bool, u64, String) {
    (n, snap.to_string(), current, clones, String::new())
}

/// clone -> (generation, stale), from golden-ls --clones.
fn clone_generations(p: &Project) -> Vec<(String, String, bool)> {
    let r = p.tool("golden-ls", &["--clones", "-f", "json"]);
    r.assert_ok();
    json_lines(&r.stdout)
        .iter()
        .map(|c| {
            (
                c["instance"].as_str().unwrap().to_string(),
                c["generation"].as_str().unwrap().to_string(),
                c["stale"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A golden `tpl` whose /version says which update it holds, made a golden
/// `updates` times (generation N holds "vN"), with clone `cN` derived from
/// each generation N.
fn updated_golden(p: &Project, updates: u32) {
    p.instance("tpl", None);
    for n in 1..=updates {
        p.put("tpl", "/version", &format!("v{n}\n"));
        let rec = create(p, &["tpl"]);
        assert_eq!(rec["generation"], n, "{rec}");
        p.tool("golden-derive", &["tpl", &format!("c{n}")])
            .assert_ok();
    }
}

#[test]
fn each_create_keeps_the_pristine_it_replaces_and_golden_ls_lists_them() {
    let p = Project::new("gen-keep");
    updated_golden(&p, 3);
    assert_eq!(
        generations(&p, "tpl"),
        [
            gen(3, "pristine", true, 1),
            gen(2, "pristine.g2", false, 1),
            gen(1, "pristine.g1", false, 1)
        ]
    );
    // Each clone names the generation it came from.
    assert_eq!(
        clone_generations(&p),
        [
            ("c1".into(), "1".into(), true),
            ("c2".into(), "2".into(), true),
            ("c3".into(), "3".into(), false)
        ]
    );
    // The template's lifecycle is its own: no clone carries it.
    for c in ["c1", "c2", "c3"] {
        let config = &p.get(c)["config"];
        assert!(
            config.get("user.golden.generation").is_none(),
            "{c}: {config}"
        );
    }
    // Each kept generation holds what the golden held when it was made.
    for (n, snap) in [(1, "pristine.g1"), (2, "pristine.g2")] {
        let copy = format!("from-g{n}");
        p.incus(&["copy", &format!("tpl/{snap}"), &copy]);
        assert_eq!(p.file(&copy, "/version").unwrap(), format!("v{n}\n"));
    }
}

#[test]
fn a_generation_beyond_keep_goes_once_no_clone_came_from_it() {
    let p = Project::new("gen-prune");
    updated_golden(&p, 3);
    // --keep 2: generation 1 is beyond it, but c1 came from it.
    let r = p.tool("golden-create", &["--keep", "2", "tpl"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("generation 1 (pristine.g1) is kept beyond --keep 2: 1 clone(s)"),
        "{}",
        r.stderr
    );
    assert!(p.snapshots("tpl").contains(&"pristine.g1".to_string()));
    // Neither generation 2 (beyond keep: c2 came from it).
    assert!(p.snapshots("tpl").contains(&"pristine.g2".to_string()));
    p.incus(&["delete", "c1"]);
    p.incus(&["delete", "c2"]);
    // The golden remembers --keep. Generations 1 and 2 have no clone left;
    // 3 is beyond --keep 2 too, but c3 came from it.
    let r = p.tool("golden-create", &["tpl"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("generation 3 (pristine.g3) is kept beyond --keep 2: 1 clone(s)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        p.snapshots("tpl"),
        ["pristine", "pristine.g3", "pristine.g4"]
    );
    assert_eq!(generations(&p, "tpl")[0].0, 5);
}

#[test]
fn rollback_makes_the_previous_generation_the_pristine_and_the_golden_again() {
    let p = Project::new("gen-rollback");
    updated_golden(&p, 3);
    let before = p.snapshot_created_at("tpl", "pristine.g2");
    let replaced = p.snapshot_created_at("tpl", "pristine");
    p.incus(&["config", "set", "tpl", "user.golden.revoked.3=broke sshd"]);
    let rec = create(&p, &["--rollback", "tpl"]);
    assert_eq!(rec["generation"], 2, "{rec}");
    assert_eq!(rec["created_at"], before.as_str());
    assert_eq!(rec["previous"], replaced.as_str());
    // The pristine is generation 2's snapshot itself (same creation time):
    // clones still on it are up to date, not stale.
    assert_eq!(p.snapshot_created_at("tpl", "pristine"), before);
    assert_eq!(
        generations(&p, "tpl"),
        [
            (3, "pristine.g3".into(), false, 1, "broke sshd".into()),
            gen(2, "pristine", true, 1),
            gen(1, "pristine.g1", false, 1)
        ]
    );
    // The golden's own root is back to generation 2, its lifecycle kept.
    assert_eq!(p.file("tpl", "/version").unwrap(), "v2\n");
    let config = &p.get("tpl")["config"];
    assert_eq!(config["user.golden.generation"], "2");
    assert_eq!(config["user.golden.revoked.3"], "broke sshd");
    assert_eq!(config["security.protection.delete"], "true");
    // c3 came from the generation rolled back from: stale, and a refresh
    // brings it back to generation 2; c2 was never moved.
    assert_eq!(
        clone_generations(&p),
        [
            ("c1".into(), "1".into(), true),
            ("c2".into(), "2".into(), false),
            ("c3".into(), "3".into(), true)
        ]
    );
    p.tool("golden-refresh", &["c3"]).assert_ok();
    assert_eq!(p.file("c3", "/version").unwrap(), "v2\n");
    // The next create comes after every generation there was.
    p.put("tpl", "/version", "v4\n");
    assert_eq!(create(&p, &["tpl"])["generation"], 4);
    // And a rollback to a named generation.
    let rec = create(&p, &["--rollback=1", "tpl"]);
    assert_eq!(rec["generation"], 1);
    assert_eq!(p.file("tpl", "/version").unwrap(), "v1\n");
}

#[test]
fn a_rollback_that_cannot_be_is_refused_naming_why_and_nothing_changes() {
    let p = Project::new("gen-refuse");
    updated_golden(&p, 2);
    let snaps = p.snapshots("tpl");
    let usage = p.tool("golden-create", &["--rollback=two", "tpl"]);
    usage.assert_code(2);
    assert!(
        usage.stderr.contains("\"two\" is no generation number"),
        "{}",
        usage.stderr
    );
    let none = p.tool("golden-create", &["--rollback=7", "tpl"]);
    none.assert_code(1);
    assert!(
        none.stderr.contains("tpl: no generation 7 (kept: 2, 1)"),
        "{}",
        none.stderr
    );
    let current = p.tool("golden-create", &["--rollback=2", "tpl"]);
    current.assert_code(1);
    assert!(
        current
            .stderr
            .contains("generation 2 is already its pristine"),
        "{}",
        current.stderr
    );
    // A golden started since its pristine was made may hold work no
    // generation has.
    p.incus(&["start", "tpl"]);
    p.incus(&["stop", "tpl", "--force"]);
    let ran = p.tool("golden-create", &["--rollback", "tpl"]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains("tpl ran since its pristine was made")
            && ran.stderr.contains("--discard-changes"),
        "{}",
        ran.stderr
    );
    assert_eq!(p.snapshots("tpl"), snaps, "nothing changed");
    assert_eq!(p.file("tpl", "/version").unwrap(), "v2\n");
    // Told so, it does: running, it is stopped, rolled back and, with
    // --restart, started again.
    p.incus(&["start", "tpl"]);
    let rec = create(&p, &["--rollback", "--discard-changes", "--restart", "tpl"]);
    assert_eq!(
        (&rec["generation"], &rec["stopped"], &rec["restarted"]),
        (&Value::from(1), &Value::from(true), &Value::from(true))
    );
    assert_eq!(p.get("tpl")["status"], "Running");
    p.incus(&["stop", "tpl"]);
    assert_eq!(p.file("tpl", "/version").unwrap(), "v1\n");
}

#[test]
fn a_rollback_killed_between_its_renames_is_finished_by_the_same_command() {
    let p = Project::new("gen-kill");
    updated_golden(&p, 2);
    let r = run(golden("golden-create")
        .args(["--rollback", "tpl", "--project", &p.name])
        .env("GOLDEN_KILL_AT", "rollback:set-aside"));
    assert_ne!(r.code, 0, "killed");
    assert_eq!(p.snapshots("tpl"), ["pristine.g1", "pristine.g2"]);
    let rec = create(&p, &["--rollback=1", "tpl"]);
    assert_eq!(rec["generation"], 1);
    assert_eq!(p.snapshots("tpl"), ["pristine", "pristine.g2"]);
    assert_eq!(p.file("tpl", "/version").unwrap(), "v1\n");
}

#[test]
fn a_revoked_generation_is_refused_by_derive_and_publish_and_its_clones_are_named() {
    let p = Project::new("gen-revoke");
    updated_golden(&p, 2);
    // The current pristine (generation 2) is found bad.
    let r = p.tool(
        "golden-revoke",
        &["-f", "json", "--reason", "ships a leaked key", "tpl"],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (&rec["generation"], &rec["revoked"], &rec["clones"]),
        (
            &Value::from(2),
            &Value::from("ships a leaked key"),
            &Value::from(1)
        )
    );
    // derive and publish refuse it, naming why; nothing is made.
    let d = p.tool("golden-derive", &["tpl", "new"]);
    d.assert_code(1);
    assert!(
        d.stderr
            .contains("tpl: its pristine (generation 2) is revoked: ships a leaked key"),
        "{}",
        d.stderr
    );
    assert!(!p.instances().contains(&"new".to_string()));
    let alias = format!("{}-img", p.name);
    let pb = p.tool("golden-publish", &["tpl", "--alias", &alias]);
    assert_ne!(pb.code, 0);
    assert!(
        pb.stderr.contains("is revoked: ships a leaked key"),
        "{}",
        pb.stderr
    );
    assert!(!incus_ok(&["image", "list", "-f", "csv"]).contains(&alias));
    // Told so, derive does, and says it.
    let d = p.tool("golden-derive", &["--allow-revoked", "tpl", "forced"]);
    d.assert_ok();
    assert!(d.stderr.contains("--allow-revoked"), "{}", d.stderr);
    // golden-ls shows the revoked generation and every clone from it.
    assert_eq!(
        generations(&p, "tpl"),
        [
            (2, "pristine".into(), true, 2, "ships a leaked key".into()),
            gen(1, "pristine.g1", false, 1)
        ]
    );
    let r = p.tool("golden-ls", &["--clones", "-f", "json"]);
    let revoked: Vec<(String, String)> = json_lines(&r.stdout)
        .iter()
        .map(|c| {
            (
                c["instance"].as_str().unwrap().to_string(),
                c["revoked"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        revoked,
        [
            ("c1".into(), String::new()),
            ("c2".into(), "ships a leaked key".into()),
            ("forced".into(), "ships a leaked key".into())
        ]
    );
    // A good pristine again, and refresh moves them on.
    p.put("tpl", "/version", "v3\n");
    create(&p, &["tpl"]);
    p.tool("golden-refresh", &["c2", "forced"]).assert_ok();
    for c in ["c2", "forced"] {
        assert_eq!(p.file(c, "/version").unwrap(), "v3\n", "{c}");
    }
    assert_eq!(
        generations(&p, "tpl")[1].3,
        0,
        "no clone left on generation 2"
    );
    // --undo lifts it; the mark never reached a clone.
    p.tool("golden-revoke", &["--undo", "-g", "2", "tpl"])
        .assert_ok();
    assert_eq!(generations(&p, "tpl")[1].4, "");
    assert!(p.get("c2")["config"].get("user.golden.revoked.2").is_none());
}

#[test]
fn a_revocation_that_cannot_be_is_refused_naming_why_and_nothing_changes() {
    let p = Project::new("gen-revoke-bad");
    updated_golden(&p, 1);
    p.instance("plain", None);
    let config = p.get("tpl")["config"].clone();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["tpl"], 2, "--reason"),
        (&["--reason", "", "tpl"], 2, "--reason is empty"),
        (&["--reason", "two\nlines", "tpl"], 2, "on one line"),
        (&["--reason", "x", "-g", "0", "tpl"], 2, "-g"),
        (
            &["--reason", "x", "-g", "9", "tpl"],
            1,
            "tpl: no generation 9 (kept: 1)",
        ),
        (
            &["--reason", "x", "plain"],
            1,
            "plain: not a golden (no pristine snapshot)",
        ),
        (&["--reason", "x", "nosuch"], 2, "nosuch"),
    ];
    for (args, code, says) in cases {
        let r = p.tool("golden-revoke", args);
        r.assert_code(*code);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
    }
    assert_eq!(p.get("tpl")["config"], config, "nothing changed");
}

#[test]
fn retiring_a_golden_lists_its_clones_and_refuses_while_they_live() {
    let p = Project::new("gen-retire");
    updated_golden(&p, 2);
    p.snapshot("tpl", "users-own");
    let before = (p.snapshots("tpl"), p.get("tpl")["config"].clone());
    // While its clones live: refused, naming them; -n the same; nothing changed.
    for args in [&["tpl"][..], &["-n", "tpl"][..]] {
        let r = p.tool("golden-retire", args);
        r.assert_code(1);
        assert!(
            r.stderr.contains(&format!(
                "tpl: 2 clone(s) came from it ({0}/c1, {0}/c2): they could no longer be refreshed",
                p.name
            )),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!((p.snapshots("tpl"), p.get("tpl")["config"].clone()), before);
    // Incus itself refuses to delete it meanwhile.
    assert!(!incus(&["delete", "tpl", "--project", &p.name])
        .status
        .success());

    p.incus(&["delete", "c1"]);
    let r = p.tool("golden-retire", &["-f", "json", "--orphan-clones", "tpl"]);
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        (
            &rec["generations"],
            &rec["clones"],
            &rec["unprotected"],
            &rec["status"]
        ),
        (
            &Value::from(2),
            &Value::from(1),
            &Value::from(true),
            &Value::from("retired")
        )
    );
    // An ordinary instance again: the user's snapshot stays, the golden's
    // own and its lifecycle go, and Incus lets it be deleted.
    assert_eq!(p.snapshots("tpl"), ["users-own"]);
    let config = &p.get("tpl")["config"];
    for key in ["security.protection.delete", "user.golden.generation"] {
        assert!(config.get(key).is_none(), "{key}: {config}");
    }
    let r = p.tool("golden-ls", &["--clones", "-f", "json"]);
    assert_eq!(json_lines(&r.stdout)[0]["generation"], "gone");
    let again = p.tool("golden-retire", &["tpl"]);
    again.assert_code(1);
    assert!(
        again.stderr.contains("tpl: not a golden"),
        "{}",
        again.stderr
    );
    p.incus(&["delete", "tpl"]);
}

#[test]
fn a_rollback_brings_the_goldens_volumes_back_too() {
    let p = Project::new("gen-vol");
    p.instance("tpl", None);
    let vol = p.volume("gbtrfs", "data");
    p.incus(&[
        "storage", "volume", "attach", "gbtrfs", &vol, "tpl", "/data",
    ]);
    for n in 1..=2 {
        p.incus(&["start", "tpl"]);
        let line = format!("echo v{n} >/data/version");
        p.incus(&["exec", "tpl", "--", "sh", "-c", &line]);
        p.incus(&["stop", "tpl"]);
        assert_eq!(create(&p, &["tpl"])["generation"], n);
    }
    let volume_snapshots = || {
        let out = incus_ok(&[
            "storage", "volume", "snapshot", "list", "gbtrfs", &vol, "-f", "csv", "-c", "n",
        ]);
        let mut names: Vec<String> = out.lines().map(str::to_string).collect();
        names.sort();
        names
    };
    assert_eq!(volume_snapshots(), ["pristine", "pristine.g1"]);
    let rec = create(&p, &["--rollback", "tpl"]);
    assert_eq!(
        (&rec["generation"], &rec["volumes"]),
        (&Value::from(1), &Value::from(1))
    );
    assert_eq!(volume_snapshots(), ["pristine", "pristine.g2"]);
    // What the volume holds is generation 1's (read from the root, stopped:
    // the files API does not reach a volume).
    p.incus(&["start", "tpl"]);
    p.incus(&[
        "exec",
        "tpl",
        "--",
        "sh",
        "-c",
        "cp /data/version /root/version",
    ]);
    p.incus(&["stop", "tpl"]);
    assert_eq!(p.file("tpl", "/root/version").unwrap(), "v1\n");
    p.incus(&["delete", "tpl"]);
    incus_ok(&["storage", "volume", "delete", "gbtrfs", &vol]);
}

#[test]
fn derive_copies_a_named_generation_and_refuses_one_not_kept_or_revoked() {
    let p = Project::new("gen-derive");
    updated_golden(&p, 3);
    p.tool("golden-derive", &["--generation", "1", "tpl", "old"])
        .assert_ok();
    assert_eq!(p.file("old", "/version").unwrap(), "v1\n");
    p.tool("golden-derive", &["--generation", "3", "tpl", "new"])
        .assert_ok();
    assert_eq!(p.file("new", "/version").unwrap(), "v3\n");
    let gens = clone_generations(&p);
    assert!(gens.contains(&("old".into(), "1".into(), true)), "{gens:?}");
    assert!(
        gens.contains(&("new".into(), "3".into(), false)),
        "{gens:?}"
    );
    let none = p.tool("golden-derive", &["--generation", "9", "tpl", "x"]);
    none.assert_code(1);
    assert!(
        none.stderr.contains("tpl: no generation 9 (kept: 3, 2, 1)"),
        "{}",
        none.stderr
    );
    p.tool("golden-revoke", &["-g", "2", "--reason", "bad", "tpl"])
        .assert_ok();
    let revoked = p.tool("golden-derive", &["--generation", "2", "tpl", "y"]);
    revoked.assert_code(1);
    assert!(
        revoked.stderr.contains("(generation 2) is revoked: bad"),
        "{}",
        revoked.stderr
    );
    let names = p.instances();
    assert!(!names.contains(&"x".to_string()) && !names.contains(&"y".to_string()));
}

#[test]
fn publish_makes_an_image_of_a_named_generation() {
    let p = Project::new("gen-publish");
    updated_golden(&p, 2);
    let alias = format!("{}-g1", p.name);
    let r = p.tool(
        "golden-publish",
        &["-f", "json", "--generation", "1", "tpl", "--alias", &alias],
    );
    r.assert_ok();
    let rec = &json_lines(&r.stdout)[0];
    assert_eq!(
        rec["created_at"],
        p.snapshot_created_at("tpl", "pristine.g1").as_str()
    );
    p.incus(&["init", &alias, "from-g1"]);
    assert_eq!(p.file("from-g1", "/version").unwrap(), "v1\n");
    let none = p.tool(
        "golden-publish",
        &["--generation", "5", "tpl", "--alias", "x"],
    );
    assert_ne!(none.code, 0);
    assert!(
        none.stderr.contains("tpl: no generation 5 (kept: 2, 1)"),
        "{}",
        none.stderr
    );
    let fingerprint = rec["fingerprint"].as_str().unwrap().to_string();
    p.incus(&["delete", "from-g1"]);
    incus_ok(&["image", "delete", &fingerprint]);
}

#[test]
fn refresh_rebuilds_from_a_named_generation_and_refuses_a_revoked_one() {
    let p = Project::new("gen-refresh");
    updated_golden(&p, 3);
    // c3 is on generation 3: rebuilt from generation 2, it holds v2 and is stale.
    let r = p.tool("golden-refresh", &["-f", "json", "--generation", "2", "c3"]);
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["status"], "refreshed");
    assert_eq!(p.file("c3", "/version").unwrap(), "v2\n");
    let gens = clone_generations(&p);
    assert!(gens.contains(&("c3".into(), "2".into(), true)), "{gens:?}");
    // A revoked current pristine is not spread by a refresh, -n included.
    p.tool("golden-revoke", &["--reason", "broken", "tpl"])
        .assert_ok();
    for args in [&["c1"][..], &["-n", "c1"][..]] {
        let r = p.tool("golden-refresh", args);
        r.assert_code(1);
        assert!(
            r.stderr.contains("(generation 3) is revoked: broken"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(p.file("c1", "/version").unwrap(), "v1\n", "nothing changed");
    let none = p.tool("golden-refresh", &["--generation", "9", "c1"]);
    none.assert_code(1);
    assert!(
        none.stderr.contains("tpl: no generation 9 (kept: 3, 2, 1)"),
        "{}",
        none.stderr
    );
    // Told so, it does.
    p.tool("golden-refresh", &["--allow-revoked", "c1"])
        .assert_ok();
    assert_eq!(p.file("c1", "/version").unwrap(), "v3\n");
}
