//! Progress on stderr, only when stderr is a terminal and not `--quiet`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar counting records done; hidden in a pipe.
pub fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    styled(len, what, quiet, "{pos}/{len}")
}

/// A percentage bar for one long operation; hidden in a pipe.
pub fn percent(what: &str, quiet: bool) -> ProgressBar {
    styled(100, what, quiet, "{pos}%")
}

fn styled(len: u64, what: &str, quiet: bool, count: &str) -> ProgressBar {
    if quiet || !crate::cli::stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{msg}} [{{bar:30}}] {count} {{elapsed}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A spinner for a wait of at most `limit`, counting down the seconds left;
/// hidden in a pipe.
pub fn countdown(what: &str, limit: Duration, quiet: bool) -> ProgressBar {
    if quiet || !crate::cli::stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
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
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}
