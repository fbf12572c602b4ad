//! The one owner of a tool's stderr: notices, failed records, traces and
//! progress. Set up once by `cli::main` from the parsed `--quiet`; the rest
//! of the code says what happened and never decides whether or how to draw.
//!
//! On a terminal (and without `--quiet`) every bar and spinner lives in one
//! indicatif `MultiProgress`, and every line of text is printed through it,
//! above the bars: a notice from a worker thread never tears a bar, and a
//! finished spinner is cleared, not left frozen on screen. In a pipe nothing
//! is drawn, and text goes to stderr as plain lines.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

struct Sink {
    tool: String,
    quiet: bool,
    /// Some when bars are drawn: stderr is a terminal and not `--quiet`.
    bars: Option<MultiProgress>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sets the sink up for `tool` (once; later calls change nothing).
pub fn init(tool: &str, quiet: bool) {
    SINK.get_or_init(|| {
        let draw = !quiet && std::io::stderr().is_terminal();
        Sink {
            tool: tool.to_string(),
            quiet,
            bars: draw.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    });
}

fn sink() -> &'static Sink {
    // A library caller (tests, xtask) that never ran `cli::main`: plain
    // lines on stderr, no bars.
    SINK.get_or_init(|| Sink {
        tool: "golden".into(),
        quiet: false,
        bars: None,
    })
}

/// The running tool's name, for its messages.
pub fn tool() -> &'static str {
    &sink().tool
}

/// One line on stderr, above the bars if any are drawn.
fn line(text: String) {
    match &sink().bars {
        Some(m) => m.suspend(|| eprintln!("{text}")),
        None => eprintln!("{text}"),
    }
}

/// Runs `f` (which writes to stdout or stderr) with the bars off the
/// screen, drawn again after it. `f` must not print through this sink.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    match &sink().bars {
        Some(m) => m.suspend(f),
        None => f(),
    }
}

/// A notice ("stopping web", "making an image of …"), unless `--quiet`.
pub fn notice(msg: impl std::fmt::Display) {
    if !sink().quiet {
        line(format!("{}: {msg}", tool()));
    }
}

/// A failed record or the run's error: always printed.
pub fn error(msg: impl std::fmt::Display) {
    line(format!("{}: {msg}", tool()));
}

/// A `GOLDEN_TRACE` line (asked for explicitly: printed even with `--quiet`).
pub fn trace(msg: impl std::fmt::Display) {
    line(format!("golden: {msg}"));
}

/// A bar that draws nowhere until [`added`]: a bar made with the default
/// target draws itself on stderr as soon as it gets a message, outside the
/// `MultiProgress`, which then never clears that line (seen: a frozen
/// "⠁ stopping c3 (29 s left)" under every notice).
fn unattached(len: Option<u64>) -> ProgressBar {
    ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden())
}

fn added(pb: ProgressBar) -> ProgressBar {
    match &sink().bars {
        Some(m) => m.add(pb),
        None => ProgressBar::hidden(),
    }
}

/// A bar counting records done.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    styled(len, what, "{pos}/{len}")
}

/// A percentage bar for one long operation.
pub fn percent(what: &str) -> ProgressBar {
    styled(100, what, "{pos}%")
}

fn styled(len: u64, what: &str, count: &str) -> ProgressBar {
    if sink().bars.is_none() {
        return ProgressBar::hidden();
    }
    let pb = unattached(Some(len));
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{msg}} [{{bar:30}}] {count} {{elapsed}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    added(pb)
}

/// A spinner for a wait of at most `limit`, counting down the seconds left;
/// cleared from the screen when dropped, however the wait ended.
pub fn countdown(what: &str, limit: Duration) -> Countdown {
    if sink().bars.is_none() {
        return Countdown(ProgressBar::hidden());
    }
    let pb = unattached(None);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({left} s left)")
            .expect("valid template")
            .with_key(
                "left",
                move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let left = limit.saturating_sub(state.elapsed()).as_secs();
                    let _ = write!(w, "{left}");
                },
            ),
    );
    pb.set_message(what.to_string());
    let pb = added(pb);
    pb.enable_steady_tick(Duration::from_millis(200));
    Countdown(pb)
}

/// A countdown spinner on screen for as long as it lives.
pub struct Countdown(ProgressBar);

impl Drop for Countdown {
    fn drop(&mut self) {
        self.0.finish_and_clear();
        if let Some(m) = &sink().bars {
            m.remove(&self.0);
        }
    }
}
