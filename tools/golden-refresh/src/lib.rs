//! `golden-refresh`: rebuild stale clones in place from their template's
//! current pristine, keeping what makes each one itself.
//!
//! The daemon's own rebuild (`POST /1.0/instances/NAME/rebuild`, from an
//! image of the pristine) replaces the root disk and keeps the instance
//! record: name, project, member, profiles, config, devices, MAC addresses,
//! attached volumes. The identity (machine-id, SSH host keys, hostname,
//! cloud-init's record of the instance) is carried from the old root. The
//! old state is kept first as a stopped copy, `NAME-pre-refresh` (a rebuild
//! refuses an instance with snapshots: the clone's snapshots go with that
//! copy). Each step leaves a mark on the clone, so a run killed anywhere is
//! finished by a rerun (see [`refresh`]).

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::batch;
use golden::cli::{input, Input};
use golden::output::{Column, OutputArgs, Printer};
use golden::target::{locate, locate_each_once, wanted, wanted_from};
use golden::{Error, Result, Status};
use serde::Serialize;

mod backup;
mod discard;
mod image;
mod plan;
mod refresh;
mod restore;

use plan::Planned;

#[derive(Debug, Parser)]
#[command(
    name = "golden-refresh",
    version,
    about = "Rebuild stale clones in place from their template's current pristine",
    long_about = "Rebuild each CLONE's root filesystem from its template's current pristine \
        snapshot, keeping everything else: its name, project, cluster member, profiles, \
        config keys, devices (static addresses, attached custom volumes and their data), \
        MAC addresses, power state, and its identity (machine-id, SSH host keys, hostname \
        and cloud-init's record of which instance it is, carried from the old root so \
        known_hosts stays valid and cloud-init does not take it for a new instance at its \
        next boot; --new-identity makes new ones). A running clone is stopped cleanly first and started again.\n\n\
        The state before the refresh is kept as a stopped copy named CLONE-pre-refresh \
        (a name too long for that is cut short and given 8 hex digits of its hash; \
        replaced at the next refresh; --no-keep removes it once done). The clone's own \
        snapshots move to that copy: the daemon's rebuild needs a clone without any. \
        So a refresh whose copy would replace one still holding snapshots is refused \
        before anything changes, naming them (-n says the same): keep them elsewhere or \
        remove them, then rerun. --discard removes a clone's copy when it is no longer \
        wanted (golden-ls --kept lists the copies and the images a refresh keeps). \
        A clone already made from the current pristine is reported up-to-date and left \
        alone (--again refreshes it anyway). A run killed at any point leaves every clone \
        usable, old or new, and a rerun finishes the job.\n\n\
        Without CLONE (or with -), records are read from stdin, as golden-ls --clones \
        prints them: `golden-ls --clones -f json | jq -c 'select(.stale)' | golden-refresh`. \
        Empty input refreshes nothing and succeeds."
)]
pub struct Args {
    /// Clones to refresh ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "CLONE", add = golden::complete::clones())]
    pub names: Vec<String>,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    #[command(flatten)]
    pub stop: golden::power::StopArgs,
    /// Refresh clones that are up to date too
    #[arg(long)]
    pub again: bool,
    /// Give each clone a new identity instead of carrying its own
    #[arg(long)]
    pub new_identity: bool,
    /// Remove the pre-refresh copy once the clone is refreshed
    #[arg(long)]
    pub no_keep: bool,
    /// Put each CLONE back as it was before its last refresh, from
    /// CLONE-pre-refresh (the refreshed state is removed)
    #[arg(long, conflicts_with_all = ["again", "new_identity", "no_keep"])]
    pub restore: bool,
    /// Remove each CLONE's pre-refresh copy (refused while it holds
    /// snapshots), and the refresh images no clone needs any more
    #[arg(long, conflicts_with_all = ["again", "new_identity", "no_keep", "restore"])]
    pub discard: bool,
    /// Clones refreshed at once
    /// Rebuild from generation N of the template (golden-ls --generations), not its current pristine
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with_all = ["restore", "discard"])]
    pub generation: Option<u64>,
    /// Rebuild from a pristine whose generation is revoked (golden-revoke) all the same
    #[arg(long, conflicts_with_all = ["restore", "discard"])]
    pub allow_revoked: bool,
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One clone refreshed (or, with -n, to be).
#[derive(Debug, Clone, Serialize)]
pub struct Refreshed {
    pub project: String,
    pub instance: String,
    /// `project/name` of its template.
    pub template: String,
    /// The pristine it was made from before.
    pub from: String,
    /// The pristine it is made from now.
    pub to: String,
    /// `refreshed`, `up-to-date`, `restored`, `discarded`; with -n `would-refresh`,
    /// `would-restore`, `would-discard`.
    pub status: String,
    /// `carried`, `new`, or `-` (nothing done).
    pub identity: String,
    /// The stopped copy of its state before the refresh (empty: none kept).
    pub kept: String,
    /// Its snapshots, moved to the kept copy.
    pub snapshots: usize,
    /// Started again (it ran before)?
    pub restarted: bool,
}

/// The columns, in order (see [`golden::model::REFRESH_COLUMNS`]).
pub const COLUMNS: &[Column] = golden::model::REFRESH_COLUMNS;

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let wanted = match input(&args.names, "clone")? {
        Input::Stdin(records) => {
            let records = records.collect::<Result<Vec<_>>>()?;
            // `... | jq 'select(.stale)' | golden-refresh` with none stale.
            if records.is_empty() {
                printer.finish()?;
                return Ok(Status::Done);
            }
            wanted_from(records, args.project.as_deref(), "instance")?
        }
        args_input => wanted(args_input, args.project.as_deref(), "instance")?,
    };
    let opts = batch::Options {
        jobs: args.jobs,
        fail_fast: args.run.fail_fast,
        progress: Some(if args.restore {
            "restoring"
        } else if args.discard {
            "discarding"
        } else {
            "refreshing"
        }),
    };
    if args.discard {
        let clones = locate_each_once(wanted)?;
        let places = discard::Places::default();
        let status = batch::run(
            &clones,
            opts,
            printer,
            |c| c.name.clone(),
            |c| discard::one(c, &args, &places),
        );
        if !args.run.dry_run {
            places.clean();
        }
        return status;
    }
    if args.restore {
        // Found by their copies: a clone removed by an interrupted restore
        // is restored all the same.
        let mut wanted = wanted;
        for w in &mut wanted {
            w.instance.name = backup::name(&w.instance.name)?;
        }
        let kept = locate(wanted)?;
        return batch::run(
            &kept,
            opts,
            printer,
            |k| k.name.clone(),
            |k| restore::one(k, &args),
        );
    }
    let targets = locate_each_once(wanted)?;
    let planned = plan::plan(targets)?;
    plan::judge_sources(&planned, args.generation, args.allow_revoked)?;
    let images = image::Images::of_generation(args.generation);
    let status = batch::run(
        &planned,
        opts,
        printer,
        |p| p.clone_target().name.clone(),
        |p| match p {
            Planned::Refresh(j) => refresh::one(j, &args, &images),
            Planned::Offline(t) => Err(t.reachable().expect_err("planned for its member down")),
        },
    );
    if !args.run.dry_run {
        images.clean();
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Refreshed {
            project: "p".into(),
            instance: "c".into(),
            template: "p/t".into(),
            from: String::new(),
            to: String::new(),
            status: "refreshed".into(),
            identity: "carried".into(),
            kept: String::new(),
            snapshots: 0,
            restarted: false,
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }
}
