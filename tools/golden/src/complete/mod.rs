//! Tab completion: clap_complete's dynamic completion, answered by the tool
//! itself. The shell scripts (`COMPLETE=bash golden-ls` prints one; `make
//! install` puts them where bash-completion, zsh and fish look) only call the
//! tool back with the words of the command line: options and their values come
//! from the tool's own clap parser, names from the daemon the command would
//! talk to (its `REMOTE:` and `--project` read from those words).
//!
//! A completion must never keep the shell waiting nor write on its terminal:
//! what asks the daemon runs within a short budget ([`BUDGET_VAR`], default
//! 2 s), with the requests' own timeout as short, and gives nothing if the
//! daemon does not answer by then; errors are dropped (nothing is printed on
//! stderr, a panic included).
//!
//! - `context`: what the words typed so far say (the remote, the project);
//! - `candidates`: the value completers the tools attach to their arguments;
//! - `shells`: the registration scripts.

mod candidates;
mod context;
mod shells;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Command;
use clap_complete::CompleteEnv;

pub use candidates::{aliases, clones, containers, goldens, instances, members, pools, projects};
pub use shells::registration;

/// The variable that asks a tool for completions: `COMPLETE=bash golden-ls`
/// prints bash's registration script; the scripts set it to call the tool back.
pub const VAR: &str = "COMPLETE";

/// Seconds a completion may wait for the daemon (decimals allowed).
pub const BUDGET_VAR: &str = "GOLDEN_COMPLETE_TIMEOUT";

const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// The tool's parser, read again for the context of a value being completed.
static COMMAND: OnceLock<Command> = OnceLock::new();

/// When the completion began: the budget is counted from there.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// The first thing a tool's `main` does: when the shell asks for completions
/// (`COMPLETE` set), answer on stdout and exit; otherwise return at once.
pub fn on_request(command: &Command) {
    match std::env::var_os(VAR) {
        Some(v) if !v.is_empty() && v != "0" => {}
        _ => return,
    }
    STARTED.get_or_init(Instant::now);
    // Nothing on the terminal: no notice, no panic message.
    crate::term::init(command.get_name(), true);
    std::panic::set_hook(Box::new(|_| {}));
    let _ = COMMAND.set(command.clone());
    let cmd = command.clone();
    CompleteEnv::with_factory(move || cmd.clone())
        .shells(shells::SHELLS)
        .complete();
}

/// How long a completion may wait for the daemon in all.
fn budget() -> Duration {
    std::env::var(BUDGET_VAR)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(DEFAULT_BUDGET)
}

/// What is left of the budget.
fn remaining() -> Duration {
    let started = *STARTED.get_or_init(Instant::now);
    budget().saturating_sub(started.elapsed())
}

/// Runs `work` (which asks the daemon) for at most what is left of the
/// budget: its answer, or nothing when it is late (the process exits once the
/// completion is written, the late thread with it).
fn within_budget<T: Send + 'static>(work: impl FnOnce() -> Vec<T> + Send + 'static) -> Vec<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(remaining()).unwrap_or_default()
}
