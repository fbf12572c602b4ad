//! The tools on a real terminal (tmux): notices, spinners and the progress
//! bar share the screen without tearing one another, what is left on screen
//! at the end is whole lines, and a table fits the terminal's width.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use golden_tests::*;

/// A tmux server of one screen's own, killed when dropped (tests run at once
/// in threads: each its own server).
struct Tmux(String);

static SERVERS: AtomicUsize = AtomicUsize::new(0);

impl Tmux {
    fn new() -> Self {
        let n = SERVERS.fetch_add(1, Ordering::SeqCst);
        Tmux(format!("golden-test-{}-{n}", std::process::id()))
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.0)
            .args(args)
            .output()
            .expect("tmux (tests/incus.sh install adds it)")
    }

    /// Runs `line` (a shell command line) in a 120x50 terminal, and returns
    /// the screen once it has ended, with its exit status.
    fn screen_after(&self, line: &str) -> (String, i32) {
        self.lines_after(line, 120, false)
    }

    /// Runs `line` in a terminal `width` columns wide, and returns the screen
    /// once it has ended, with its exit status; `joined`: each line the
    /// terminal wrapped is joined again (tmux's `capture-pane -J`), so a line
    /// too long for the screen shows as one longer than `width`.
    fn lines_after(&self, line: &str, width: u16, joined: bool) -> (String, i32) {
        let screen = self.screen_when(line, width, joined, |screen| {
            screen.lines().any(|l| l.starts_with("EXIT="))
        });
        let code = screen
            .lines()
            .find_map(|l| l.strip_prefix("EXIT="))
            .and_then(|c| c.trim().parse().ok())
            .expect("an exit status");
        (screen, code)
    }

    /// Runs `line` in a terminal `width` columns wide, and returns the first
    /// screen of which `seen` is true (the run goes on; dropping the server
    /// ends it). Synchronised on the screen, never on time.
    fn screen_when(
        &self,
        line: &str,
        width: u16,
        joined: bool,
        seen: impl Fn(&str) -> bool,
    ) -> String {
        let script = format!("{line}; echo \"EXIT=$?\"; sleep 600");
        let width = width.to_string();
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            "50",
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Synchronised on the screen: the line the shell prints at the end.
        for _ in 0..3000 {
            let capture: &[&str] = if joined {
                &["capture-pane", "-p", "-J"]
            } else {
                &["capture-pane", "-p"]
            };
            let screen = String::from_utf8_lossy(&self.tmux(capture).stdout).into_owned();
            if seen(&screen) {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let last = self.tmux(&["capture-pane", "-p"]);
        panic!(
            "{line}: the screen awaited did not come within 300 s:\n{}",
            String::from_utf8_lossy(&last.stdout)
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn golden_refresh_of_running_clones_leaves_whole_lines_on_a_terminal() {
    let p = Project::new("term");
    p.instance("tpl", None);
    assert_eq!(p.tool("golden-create", &["-q", "tpl"]).code, 0);
    let clones: Vec<String> = (1..=6).map(|i| format!("c{i}")).collect();
    let mut args = vec!["-q", "tpl"];
    args.extend(clones.iter().map(String::as_str));
    let r = p.tool("golden-derive", &args);
    r.assert_ok();
    p.incus(&["start", "tpl"]);
    p.incus(&["exec", "tpl", "--", "touch", "/etc/golden-update"]);
    let r = p.tool("golden-create", &["-q", "tpl"]);
    r.assert_ok();
    let mut start = vec!["start"];
    start.extend(clones.iter().map(String::as_str));
    p.incus(&start);

    // Six running clones, four at a time: each is stopped (a notice and a
    // countdown spinner from a worker thread) under the run's progress bar.
    let line = format!(
        "env INCUS_DIR={} INCUS_CONF={} {} -j 4 --timeout 30 -f table --project {} {}",
        incus_dir(),
        incus_conf(),
        bin("golden-refresh").display(),
        p.name,
        clones.join(" ")
    );
    let tmux = Tmux::new();
    let (screen, code) = tmux.screen_after(&line);
    assert_eq!(code, 0, "{screen}");
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    for l in &lines {
        // No spinner or bar left frozen on screen.
        assert!(
            !l.contains("s left)"),
            "a countdown left on screen: {l:?}\n{screen}"
        );
        assert!(
            !l.contains("refreshing ["),
            "a bar left on screen: {l:?}\n{screen}"
        );
        // A notice is a line of its own, never appended to a bar's remains.
        if let Some(at) = l.find("golden-refresh:") {
            assert_eq!(at, 0, "a torn line: {l:?}\n{screen}");
        }
    }
    for c in &clones {
        let stopping = format!("golden-refresh: stopping {c} (waiting up to 30 s for it to stop)");
        assert_eq!(
            lines.iter().filter(|l| **l == stopping).count(),
            1,
            "{stopping}\n{screen}"
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.split_whitespace().nth(1) == Some(c.as_str()))
                .count(),
            1,
            "one record of {c}\n{screen}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("PROJECT ")).count(),
        1,
        "{screen}"
    );
    p.incus(&["stop", "c1", "c2", "c3", "c4", "c5", "c6"]);
}

/// golden-refresh's table is its widest (ten columns, 181 display columns
/// here): on a terminal of 80 or 120 columns it fits, each record one line,
/// with fewer columns on the narrower; a pipe still gets all ten.
/// While a refresh runs, its bar says how many clones are done of how many,
/// and how many failed; the failure itself is a line above it.
#[test]
fn the_progress_bar_says_what_is_done_left_and_failed() {
    let p = Project::new("term-bar");
    p.instance("tpl", None);
    p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    p.tool("golden-derive", &["-q", "tpl", "c1", "c2", "c3", "c4"])
        .assert_ok();
    let update = |n: &str| {
        p.incus(&["start", "tpl"]);
        p.incus(&[
            "exec",
            "tpl",
            "--",
            "touch",
            &format!("/etc/golden-update-{n}"),
        ]);
        p.tool("golden-create", &["-q", "tpl"]).assert_ok();
    };
    update("1");
    // c4's kept copy holds a snapshot: its next refresh is refused at once.
    p.tool("golden-refresh", &["-q", "c4"]).assert_ok();
    p.snapshot("c4-pre-refresh", "keep");
    update("2");
    // c1 ignores the clean stop: the run waits for it, bar on screen.
    p.incus(&["config", "set", "c1", "raw.lxc=lxc.signal.halt=SIGCONT"]);
    p.incus(&["start", "c1"]);

    let line = format!(
        "env INCUS_DIR={} INCUS_CONF={} {} -j 4 --timeout 600 -f table --project {} c1 c2 c3 c4",
        incus_dir(),
        incus_conf(),
        bin("golden-refresh").display(),
        p.name
    );
    let tmux = Tmux::new();
    let bar = |l: &str| l.contains("refreshing, 1 failed [") && l.contains("] 3/4 ");
    let screen = tmux.screen_when(&line, 120, false, |s| s.lines().any(bar));
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("golden-refresh: c4: its pre-refresh copy")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("stopping c1") && l.contains("s left)")),
        "c1's countdown under the bar: {screen}"
    );
    // Ended for good: a hangup alone lets a refresh finish the clones under
    // way (c1's, once it stops), behind the test's back.
    let pattern = format!("golden-refresh .*--project {} ", p.name);
    let killed = Command::new("pkill")
        .args(["-KILL", "-f", &pattern])
        .status()
        .expect("pkill");
    assert!(killed.success(), "no golden-refresh to end: {pattern}");
    drop(tmux);
    p.incus(&["stop", "--force", "c1"]);
}

#[test]
fn golden_refresh_table_fits_a_terminal_of_80_and_120_columns() {
    let p = Project::new("term");
    let tpl = "reference-template";
    p.instance(tpl, None);
    assert_eq!(p.tool("golden-create", &["-q", tpl]).code, 0);
    let clones: Vec<String> = (1..=3).map(|i| format!("student-clone-{i}")).collect();
    let mut args = vec!["-q", tpl];
    args.extend(clones.iter().map(String::as_str));
    p.tool("golden-derive", &args).assert_ok();
    // A new pristine: the clones are stale.
    p.tool("golden-create", &["-q", tpl]).assert_ok();

    // In a pipe: every column, whole, in TSV and in a table alike.
    let mut refresh = vec!["-n", "-q"];
    refresh.extend(clones.iter().map(String::as_str));
    let r = p.tool("golden-refresh", &refresh);
    r.assert_ok();
    assert_eq!(
        r.stdout.lines().next(),
        Some("project\tinstance\ttemplate\tfrom\tto\tstatus\tidentity\tkept\tsnapshots\trestarted"),
        "{}",
        r.stdout
    );
    refresh.extend(["-f", "table"]);
    let r = p.tool("golden-refresh", &refresh);
    r.assert_ok();
    let head: Vec<&str> = r
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(head.len(), 10, "{}", r.stdout);
    let whole = r.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(
        whole > 120,
        "the table would not need fitting:\n{}",
        r.stdout
    );

    let line = format!(
        "env INCUS_DIR={} INCUS_CONF={} {} -n -q -f table --project {} {}",
        incus_dir(),
        incus_conf(),
        bin("golden-refresh").display(),
        p.name,
        clones.join(" ")
    );
    let mut heads = Vec::new();
    for width in [80, 120] {
        let (screen, code) = Tmux::new().lines_after(&line, width, true);
        assert_eq!(code, 0, "{screen}");
        let lines: Vec<&str> = screen
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with("EXIT="))
            .collect();
        for l in &lines {
            let chars = l.chars().count();
            assert!(chars <= width.into(), "{chars} > {width}: {l:?}\n{screen}");
        }
        // The header, then one whole line per clone: instance and status kept.
        assert_eq!(lines.len(), 1 + clones.len(), "{screen}");
        let head = cells(lines[0]);
        assert!(
            head.contains(&"INSTANCE") && head.contains(&"STATUS"),
            "{screen}"
        );
        for l in &lines[1..] {
            let row = cells(l);
            assert_eq!(row.len(), head.len(), "{l:?}\n{screen}");
            assert!(row.contains(&"would-refresh"), "{l:?}\n{screen}");
        }
        for c in &clones {
            let rows = lines[1..]
                .iter()
                .filter(|l| l.split_whitespace().any(|w| w == c))
                .count();
            assert_eq!(rows, 1, "one row of {c}\n{screen}");
        }
        heads.push(head.len());
    }
    assert!(
        heads[0] < heads[1],
        "80 columns show fewer than 120: {heads:?}"
    );
    assert!(heads[1] < 10, "120 columns cannot hold all ten: {heads:?}");
}

/// A table line's cells: apart by two spaces at least (a time has one inside).
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}
