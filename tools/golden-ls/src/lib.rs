//! `golden-ls`: list goldens — instances with a `pristine` snapshot — with what a
//! user needs to decide: when pristine was made, whether clones share blocks, how
//! many clones exist and how many are stale.
//!
//! With `--clones`, one record per derived instance instead (`clones`).
//!
//! Here: the command line and the run. What the daemon is asked is in
//! `listing`, the golden records in `goldens`, the clone records in `clones`.

mod clones;
#[cfg(test)]
mod fixtures;
mod generations;
mod goldens;
mod kept;
mod listing;

use std::collections::BTreeSet;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::incus::{ClusterMember, Incus, Instance, Scope};
use golden::name::{check_instance_name, check_project_name, split_remote};
use golden::output::{OutputArgs, Printer};
use golden::{Error, Result, Status};

pub use clones::{clones, CloneRow, CLONE_COLUMNS};
pub use generations::{generations, GenerationRow, GENERATION_COLUMNS};
pub use goldens::{goldens, GoldenRow, COLUMNS};
pub use kept::{kept, KeptRow, KEPT_COLUMNS};
pub use listing::{fetch, fetch_for_clones, fetch_for_kept, Listing};

#[derive(Debug, Parser)]
#[command(
    name = "golden-ls",
    version,
    about = "List golden instances: Incus instances with a pristine snapshot",
    long_about = "List golden instances: Incus instances that have a snapshot named \
        pristine. Without -p, every project is listed. Each golden is shown with when \
        its pristine was made, its storage pool and whether deriving from it shares \
        blocks (cow), how many instances were derived from it and how many of those \
        came from an older pristine (stale). In a cluster, location names its member, \
        clones are counted on every member, and a member that is offline is named in a \
        notice (its instances are listed without their config: clones there are not \
        counted) while the rest is listed.\n\n\
        With --clones, one record per derived instance instead: of the goldens NAMEd \
        (in any project), or of every template. Each names its template (project/name, \
        found by its uuid when renamed), the created_at of the pristine it came from, \
        and stale: true when the template's pristine has been made again since (a \
        template gone or without pristine leaves nothing to refresh from: false). -p \
        then keeps the clones of that project.\n\n\
        Output is a table on a terminal and TSV with a header in a pipe, so it feeds \
        golden-create, golden-derive and golden-publish directly; --clones records \
        name the clone in project and instance, as the other tools read them.\n\n\
        With --kept, one record per thing the tools keep beside them, so that none is \
        out of sight: each clone's pre-refresh copy (kind pre-refresh, of the clone, \
        with the snapshots it holds) and each image golden-refresh made to rebuild \
        from (kind refresh-image, its fingerprint as instance, of the template, with \
        its size). golden-refresh --discard CLONE removes them; -p keeps those of \
        that project.\n\n\
        With --generations, one record per generation of each golden (of the NAMEd, or \
        of all): its number, its snapshot (pristine for the current one, pristine.gN for \
        those golden-create kept), when it was made, whether it is current, how many \
        living clones came from it, and why it was revoked (empty if it was not). \
        --clones records name the generation each clone came from (gone: its pristine \
        is no longer kept), and plain golden-ls names such clones in a notice."
)]
pub struct Args {
    /// Only these goldens ([REMOTE:]NAME); `REMOTE:` alone lists that remote
    #[arg(value_name = "NAME", add = golden::complete::goldens())]
    pub names: Vec<String>,
    /// Only this Incus project (default: all projects); with --clones, the clones' project
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// One record per derived instance (of the NAMEd goldens, or of all): its template, pristine and whether stale
    #[arg(long)]
    pub clones: bool,
    /// One record per thing the tools keep (pre-refresh copies, refresh images): of the NAMEd goldens, or of all
    #[arg(long, conflicts_with = "clones")]
    pub kept: bool,
    /// One record per generation of the NAMEd goldens, or of all: its clones, revoked or not
    #[arg(long, conflicts_with_all = ["clones", "kept"])]
    pub generations: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    // Everything the user typed is checked before the daemon is asked anything.
    let columns = match (args.clones, args.kept, args.generations) {
        (true, _, _) => CLONE_COLUMNS,
        (_, true, _) => KEPT_COLUMNS,
        (_, _, true) => GENERATION_COLUMNS,
        _ => COLUMNS,
    };
    let mut printer = Printer::stdout(&args.output, columns)?;
    if let Some(p) = &args.project {
        check_project_name(p)?;
    }
    let (remote, wanted) = parse_names(&args.names)?;
    let incus = Incus::new(remote);
    let scope = Scope::from_option(args.project.as_deref());

    // Incus lists nothing (or fails oddly) for an unknown project: ask only then.
    let listing = if args.kept {
        fetch_for_kept(&incus, &scope)
    } else if args.clones {
        fetch_for_clones(&incus, &scope)
    } else {
        fetch(&incus, &scope)
    };
    if let Some(p) = &args.project {
        let none_there = listing
            .as_ref()
            .map_or(true, |l| l.instances.iter().all(|i| &i.project != p));
        if none_there && !incus.project_exists(p)? {
            return Err(Error::usage(format!("project not found: {p}")));
        }
    }
    let listing = listing?;
    for m in listing.members.iter().filter(|m| !m.is_online()) {
        say_offline(m, &listing.instances, args.clones);
    }
    // With --clones, -p is the clones' project: the goldens NAMEd are looked
    // for in every project, as a clone's template may be in another.
    let golden_project = args
        .project
        .as_deref()
        .filter(|_| !args.clones && !args.kept);
    let rows: Vec<GoldenRow> = goldens(&listing)
        .into_iter()
        .filter(|r| golden_project.is_none_or(|p| r.project == p))
        .collect();
    let status = report_non_goldens(&wanted, &rows, &listing, golden_project);

    if args.kept {
        for row in kept(&listing, &wanted, args.project.as_deref()) {
            printer.print(&row)?;
        }
    } else if args.clones {
        for row in clones(&listing, &wanted, args.project.as_deref()) {
            printer.print(&row)?;
        }
    } else {
        let chosen: Vec<&GoldenRow> = rows
            .iter()
            .filter(|r| wanted.is_empty() || wanted.contains(&r.instance))
            .collect();
        if args.generations {
            for row in generations(&listing, &chosen) {
                printer.print(&row)?;
            }
        } else {
            for row in &chosen {
                printer.print(*row)?;
            }
            say_orphans(&listing, &chosen);
        }
    }
    printer.finish()?;
    Ok(status)
}

/// Each NAME that is no golden is one failure (exit 1), named on stderr; the
/// goldens that were found are listed all the same.
fn report_non_goldens(
    wanted: &BTreeSet<String>,
    goldens: &[GoldenRow],
    listing: &Listing,
    project: Option<&str>,
) -> Status {
    let mut status = Status::Done;
    for name in wanted {
        if !goldens.iter().any(|r| &r.instance == name) {
            let exists = listing.instances.iter().any(|i| &i.name == name);
            let why = if exists {
                format!("{name}: not a golden (no pristine snapshot); make it one with `golden-create {name}`")
            } else {
                format!("{name}: no such instance{}", in_project(project))
            };
            golden::cli::report(&Error::failed(why));
            status = Status::Partial;
        }
    }
    status
}

/// A cluster member that is not online: its instances come from the cluster's
/// database alone (status Error, no config), so what they say is not known.
fn say_offline(m: &ClusterMember, instances: &[Instance], clones: bool) {
    let on_it = instances
        .iter()
        .filter(|i| i.member() == Some(m.server_name.as_str()))
        .count();
    let why = match m.message.as_str() {
        "" => String::new(),
        msg => format!(" ({msg})"),
    };
    // Without their config, its instances cannot be told to be clones.
    let missed = if clones {
        "clones on it are not listed"
    } else {
        "clones on it are not counted in derived and stale"
    };
    golden::cli::notice(format!(
        "cluster member {} is {}{why}: its {on_it} instances are listed without their \
             config or pool, and {missed}",
        m.server_name,
        m.status.to_lowercase()
    ));
}

/// Clones whose pristine is gone: nothing lists them with their golden's
/// generations, and a user must know before a rollback or a retire.
fn say_orphans(listing: &Listing, goldens: &[&GoldenRow]) {
    for (golden, clones) in generations::orphans(listing, goldens) {
        golden::cli::notice(format!(
            "{golden}: {} clone(s) came from a pristine that is gone: {} (golden-refresh \
             rebuilds them from the current one)",
            clones.len(),
            clones.join(", ")
        ));
    }
}

fn in_project(p: Option<&str>) -> String {
    p.map(|p| format!(" in project {p}")).unwrap_or_default()
}

/// Splits the NAME arguments into one remote and the instance names wanted.
fn parse_names(names: &[String]) -> Result<(Option<String>, BTreeSet<String>)> {
    let mut remotes = BTreeSet::new();
    let mut wanted = BTreeSet::new();
    for n in names {
        let (remote, name) = split_remote(n)?;
        remotes.insert(remote);
        if !name.is_empty() {
            check_instance_name(name)?;
            wanted.insert(name.to_string());
        } else if !n.ends_with(':') {
            check_instance_name(name)?;
        }
    }
    if remotes.len() > 1 {
        return Err(Error::usage("names from more than one remote in one call"));
    }
    Ok((remotes.into_iter().next().flatten(), wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_one_remote_and_checked_names() {
        let (r, w) = parse_names(&["lo:".into(), "lo:pro-dev".into()]).unwrap();
        assert_eq!(r.as_deref(), Some("lo"));
        assert_eq!(w.into_iter().collect::<Vec<_>>(), ["pro-dev"]);
        assert!(parse_names(&["a:x".into(), "b:y".into()]).is_err());
        assert_eq!(
            parse_names(&["bad/name".into()]).unwrap_err().exit_code(),
            2
        );
        assert_eq!(parse_names(&["".into()]).unwrap_err().exit_code(), 2);
    }
}
