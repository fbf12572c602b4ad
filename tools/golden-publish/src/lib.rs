//! `golden-publish`: turn a golden's `pristine` into a reusable Incus image with an alias.
//!
//! In phases, each importing only what comes before it:
//!
//! 1. plan ([`plan`]): each golden's alias, pristine, image store and
//!    attached volumes, all checked before the first image is made.
//! 2. image ([`image`]): made from the pristine under the readers' lock,
//!    through the daemon's image operation, its progress drawn.
//! 3. alias ([`alias`]): pointed at the new image; a replaced image removed.
//!
//! [`publish`] runs them for one golden. Below them all: the command line
//! ([`args`]), what the user asked for, checked ([`options`]), and the
//! record printed ([`published`]).

mod alias;
mod args;
mod image;
mod options;
mod plan;
mod publish;
mod published;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use golden::batch;
use golden::cli::input;
use golden::output::Printer;
use golden::target::{locate, wanted};
use golden::{Error, Result, Status};
use plan::Planned;

pub use args::Args;
pub use published::{Published, COLUMNS};

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let expires = args
        .expires
        .as_deref()
        .map(options::parse_expiry)
        .transpose()?;
    let targets = locate(wanted(
        input(&args.names, "golden")?,
        args.project.as_deref(),
        "instance",
    )?)?;
    let planned = plan::plan(targets, &args.alias, args.allow_revoked, args.generation)?;

    let opts = batch::Options {
        jobs: 1,
        fail_fast: args.run.fail_fast,
        progress: None,
    };
    batch::run(
        &planned,
        opts,
        printer,
        |p| p.target().name.clone(),
        |p| match p {
            Planned::Publish(job) => publish::one(job, &args, expires.as_deref()),
            Planned::Offline(t) => Err(t.reachable().expect_err("planned for its member down")),
        },
    )
}
