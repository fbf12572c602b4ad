//! What every tool's `main` does: parse, run, map the result to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{ArgMatches, Args, Command};

use crate::error::{Error, Result, Status};
use crate::record::{read_records, Records};

/// The options of every tool that changes something.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Stop at the first failure (default: go on with the other records)
    #[arg(long)]
    pub fail_fast: bool,
    /// Print what would be done; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Print no notices or progress on stderr (errors still go there)
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs a tool: answer a shell's completion request (see [`crate::complete`]),
/// or parse the arguments with its clap `Command`, call `run`, and turn
/// the outcome into an exit code. Usage errors from clap exit 2; a closed stdout
/// (`| head`) is a quiet, successful end.
pub fn main(command: Command, run: fn(&ArgMatches) -> Result<Status>) -> ExitCode {
    // A shell asking for completions (COMPLETE set) is answered, and we exit.
    crate::complete::on_request(&command);
    let name = command.get_name().to_string();
    let matches = match command.try_get_matches() {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{name}: {}", one_line(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let quiet = matches!(matches.try_get_one::<bool>("quiet"), Ok(Some(true)));
    crate::term::init(&name, quiet);
    match run(&matches) {
        Ok(status) => ExitCode::from(status.exit_code()),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            crate::term::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Folds clap's several-line usage error into one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .map(|l| l.trim_start_matches("error: "))
        .collect::<Vec<_>>()
        .join("; ")
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, a first SIGINT (Ctrl-C), SIGTERM or SIGHUP asks the run to stop
/// starting new work: what is under way finishes and its records are printed.
/// A second one ends the process at once. (ctrlc's `termination` feature is
/// what brings SIGTERM and SIGHUP here.)
pub fn stop_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
}

/// Has the user asked us to stop?
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The error a run ends with when it was interrupted: exit 130, as a shell
/// reports a process ended by SIGINT.
pub fn interrupted_error(not_started: usize) -> Error {
    Error::Interrupted(format!(
        "interrupted: {not_started} not started; the records above were done"
    ))
}

/// Reports one failed record on stderr (the run goes on and ends with exit 1).
pub fn report(err: &Error) {
    crate::term::error(err);
}

/// Prints a notice on stderr unless `--quiet` (see [`crate::term`]).
pub fn notice(msg: impl std::fmt::Display) {
    crate::term::notice(msg);
}

/// Where a tool's records come from: its NAME arguments, or stdin when there is
/// none (or the single argument `-`) and stdin is not a terminal.
pub enum Input {
    Args(Vec<String>),
    Stdin(Records<std::io::BufReader<std::io::Stdin>>),
}

pub fn input(names: &[String], what: &str) -> Result<Input> {
    let from_stdin = names.is_empty() || (names.len() == 1 && names[0] == "-");
    if !from_stdin {
        if names.iter().any(|n| n == "-") {
            return Err(Error::usage("'-' (read stdin) must be the only name"));
        }
        return Ok(Input::Args(names.to_vec()));
    }
    if std::io::stdin().is_terminal() {
        return Err(Error::usage(format!(
            "no {what} given (give one or more, or pipe records on stdin)"
        )));
    }
    Ok(Input::Stdin(read_records(std::io::stdin())?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_errors_fold_into_one_line() {
        let text = "error: invalid value 'yaml' for '--format <FORMAT>'\n  [possible values: table, tsv, json]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::one_line(text),
            "invalid value 'yaml' for '--format <FORMAT>'; [possible values: table, tsv, json]"
        );
    }
}
