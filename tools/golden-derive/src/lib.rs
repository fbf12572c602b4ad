//! `golden-derive`: new instances from `TEMPLATE/pristine`, one or many at once.
//!
//! In phases, each importing only what comes before it, so that a change to a
//! later phase never reaches back into an earlier one:
//!
//! 1. input ([`input`]): which clones of which templates, from the arguments
//!    or stdin; templates on a cluster member that is down are told apart
//!    before anything is read of them ([`offline`]).
//! 2. template ([`template`]): each template read once and checked on what a
//!    clone will really get ([`expand`]: the pristine's devices with the
//!    clone's profiles), from the snapshot [`pristine`] names under the
//!    readers' lock.
//! 3. plan ([`plan`]): every clone's name, member ([`placement`]), address
//!    ([`addresses`]), devices ([`overrides`]) and volumes, with the copy
//!    request the daemon judges ([`request`]), before the first copy; then
//!    what will be a full copy is said ([`full_copies`]).
//! 4. identity ([`renew`]): decided per template once the plan is known, and
//!    SSH host keys made ahead while the daemon copies.
//! 5. copy ([`copy`]): `-j` at a time through the daemon's own copy operation,
//!    CoW where the pool allows (in a spread, later clones on a member copy its
//!    first, [`seeds`]); each new container gets its own identity before it is
//!    ever started ([`renew`] applies it, [`reset`] handles its failure).
//!
//! Below them all, shared by every phase: the command line ([`args`]), what
//! the user asked for, checked ([`options`]), a device map ([`devices`]) and
//! the record printed ([`derived`]).

mod addresses;
mod args;
mod copy;
mod derived;
mod devices;
mod expand;
mod full_copies;
mod input;
mod offline;
mod options;
mod overrides;
mod placement;
mod plan;
mod pristine;
mod protect;
mod renew;
mod request;
mod reset;
mod seeds;
mod template;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use golden::batch;
use golden::output::Printer;
use golden::target::locate;
use golden::{Error, Result, Status};

pub use args::{Args, Volumes};
pub use derived::{Derived, COLUMNS};
use options::Options;
use template::Template;

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let opts = Options::from_args(&args)?;

    let (wanted, requests) = input::read(&args)?;
    let targets = locate(wanted)?;
    // One remote for all (input::read made sure): pools and members are read once.
    let incus = targets[0].incus();
    let pools = golden::incus::PoolBook::new(&incus);
    let members = incus.cluster_members()?;
    // Templates on an offline member cannot be read: their clones are refused.
    let (targets, requests, mut refused) = offline::on_offline_members(targets, requests);
    let templates = targets
        .into_iter()
        .map(|t| Template::read(t, &opts, &pools))
        .collect::<Result<Vec<_>>>()?;
    let of: Vec<placement::Of> = templates
        .iter()
        .map(|t| placement::Of {
            name: &t.target.name,
            member: t.location.as_deref(),
            pool: &t.pool,
        })
        .collect();
    let mut placement = placement::Placement::new(&opts.placement, &members, &of)?;
    let mut plan = plan::plan(&incus, &templates, requests, &opts, &mut placement)?;
    refused.append(&mut plan.refused);
    plan.refused = refused;
    let renewals = renew::prepare(&templates, &plan.jobs, &opts)?;
    let seeds = seeds::Seeds::new(!opts.start);
    full_copies::say(&templates, &plan.jobs, seeds.enabled);

    for refused in &plan.refused {
        golden::cli::report(refused);
    }
    if opts.run.fail_fast && !plan.refused.is_empty() {
        printer.finish()?;
        return Ok(Status::Partial);
    }
    if !opts.run.dry_run {
        protect::protect(&templates, &plan.jobs);
    }
    let batch_opts = batch::Options {
        jobs: opts.jobs,
        fail_fast: opts.run.fail_fast,
        progress: Some("deriving"),
    };
    let status = batch::run(
        &plan.jobs,
        batch_opts,
        printer,
        |job| job.name.clone(),
        |job| copy::derive_one(job, &templates[job.template], &renewals, &opts, &seeds),
    )?;
    renewals.pool.stop();
    Ok(if plan.refused.is_empty() {
        status
    } else {
        Status::Partial
    })
}
