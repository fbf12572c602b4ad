//! `golden-create`: make an instance a golden — stop it, (re)make `pristine`, safely.
//!
//! The new `pristine` is taken before the old one is removed (see `golden::swap`),
//! attached custom volumes get a `pristine` of their own the same way, and the
//! snapshots never expire whatever `snapshots.expiry` says.

mod generations;
mod rollback;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::batch;
use golden::cli::notice;
use golden::incus::SnapshotsOf;
use golden::model::PRISTINE;
use golden::output::{col, Column, OutputArgs, Printer};
use golden::readers::{Exclusive, Snapshotting};
use golden::swap::{self, Swapped};
use golden::target::{from_names_or_stdin, Target};
use golden::{Error, Result, Status};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "golden-create",
    version,
    about = "Stop an Incus instance and (re)make its pristine snapshot",
    long_about = "Make each NAME a golden: stop it if it runs, then take a new snapshot named \
        pristine. An existing pristine is replaced safely: the new snapshot is made first \
        (as pristine.golden-next, marked as the tool's own) and swapped in by renames, so \
        a failure or a kill at any point leaves a usable golden; snapshots the user named \
        are never renamed or deleted. Custom volumes attached to the instance get a pristine \
        snapshot too. The snapshots never expire, whatever snapshots.expiry says.\n\n\
        Before the snapshot, a container gets identity templates in its metadata, so that \
        every instance made from the pristine, by any route (golden-derive, incus copy, \
        incus launch of a published image), is a machine of its own from its first start: \
        Incus renders /etc/machine-id from the instance's volatile.uuid (and a \
        /var/lib/dbus/machine-id file), /etc/hostname and /etc/hosts with its name, and \
        empties DHCP leases; with sshd and systemd, a oneshot unit installed in the golden \
        (golden-renew-ssh-keys.service) makes new host keys of the same kinds, at the paths \
        sshd reads, before sshd starts. The golden itself never renders them and keeps its \
        identity. The identity column says what is renewed; what cannot be (a symlinked \
        file) is named in a notice.\n\n\
        Without NAME (or with -), records are read from stdin: bare names, TSV with a \
        header, or NDJSON, as golden-ls prints them."
)]
pub struct Args {
    /// Instances to make goldens ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "NAME", add = golden::complete::instances())]
    pub names: Vec<String>,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    #[command(flatten)]
    pub stop: golden::power::StopArgs,
    /// Start the instance again afterwards if it was running
    #[arg(long)]
    pub restart: bool,
    /// Generations to keep, the current one included (default 3; remembered by the golden)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep: Option<u32>,
    /// Make generation N the pristine again (default: the one before), restoring the golden to it
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true,
          default_missing_value = "previous", conflicts_with = "keep")]
    pub rollback: Option<String>,
    /// With --rollback: restore a golden that ran since its pristine was made all the same
    #[arg(long, requires = "rollback")]
    pub discard_changes: bool,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One instance made (or, with -n, to be made) a golden.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub project: String,
    pub instance: String,
    pub snapshot: String,
    /// When the new pristine was made (empty with -n).
    pub created_at: String,
    /// Its generation's number.
    pub generation: u64,
    /// When the pristine it replaced was made; empty if there was none.
    pub previous: String,
    /// Did we stop it (with -n: would we)?
    pub stopped: bool,
    /// Custom volumes snapshotted with it.
    pub volumes: usize,
    /// Running again (--restart)?
    pub restarted: bool,
    /// What every instance made from this pristine renews at its first start
    /// (its templates; `-` for none).
    pub identity: String,
}

/// The columns, in order. On a narrow terminal the table keeps which golden
/// and when its pristine was made; `snapshot` (always `pristine`) and
/// `volumes` go first.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("snapshot", 4),
    col("created_at", 1),
    col("generation", 1),
    col("previous", 2),
    col("stopped", 3),
    col("volumes", 4),
    col("restarted", 3),
    col("identity", 2),
];

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let rollback_to = args
        .rollback
        .as_deref()
        .map(rollback::Wanted::parse)
        .transpose()?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let targets = from_names_or_stdin(&args.names, args.project.as_deref(), "instance")?;
    // Stopping an ephemeral instance deletes it, rootfs and pristine with it:
    // refuse before touching any, -n included.
    // One on a member that is down cannot be read: its record fails alone
    // below, naming the member.
    for t in targets.iter().filter(|t| t.reachable().is_ok()) {
        let inst = t.incus().instance(&t.project, &t.name)?;
        if inst.ephemeral {
            return Err(Error::usage(format!(
                "{t} is ephemeral: stopping it would delete it; make it persistent first \
                 (`incus config set {} ephemeral=false --project {}`)",
                t.name, t.project
            )));
        }
    }
    // One at a time: each may stop an instance, and the order is the user's.
    batch::each_in_turn(
        &targets,
        args.run.fail_fast,
        printer,
        |t| match &rollback_to {
            Some(to) => rollback::one(t, &args, to),
            None => create_one(t, &args),
        },
    )
}

fn create_one(t: &Target, args: &Args) -> Result<Created> {
    let incus = t.incus();
    let wait = std::time::Duration::from_secs(args.stop.timeout + 300);
    let _locks = golden::lease::hold_unless_dry(args.run.dry_run, &incus, t, wait)?;
    let inst = incus.instance(&t.project, &t.name)?;
    let running = !matches!(inst.status.as_str(), "Stopped");
    let volumes = inst.custom_volumes();
    let vol_project = if volumes.is_empty() {
        String::new()
    } else {
        incus.project(&t.project)?.volumes_project().to_string()
    };
    let snaps = SnapshotsOf::instance(&incus, &t.project, &t.name);
    let column = |plan: &Option<golden::identity::templates::Plan>| {
        golden::identity::column(&plan.as_ref().map(|p| p.categories()).unwrap_or_default())
    };

    if args.run.dry_run {
        let list = golden::swap::Snapshots::list(&snaps)?;
        let previous = list
            .iter()
            .find(|s| s.name == PRISTINE)
            .map(|s| s.created_at.clone())
            .unwrap_or_default();
        let current = golden::generations::number_in(&inst.config);
        let gens = golden::generations::list(
            list.iter()
                .map(|s| (s.name.as_str(), s.created_at.as_str())),
            current,
        );
        return Ok(Created {
            project: t.project.clone(),
            instance: t.name.clone(),
            snapshot: PRISTINE.into(),
            created_at: String::new(),
            generation: golden::generations::next_number(&gens, &inst.config),
            previous,
            stopped: running,
            volumes: volumes.len(),
            restarted: running && args.restart,
            identity: column(&identity_templates(&incus, t, &inst)?),
        });
    }

    if running {
        args.stop.stop(&incus, (&t.project, &t.name))?;
        golden::killpoint::reach("create:stopped");
    }
    // Read once stopped: the daemon holds a files request until a pending
    // operation on the instance ends (an earlier clean stop that waits for a
    // guest ignoring it: minutes), and ours has just ended.
    let templates = identity_templates(&incus, t, &inst)?;
    let identity = column(&templates);
    if let Some(plan) = &templates {
        // Before the snapshot, which carries them; the golden's own files
        // are never rendered (it gets no trigger).
        golden::identity::templates::install(&incus, &t.project, &t.name, plan)?;
        golden::killpoint::reach("create:templated");
    }
    let mut all: Vec<SnapshotsOf> = volumes
        .iter()
        .map(|(_, pool, vol)| SnapshotsOf::volume(&incus, &vol_project, pool, vol))
        .collect();
    all.push(snaps);
    let numbered = generations::Numbering::new(&incus, t, &inst, args.keep);
    let result = swap_all(t, &all, &numbered);
    let mut restarted = false;
    if running && args.restart {
        let started = incus.set_state(&t.project, &t.name, "start", None, false);
        if let Err(e) = started {
            // The pristine may be fine, but the user asked for a running instance.
            return Err(match result {
                Ok(_) => e.context("pristine made, but restarting failed"),
                Err(first) => first,
            });
        }
        restarted = true;
    }
    let swapped = result?;
    numbered.prune(&all)?;
    Ok(Created {
        project: t.project.clone(),
        instance: t.name.clone(),
        snapshot: PRISTINE.into(),
        created_at: swapped.created_at,
        generation: numbered.number()?,
        previous: swapped.previous.unwrap_or_default(),
        stopped: running,
        volumes: volumes.len(),
        restarted,
        identity,
    })
}

/// The templates that give every instance made from the pristine its own
/// identity ([`golden::identity::templates`]), planned from the golden's root
/// as it is now; what they cannot renew is said. `None` where templates do not
/// apply: a virtual machine (its agent would render them after its init read
/// the machine-id), or a remote whose requests cannot carry files.
fn identity_templates(
    incus: &golden::incus::Incus,
    t: &Target,
    inst: &golden::incus::Instance,
) -> Result<Option<golden::identity::templates::Plan>> {
    if inst.kind != "container" || !incus.speaks_files()? {
        return Ok(None);
    }
    let files = golden::identity::InInstance {
        incus,
        project: &t.project,
        name: &t.name,
    };
    let plan = golden::identity::templates::plan(&files)
        .map_err(|e| e.context(format!("reading {}'s identity files", t.name)))?;
    if !plan.not_renewed.is_empty() {
        notice(format!(
            "{}: instances made from it will keep its {}",
            t.name,
            plan.not_renewed.join(", ")
        ));
    }
    Ok(Some(plan))
}

/// Swaps in a new pristine for the root disk and every volume at once: readers
/// (derive, publish) are held off only while names change, and then for all of
/// them together, so a reader copies the golden as a whole, old or new. The
/// old pristine is kept as its generation, and the golden told the new one's
/// number before the snapshot that carries it.
fn swap_all(t: &Target, all: &[SnapshotsOf], numbered: &generations::Numbering) -> Result<Swapped> {
    let hold = || {
        Exclusive::acquire(t.remote.as_deref(), &t.project, &t.name, || {
            notice(format!(
                "waiting for derives and publishes reading {}'s pristine",
                t.name
            ))
        })
    };
    let previous = {
        let _held = hold()?;
        all.iter()
            .map(|s| swap::prepare(s))
            .collect::<Result<Vec<_>>>()?
    };
    // The root's, last in the list: volumes are set aside as the same generation.
    let set_aside = numbered.announce(previous.last().is_some_and(Option::is_some))?;
    {
        let _held = Snapshotting::acquire(t.remote.as_deref(), &t.project, &t.name, || {
            notice(format!("waiting for images being made from {}", t.name))
        })?;
        for s in all {
            swap::make_next(s)?;
        }
    }
    {
        let _held = hold()?;
        for (s, p) in all.iter().zip(&previous) {
            swap::commit(s, p.as_ref().and(set_aside.as_deref()))?;
        }
    }
    let mut created_at = String::new();
    for s in all {
        created_at = swap::finish(s)?;
    }
    Ok(Swapped {
        // The root disk's, last in the list.
        previous: previous.last().cloned().flatten(),
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Created {
            project: "p".into(),
            instance: "i".into(),
            snapshot: PRISTINE.into(),
            created_at: String::new(),
            generation: 1,
            previous: String::new(),
            stopped: false,
            volumes: 0,
            restarted: false,
            identity: "-".into(),
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }
}
