//! `golden-derive`: new instances from `TEMPLATE/pristine`, one or many at once.
//!
//! In phases, each its own module: the clones asked for ([`input`]), the
//! templates read and checked ([`template`]) on what a clone will really get
//! ([`expand`]: the pristine's devices with the clone's profiles), one plan for
//! every clone ([`plan`]: names, addresses, devices, volumes), then the copies
//! in parallel through the daemon's own copy operation, CoW where the pool
//! allows ([`copy`]), each from the snapshot [`pristine`] names under the
//! readers' lock. Everything is checked before the first copy. Each new
//! container then gets its own identity before it is ever started
//! ([`renew`]: machine-id, SSH host keys made here ([`keys`]), hostname, DHCP
//! leases, random seed; [`identity`] surveys, [`reset`] writes).

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
mod placement;
mod plan;
mod pristine;
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
    let (targets, requests, mut refused) =
        offline::on_offline_members(&incus, &members, targets, requests)?;
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
    let mut placement = placement::Placement::new(&opts.placement, &members, &of, opts.run.quiet)?;
    let mut plan = plan::plan(&incus, &templates, requests, &opts, &mut placement)?;
    refused.append(&mut plan.refused);
    plan.refused = refused;
    let renewals = renew::prepare(&templates, &plan.jobs, &opts)?;
    let seeds = seeds::Seeds::new(!opts.start);
    full_copies::say(&templates, &plan.jobs, seeds.enabled, opts.run.quiet);

    for refused in &plan.refused {
        golden::cli::report(refused);
    }
    if opts.run.fail_fast && !plan.refused.is_empty() {
        printer.finish()?;
        return Ok(Status::Partial);
    }
    let batch_opts = batch::Options {
        jobs: opts.jobs,
        fail_fast: opts.run.fail_fast,
        quiet: opts.run.quiet,
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
