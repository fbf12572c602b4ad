//! `golden-retire`: a golden becomes an ordinary instance again, as one
//! deliberate act that first lists what depends on it.
//!
//! Its pristine and kept generations go (on its volumes too), the protection
//! golden-derive gave it is lifted and its lifecycle settings removed; the
//! instance itself stays, for its owner to keep or `incus delete`. A golden
//! whose clones live is refused, naming them: they could no longer be
//! refreshed. `--orphan-clones` retires it all the same.

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::batch;
use golden::cli::notice;
use golden::generations::clones_among;
use golden::incus::{Incus, Kind, Snapshot, SnapshotsOf};
use golden::model::{
    generation_of_snapshot, is_lifecycle_key, is_swap_temporary, IMAGE_TEMPLATE_UUID, PRISTINE,
};
use golden::output::{col, Column, OutputArgs, Printer};
use golden::readers::Exclusive;
use golden::target::{from_names_or_stdin, Target};
use golden::{Error, Result, Status};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(
    name = "golden-retire",
    version,
    about = "Make a golden an ordinary Incus instance again, once nothing depends on it",
    long_about = "Retire each golden NAME: its pristine and the generations golden-create kept \
        (pristine.gN, on its custom volumes too) are deleted, the protection from deletion \
        that golden-derive gave it (security.protection.delete) is lifted, and its \
        lifecycle settings (user.golden.generation, user.golden.keep, \
        user.golden.revoked.*) are removed. The instance itself stays: keep it, or \
        incus delete it.\n\n\
        What depends on it is listed first, and a golden whose clones live is refused, \
        naming them: they keep running as they are, but nothing could refresh them any \
        more. Delete them (or retire it with --orphan-clones: golden-ls --clones then says \
        their generation is gone). The images golden-refresh made from it are named in a \
        notice (golden-ls --kept lists them). -n says what would be done.\n\n\
        Without NAME (or with -), records are read from stdin, as golden-ls prints them."
)]
pub struct Args {
    /// Goldens ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "NAME", add = golden::complete::goldens())]
    pub names: Vec<String>,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// Retire a golden whose clones live all the same (they can no longer be refreshed)
    #[arg(long)]
    pub orphan_clones: bool,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One golden retired (with -n: to be).
#[derive(Debug, Clone, Serialize)]
pub struct Retired {
    pub project: String,
    pub instance: String,
    /// Pristine snapshots deleted: the current one and the kept generations.
    pub generations: usize,
    /// Living clones of it (left as they are: only with --orphan-clones).
    pub clones: usize,
    /// Was its protection from deletion lifted?
    pub unprotected: bool,
    /// `retired`, or with -n `would-retire`.
    pub status: String,
}

/// The columns, in order. On a narrow terminal the table keeps which golden
/// and what became of it.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("generations", 2),
    col("clones", 1),
    col("unprotected", 2),
    col("status", 0),
];

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let targets = from_names_or_stdin(&args.names, args.project.as_deref(), "golden")?;
    batch::each_in_turn(&targets, args.run.fail_fast, printer, |t| {
        retire_one(t, &args)
    })
}

/// A snapshot that makes, or made, the instance a golden: `pristine`, a kept
/// generation, or a temporary name of golden-create's swap.
fn is_golden_snapshot(s: &Snapshot) -> bool {
    s.name == PRISTINE
        || generation_of_snapshot(&s.name).is_some()
        || is_swap_temporary(&s.name, Some(&s.expires_at))
}

fn retire_one(t: &Target, args: &Args) -> Result<Retired> {
    let incus = t.incus();
    let inst = incus.instance(&t.project, &t.name)?;
    let snaps = incus.snapshots(&t.project, &t.name)?;
    if golden::swap::pristine_of(&snaps).is_none() {
        return Err(Error::failed("not a golden (no pristine snapshot)"));
    }
    let all = incus.instances_everywhere_or_in(&t.project)?;
    let clones = clones_among(&all, &t.project, &t.name, &inst.config);
    if !clones.is_empty() && !args.orphan_clones {
        let names: Vec<String> = clones
            .iter()
            .map(|(c, _)| format!("{}/{}", c.project, c.name))
            .collect();
        return Err(Error::failed(format!(
            "{} clone(s) came from it ({}): they could no longer be refreshed; delete them \
             first, or pass --orphan-clones",
            names.len(),
            names.join(", ")
        )));
    }
    let ours: Vec<&Snapshot> = snaps.iter().filter(|s| is_golden_snapshot(s)).collect();
    let protected = inst
        .config
        .get(golden::model::KEY_PROTECT_DELETE)
        .is_some_and(|v| v == "true");
    let mut rec = Retired {
        project: t.project.clone(),
        instance: t.name.clone(),
        generations: ours.len(),
        clones: clones.len(),
        unprotected: protected,
        status: "would-retire".into(),
    };
    say_refresh_images(&incus, t, &inst.config)?;
    if args.run.dry_run {
        return Ok(rec);
    }
    let wait = std::time::Duration::from_secs(300);
    let _lease = golden::lease::hold_unless_dry(false, &incus, t, wait)?;
    // Readers (derive, publish) copy the golden whole or not at all.
    let _held = Exclusive::acquire(t.remote.as_deref(), &t.project, &t.name, || {
        notice(format!(
            "waiting for derives and publishes reading {}'s pristine",
            t.name
        ))
    })?;
    let volumes = inst.custom_volumes();
    if !volumes.is_empty() {
        let vol_project = incus.project(&t.project)?.volumes_project().to_string();
        for (_, pool, vol) in &volumes {
            let s = SnapshotsOf::volume(&incus, &vol_project, pool, vol);
            delete_ours(&s)?;
        }
    }
    // The root last: until then, what is left is still a golden.
    delete_ours(&SnapshotsOf::instance(&incus, &t.project, &t.name))?;
    let unset: serde_json::Map<String, serde_json::Value> = inst
        .config
        .keys()
        .filter(|k| is_lifecycle_key(k))
        .map(|k| (k.clone(), json!("")))
        .collect();
    if !unset.is_empty() {
        incus.update_instance(&t.project, &t.name, &json!({ "config": unset }))?;
    }
    rec.status = "retired".into();
    Ok(rec)
}

/// Deletes the golden's own snapshots of one snapshot set (the user's stay).
fn delete_ours(s: &SnapshotsOf) -> Result<()> {
    for snap in s.list()?.iter().filter(|x| is_golden_snapshot(x)) {
        match s.delete(&snap.name) {
            Err(e) if Kind::of(&e) == Kind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// The images golden-refresh made from it stay (a clone's refresh may still
/// need one): named, so that none is out of sight.
fn say_refresh_images(
    incus: &Incus,
    t: &Target,
    golden: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    let Some(uuid) = golden.get("volatile.uuid") else {
        return Ok(());
    };
    let images = incus
        .images_in(&golden::incus::Scope::All)
        .unwrap_or_default();
    let made: Vec<&str> = images
        .iter()
        .filter(|i| i.properties.get(IMAGE_TEMPLATE_UUID) == Some(uuid))
        .map(|i| i.fingerprint.get(..12).unwrap_or(&i.fingerprint))
        .collect();
    if !made.is_empty() {
        notice(format!(
            "{}: {} image(s) golden-refresh made from it stay: {} (golden-ls --kept lists \
             them; golden-refresh --discard CLONE removes those no clone needs)",
            t.name,
            made.len(),
            made.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Retired {
            project: "p".into(),
            instance: "i".into(),
            generations: 0,
            clones: 0,
            unprotected: false,
            status: "retired".into(),
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }

    #[test]
    fn only_the_goldens_own_snapshots_are_its() {
        let snap = |name: &str, expires: &str| Snapshot {
            name: name.into(),
            expires_at: expires.into(),
            ..Default::default()
        };
        let mark = golden::model::SWAP_MARK;
        assert!(is_golden_snapshot(&snap("pristine", "")));
        assert!(is_golden_snapshot(&snap("pristine.g4", "")));
        assert!(is_golden_snapshot(&snap("pristine.golden-next", mark)));
        for user in ["snap0", "pristine-old", "pristine.g04"] {
            assert!(!is_golden_snapshot(&snap(user, "")), "{user}");
        }
        assert!(!is_golden_snapshot(&snap("pristine.golden-next", "")));
    }
}
