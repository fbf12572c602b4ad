//! Progress on stderr, only when stderr is a terminal and not `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting records done; hidden in a pipe.
pub fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !crate::cli::stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A percentage bar for one long operation; hidden in a pipe.
pub fn percent(what: &str, quiet: bool) -> ProgressBar {
    if quiet || !crate::cli::stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(100);
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}% {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
