//! `--renew`: an identity of its own for a container that shares one, by the
//! same templates golden-create writes into a golden, rendered at its next
//! start (the trigger `copy`, as if it had just been copied).

use golden::batch;
use golden::identity::{column, templates, InInstance};
use golden::output::{col, Column, Printer};
use golden::target::{from_names_or_stdin, Target};
use golden::{Error, Result, Status};
use serde::Serialize;
use serde_json::json;

use crate::Args;

/// One container renewed (or, with -n, to be).
#[derive(Debug, Clone, Serialize)]
pub struct Renewed {
    pub project: String,
    pub instance: String,
    /// `renewed`, `would-renew`, or `nothing` (it holds no identity file).
    pub status: String,
    /// What it renews at its next start (the `identity` column of golden-derive).
    pub identity: String,
    /// Stopped and started again for it (with -n: would be).
    pub restarted: bool,
}

/// The columns of --renew, in order; on a narrow terminal `restarted` goes first.
pub const RENEW_COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("status", 0),
    col("identity", 2),
    col("restarted", 3),
];

pub fn run(args: &Args, printer: Printer<std::io::Stdout>) -> Result<Status> {
    if args.names.is_empty() {
        return Err(Error::usage(
            "--renew needs the containers to renew (NAME..., or - to read them from stdin)",
        ));
    }
    let targets = from_names_or_stdin(&args.names, args.project.as_deref(), "instance")?;
    // Every check before the first change: containers only.
    for t in &targets {
        t.reachable()?;
        let inst = t.incus().instance(&t.project, &t.name)?;
        if inst.kind != "container" {
            return Err(Error::usage(format!(
                "{t} is a virtual machine: its files are reached through its agent, after \
                 its init read its machine-id; renew it from inside (see golden-derive(1), \
                 IDENTITY)"
            )));
        }
    }
    batch::each_in_turn(&targets, args.run.fail_fast, printer, |t| {
        renew_one(t, args)
    })
}

fn renew_one(t: &Target, args: &Args) -> Result<Renewed> {
    let incus = t.incus();
    let wait = std::time::Duration::from_secs(args.stop.timeout + 300);
    let _held = golden::lease::hold_unless_dry(args.run.dry_run, &incus, t, wait)?;
    let running = incus.instance(&t.project, &t.name)?.status != "Stopped";
    // Read once stopped (but for -n): the daemon holds a files request until
    // a pending operation on the instance ends, such as an earlier clean stop
    // that waits for a guest ignoring it.
    if running && !args.run.dry_run {
        args.stop.stop(&incus, (&t.project, &t.name))?;
    }
    let files = InInstance {
        incus: &incus,
        project: &t.project,
        name: &t.name,
    };
    let plan = templates::plan(&files)
        .map_err(|e| e.context(format!("reading {}'s identity files", t.name)))?;
    if !plan.not_renewed.is_empty() {
        golden::cli::notice(format!(
            "{}: will keep its {}",
            t.name,
            plan.not_renewed.join(", ")
        ));
    }
    let mut rec = Renewed {
        project: t.project.clone(),
        instance: t.name.clone(),
        status: "would-renew".into(),
        identity: column(&plan.categories()),
        restarted: running,
    };
    if plan.templates.is_empty() {
        rec.status = "nothing".into();
    } else if !args.run.dry_run {
        templates::install(&incus, &t.project, &t.name, &plan)?;
        let now = json!({ "config": { "volatile.apply_template": "copy" } });
        incus.update_instance(&t.project, &t.name, &now)?;
        rec.status = "renewed".into();
    }
    if running && !args.run.dry_run {
        incus
            .set_state(&t.project, &t.name, "start", None, false)
            .map_err(|e| e.context("starting it again failed"))?;
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Renewed {
            project: "p".into(),
            instance: "i".into(),
            status: "renewed".into(),
            identity: "-".into(),
            restarted: false,
        };
        assert_eq!(
            golden::output::fields_of(&rec),
            golden::output::names(RENEW_COLUMNS)
        );
        let id = crate::Identity {
            project: "p".into(),
            instance: "i".into(),
            status: "Stopped".into(),
            machine_id: "-".into(),
            host_keys: "-".into(),
            shares: "-".into(),
        };
        assert_eq!(
            golden::output::fields_of(&id),
            golden::output::names(crate::COLUMNS)
        );
    }
}
