//! placeholder
use clap::{ArgMatches, Command};
use golden::{Result, Status};
pub fn command() -> Command {
    Command::new("x")
}
pub fn run(_m: &ArgMatches) -> Result<Status> {
    Ok(Status::Done)
}
