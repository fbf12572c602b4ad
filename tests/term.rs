//! The tools on a real terminal (tmux, 120 columns): notices, spinners and
//! the progress bar share the screen without tearing one another, and what
//! is left on screen at the end is whole lines.

use std::process::Command;

use golden_tests::*;

/// A tmux server of this test's own, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn new() -> Self {
        Tmux(format!("golden-test-{}", std::process::id()))
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
        let script = format!("{line}; echo \"EXIT=$?\"; sleep 600");
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
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
            let screen =
                String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned();
            if let Some(code) = screen
                .lines()
                .find_map(|l| l.strip_prefix("EXIT="))
                .and_then(|c| c.trim().parse().ok())
            {
                return (screen, code);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{line}: not ended after 300 s");
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
