//! Stopping an instance as golden-create and golden-refresh do: cleanly
//! within a timeout (counted down on a terminal), or killed with `--force`;
//! a zero timeout is refused, as Incus reads it as "kill at once".

use std::time::Duration;

use crate::cli::notice;
use crate::error::{Error, Result};
use crate::incus::Incus;

/// How a running instance is stopped: golden-create's and golden-refresh's
/// `--timeout` and `--force`.
#[derive(Debug, Clone, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait for a clean stop before giving up (at least 1)
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = parse_timeout)]
    pub timeout: u64,
    /// Kill the instance instead of a clean stop
    #[arg(long)]
    pub force: bool,
}

impl StopArgs {
    /// Stops `name` as these options say.
    pub fn stop(&self, incus: &Incus, at: (&str, &str)) -> Result<()> {
        stop(incus, at, self.timeout, self.force)
    }
}

/// The `--timeout` value parser: seconds, at least one.
pub fn parse_timeout(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err(
            "0 would kill the instance (Incus reads it as --force): give 1 or more, or --force"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of seconds")),
    }
}

/// Stops `name`, cleanly within `timeout` seconds or killed (`force`).
fn stop(incus: &Incus, (project, name): (&str, &str), timeout: u64, force: bool) -> Result<()> {
    // A clean stop may take the whole timeout: say so at once, and count
    // down on a terminal, rather than show nothing for a minute.
    let how = if force { "killing" } else { "stopping" };
    let waiting = if force {
        String::new()
    } else {
        format!(" (waiting up to {timeout} s for it to stop)")
    };
    notice(format!("{how} {name}{waiting}"));
    let countdown = crate::term::countdown(&format!("{how} {name}"), Duration::from_secs(timeout));
    let stopped = incus.set_state(project, name, "stop", Some(timeout), force);
    drop(countdown);
    match stopped {
        Ok(()) => Ok(()),
        Err(e) if !force => Err(Error::failed(format!(
            "{e} (it did not stop within {timeout} s; retry with a longer --timeout, or --force to kill it)"
        ))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_timeout_is_refused_never_a_kill() {
        assert!(parse_timeout("0").unwrap_err().contains("kill"));
        assert_eq!(parse_timeout("1"), Ok(1));
        assert!(parse_timeout("soon").is_err());
    }
}
