//! `golden-revoke`: mark a golden's generation as known bad, with a reason.
//!
//! golden-derive and golden-publish then refuse it (unless told
//! `--allow-revoked`), golden-ls shows it revoked with its clones, and once
//! the golden has a good pristine again (golden-create, or --rollback),
//! golden-refresh moves those clones on: they are stale.
//!
//! The mark is the golden's config key `user.golden.revoked.N=REASON`: one
//! request, kept by a rollback, never copied to a clone.

use std::collections::BTreeMap;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::batch;
use golden::generations::{clones_among, list, number_in, Generation};
use golden::model::KEY_REVOKED;
use golden::output::{col, Column, OutputArgs, Printer};
use golden::target::{from_names_or_stdin, Target};
use golden::{Error, Result, Status};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(
    name = "golden-revoke",
    version,
    about = "Mark a generation of a golden as revoked, with a reason",
    long_about = "Mark a generation of each golden NAME as revoked (known bad: a leaked key, \
        a vulnerable package), with the --reason given: its current pristine, or the \
        generation -g N (golden-ls --generations lists them, with the clones that came \
        from each). golden-derive and golden-publish then refuse to copy it unless told \
        --allow-revoked; golden-ls --generations and --clones show the reason beside the \
        generation and each of its clones. Make a good pristine current again \
        (golden-create, or golden-create --rollback) and golden-refresh moves the clones \
        on. --undo lifts the mark.\n\n\
        Without NAME (or with -), records are read from stdin, as golden-ls prints them; a \
        generation field in a record (golden-ls --generations) names the generation.",
    group(clap::ArgGroup::new("what").required(true).args(["reason", "undo"]))
)]
pub struct Args {
    /// Goldens ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "NAME", add = golden::complete::goldens())]
    pub names: Vec<String>,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT", add = golden::complete::projects())]
    pub project: Option<String>,
    /// The generation (default: the current pristine's, or the record's generation field)
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub generation: Option<u64>,
    /// Why it is revoked: one line, shown wherever the generation is
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Lift the revocation
    #[arg(long)]
    pub undo: bool,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One generation revoked (or, with --undo, no longer).
#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    pub project: String,
    pub instance: String,
    pub generation: u64,
    /// When its pristine was made.
    pub created_at: String,
    /// The reason; empty once lifted.
    pub revoked: String,
    /// Living instances that came from it.
    pub clones: usize,
}

/// The columns, in order. On a narrow terminal the table keeps which golden,
/// which generation and why.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("generation", 0),
    col("created_at", 2),
    col("revoked", 0),
    col("clones", 1),
];

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    if let Some(reason) = &args.reason {
        check_reason(reason)?;
    }
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let targets = from_names_or_stdin(&args.names, args.project.as_deref(), "golden")?;
    batch::each_in_turn(&targets, args.run.fail_fast, printer, |t| {
        revoke_one(t, &args)
    })
}

/// A reason is shown in tables and TSV: one line, something said.
fn check_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::usage(
            "--reason is empty: say why the generation is revoked",
        ));
    }
    if reason.contains(['\n', '\r', '\t']) {
        return Err(Error::usage(
            "--reason holds a newline or a tab: give it on one line",
        ));
    }
    Ok(())
}

fn revoke_one(t: &Target, args: &Args) -> Result<Revoked> {
    let incus = t.incus();
    let inst = incus.instance(&t.project, &t.name)?;
    let snaps = incus.snapshots(&t.project, &t.name)?;
    if golden::swap::pristine_of(&snaps).is_none() {
        return Err(Error::failed(format!(
            "not a golden (no pristine snapshot); make it one with `golden-create {}`",
            t.name
        )));
    }
    let gens = list(
        snaps
            .iter()
            .map(|s| (s.name.as_str(), s.created_at.as_str())),
        number_in(&inst.config),
    );
    let number = match (args.generation, t.record.get("generation")) {
        (Some(n), _) => n,
        (None, Some(field)) => field.parse().map_err(|_| {
            t.record
                .at(Error::usage(format!("generation {field:?} is no number")))
        })?,
        (None, None) => number_in(&inst.config),
    };
    let gen = find(&gens, number, &t.name)?;
    let key = format!("{KEY_REVOKED}{number}");
    let reason = if args.undo {
        String::new()
    } else {
        args.reason.clone().unwrap_or_default()
    };
    if !args.run.dry_run {
        incus.update_instance(&t.project, &t.name, &json!({ "config": { key: reason } }))?;
    }
    Ok(Revoked {
        project: t.project.clone(),
        instance: t.name.clone(),
        generation: number,
        created_at: gen.created_at.clone(),
        revoked: reason,
        clones: clone_count(t, &inst.config, &gen.created_at)?,
    })
}

fn find<'a>(gens: &'a [Generation], n: u64, name: &str) -> Result<&'a Generation> {
    gens.iter().find(|g| g.number == n).ok_or_else(|| {
        let kept: Vec<String> = gens.iter().map(|g| g.number.to_string()).collect();
        Error::failed(format!(
            "{name}: no generation {n} (kept: {})",
            kept.join(", ")
        ))
    })
}

/// The living instances that came from the generation made at `created_at`:
/// in every project, or in the golden's own if this client may not list them all.
fn clone_count(t: &Target, golden: &BTreeMap<String, String>, created_at: &str) -> Result<usize> {
    let all = t.incus().instances_everywhere_or_in(&t.project)?;
    Ok(clones_among(&all, &t.project, &t.name, golden)
        .iter()
        .filter(|(_, p)| p.created_at == created_at)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Revoked {
            project: "p".into(),
            instance: "i".into(),
            generation: 1,
            created_at: String::new(),
            revoked: "r".into(),
            clones: 0,
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(COLUMNS)
        );
    }

    #[test]
    fn a_reason_is_one_line_that_says_something() {
        assert!(check_reason("leaked host key").is_ok());
        for bad in ["", "  ", "two\nlines", "a\ttab"] {
            assert!(check_reason(bad).is_err(), "{bad:?}");
        }
    }
}
