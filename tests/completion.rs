//! Tab completion in the real shells: bash (with bash-completion), zsh and
//! fish, each started in a terminal (tmux) with the completion scripts
//! installed where `make install` puts them and found by the shell's own
//! loading (bash-completion's loader, zsh's fpath and compinit, fish's vendor
//! directory), the keys typed as a user types them. What a TAB did is read
//! from the screen: the line typed, then TAB, then a marker typed after it,
//! which the shell only takes once the completion has ended (so the time
//! until the marker shows is the completion's).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use golden_tests::*;

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];
const TOOLS: [&str; 8] = [
    "golden-create",
    "golden-derive",
    "golden-publish",
    "golden-ls",
    "golden-refresh",
    "golden-identity",
    "golden-revoke",
    "golden-retire",
];
const PROMPT: &str = "gt$ ";

/// A line of the screen that is a prompt (tmux gives lines without their
/// trailing blanks).
fn is_prompt(line: &str) -> bool {
    line.starts_with(PROMPT.trim_end())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A prefix whose shells have the completion scripts where `make install`
/// puts them (the Makefile's `install` target: same names, same places), and
/// the rc files each shell needs to load them as a user's would.
struct Prefix(tempfile::TempDir);

impl Prefix {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let share = p.join("share");
        for (sub, file) in [
            ("bash-completion/completions", "{t}"),
            ("zsh/site-functions", "_{t}"),
            ("fish/vendor_completions.d", "{t}.fish"),
        ] {
            std::fs::create_dir_all(share.join(sub)).unwrap();
            for t in TOOLS {
                let from = match sub {
                    "bash-completion/completions" => format!("{t}.bash"),
                    "zsh/site-functions" => format!("_{t}"),
                    _ => format!("{t}.fish"),
                };
                std::fs::copy(
                    root().join("completions").join(&from),
                    share.join(sub).join(file.replace("{t}", t)),
                )
                .unwrap_or_else(|e| panic!("completions/{from}: {e}"));
            }
        }
        let write = |rel: &str, text: String| {
            let path = p.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        // bash-completion: the package, which tests/incus.sh install adds.
        write(
            "bashrc",
            format!(". /usr/share/bash-completion/bash_completion\nPS1='{PROMPT}'\n"),
        );
        write(
            "zdot/.zshrc",
            format!(
                "fpath=({}/share/zsh/site-functions $fpath)\n\
                 autoload -Uz compinit\ncompinit -u -d {}/zcompdump\nPS1='{PROMPT}'\n",
                p.display(),
                p.display()
            ),
        );
        write(
            "home/.config/fish/config.fish",
            format!(
                "set -g fish_greeting ''\nset -g fish_autosuggestion_enabled 0\n\
                 function fish_prompt; printf '%s' '{PROMPT}'; end\n"
            ),
        );
        Prefix(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A tmux server of the test's own with one session per shell, killed when
/// dropped.
struct Terminal {
    socket: String,
    marks: std::cell::Cell<u32>,
}

impl Terminal {
    /// `shell` interactive, its environment exactly `env` and what a shell
    /// needs, the tools first on PATH.
    fn new(tag: &str, prefix: &Prefix, env: &[(&str, String)]) -> Self {
        let t = Terminal {
            socket: format!("golden-comp-{}-{tag}", std::process::id()),
            marks: std::cell::Cell::new(0),
        };
        let p = prefix.path();
        let tools = bin("golden-derive").parent().unwrap().to_path_buf();
        let mut vars: Vec<String> = vec![
            format!("PATH={}:/usr/local/bin:/usr/bin:/bin", tools.display()),
            format!("HOME={}/home", p.display()),
            format!("XDG_CONFIG_HOME={}/home/.config", p.display()),
            format!("XDG_DATA_HOME={}/home/.local/share", p.display()),
            format!("XDG_DATA_DIRS={}/share:/usr/share", p.display()),
            format!("ZDOTDIR={}/zdot", p.display()),
            "TERM=xterm-256color".into(),
            "LANG=C.UTF-8".into(),
        ];
        vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        for shell in SHELLS {
            let mut args: Vec<String> = vec![
                "new-session".into(),
                "-d".into(),
                "-s".into(),
                shell.into(),
                "-x".into(),
                "160".into(),
                "-y".into(),
                "40".into(),
                "-c".into(),
                p.display().to_string(),
                "env".into(),
                "-i".into(),
            ];
            args.extend(vars.iter().cloned());
            match shell {
                "bash" => args.extend(
                    [
                        "bash",
                        "--noprofile",
                        "--rcfile",
                        &format!("{}/bashrc", p.display()),
                        "-i",
                    ]
                    .map(String::from),
                ),
                other => args.extend([other.to_string(), "-i".into()]),
            }
            let out = t.tmux(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                out.status.success(),
                "tmux: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for shell in SHELLS {
            t.wait_for(shell, Duration::from_secs(30), |s| s.lines().any(is_prompt));
        }
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("tmux (tests/incus.sh install adds it)")
    }

    fn screen(&self, shell: &str) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", shell]).stdout)
            .into_owned()
    }

    /// The screen once `done` holds, polled; fails the test after `limit`.
    fn wait_for(&self, shell: &str, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(shell);
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "{shell}: not there after {limit:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `line` on an empty command line of `shell`, then TAB: the
    /// command line after the completion (up to the cursor: a space the
    /// completion added is kept), how long the TAB took, and the screen.
    fn tab(&self, shell: &str, line: &str) -> (String, Duration, String) {
        self.marks.set(self.marks.get() + 1);
        let mark = format!("@@{}@@", self.marks.get());
        self.tmux(&["send-keys", "-t", shell, "C-u"]);
        self.tmux(&["send-keys", "-t", shell, "-l", line]);
        self.wait_for(shell, Duration::from_secs(10), |s| {
            s.lines().any(|l| l.trim_end().ends_with(line.trim_end()))
        });
        let start = Instant::now();
        self.tmux(&["send-keys", "-t", shell, "Tab"]);
        self.tmux(&["send-keys", "-t", shell, "-l", &mark]);
        let screen = self.wait_for(shell, Duration::from_secs(30), |s| s.contains(&mark));
        let took = start.elapsed();
        let typed = screen
            .lines()
            .find_map(|l| {
                let l = l.strip_prefix(PROMPT).unwrap_or(l);
                l.find(&mark).map(|at| l[..at].to_string())
            })
            .unwrap();
        // Clear what the completion may have left below the line (a list).
        self.tmux(&["send-keys", "-t", shell, "C-u"]);
        (typed, took, screen.replace(&mark, ""))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The private daemon's environment, for a shell.
fn daemon_env() -> Vec<(&'static str, String)> {
    vec![("INCUS_DIR", incus_dir()), ("INCUS_CONF", incus_conf())]
}

#[test]
fn an_option_completes_in_bash_zsh_and_fish() {
    let prefix = Prefix::new();
    let t = Terminal::new("opt", &prefix, &daemon_env());
    for shell in SHELLS {
        // The first TAB of the shell: zsh's fpath file completes at once.
        let (line, _, screen) = t.tab(shell, "golden-derive --cou");
        assert_eq!(line, "golden-derive --count ", "{shell}:\n{screen}");
        // A fixed value, from the parser.
        let (line, _, screen) = t.tab(shell, "golden-ls --format ts");
        assert_eq!(line, "golden-ls --format tsv ", "{shell}:\n{screen}");
    }
}

#[test]
fn names_projects_and_remotes_complete_from_the_daemon_in_each_shell() {
    let p = Project::new("comp");
    p.golden("comp-gold", None);
    p.instance("comp-plain", None);
    p.tool("golden-derive", &["-q", "comp-gold", "comp-clone"])
        .assert_ok();
    let prefix = Prefix::new();
    let t = Terminal::new("names", &prefix, &daemon_env());
    let project = &p.name;
    // Enough of the project's name for it alone (another test's project has
    // another number).
    let start = &project[..project.len() - 1];
    for shell in SHELLS {
        let cases = [
            // Goldens only: not comp-plain, not the clone.
            (
                format!("golden-derive --project {project} comp-"),
                format!("golden-derive --project {project} comp-gold "),
            ),
            (
                format!("golden-publish -p {project} --alias x comp-"),
                format!("golden-publish -p {project} --alias x comp-gold "),
            ),
            // Clones only.
            (
                format!("golden-refresh --project {project} comp-"),
                format!("golden-refresh --project {project} comp-clone "),
            ),
            // Any instance: comp-plain is one.
            (
                format!("golden-create --project {project} comp-p"),
                format!("golden-create --project {project} comp-plain "),
            ),
            // The remote, as incus completes it: no space after it, then
            // the name from that remote.
            (
                format!("golden-derive --project {project} loca"),
                format!("golden-derive --project {project} local:"),
            ),
            (
                format!("golden-derive --project {project} local:comp-"),
                format!("golden-derive --project {project} local:comp-gold "),
            ),
            // Projects, spelt either way.
            (
                format!("golden-derive --project {start}"),
                format!("golden-derive --project {project} "),
            ),
            (
                format!("golden-ls --project={start}"),
                format!("golden-ls --project={project} "),
            ),
            // Pools.
            (
                "golden-derive -s gbtr".to_string(),
                "golden-derive -s gbtrfs ".to_string(),
            ),
        ];
        for (typed, want) in cases {
            let (line, took, screen) = t.tab(shell, &typed);
            assert_eq!(line, want, "{shell}: {typed}<TAB> ({took:?}):\n{screen}");
        }
    }
}

#[test]
fn an_unreachable_daemon_completes_nothing_quickly_and_silently() {
    let nowhere = tempfile::tempdir().unwrap();
    let prefix = Prefix::new();
    let env = vec![
        ("INCUS_DIR", nowhere.path().display().to_string()),
        ("INCUS_CONF", incus_conf()),
    ];
    let t = Terminal::new("down", &prefix, &env);
    for shell in SHELLS {
        for typed in ["golden-derive --project lab comp-", "golden-ls -p la"] {
            let (line, took, screen) = t.tab(shell, typed);
            assert_eq!(line, typed, "{shell}: {typed}<TAB>:\n{screen}");
            assert!(
                took < Duration::from_millis(1500),
                "{shell}: {typed}<TAB> took {took:?}"
            );
            // Nothing but the command line on the screen: no error text.
            let other: Vec<&str> = screen
                .lines()
                .filter(|l| !l.trim().is_empty() && !is_prompt(l))
                .collect();
            assert!(other.is_empty(), "{shell}: {typed}<TAB>:\n{screen}");
        }
    }
    // What the scripts run, stderr read apart: nothing there, nothing out.
    let out = completer(nowhere.path(), &[], "golden-derive --project lab comp-");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn a_daemon_that_never_answers_is_given_up_within_the_budget() {
    // A socket that takes connections and never answers.
    let dir = tempfile::tempdir().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("unix.socket")).unwrap();
    let start = Instant::now();
    let out = completer(
        dir.path(),
        &[("GOLDEN_COMPLETE_TIMEOUT", "1")],
        "golden-derive comp-",
    );
    let took = start.elapsed();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    // In a shell too: the TAB ends.
    let prefix = Prefix::new();
    let env = vec![
        ("INCUS_DIR", dir.path().display().to_string()),
        ("INCUS_CONF", incus_conf()),
        ("GOLDEN_COMPLETE_TIMEOUT", "1".to_string()),
    ];
    let t = Terminal::new("hang", &prefix, &env);
    for shell in SHELLS {
        let (line, took, screen) = t.tab(shell, "golden-derive comp-");
        assert_eq!(line, "golden-derive comp-", "{shell}:\n{screen}");
        assert!(took < Duration::from_secs(3), "{shell}: took {took:?}");
    }
}

/// The completer as bash's script runs it, for the last word of `line`,
/// against the daemon of `incus_dir`.
fn completer(incus_dir: &Path, env: &[(&str, &str)], line: &str) -> std::process::Output {
    let words: Vec<&str> = line.split(' ').collect();
    let tool = words[0];
    command(bin(tool))
        .env("INCUS_DIR", incus_dir)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .envs(env.iter().copied())
        .arg("--")
        .args(&words)
        .output()
        .expect("run the completer")
}
