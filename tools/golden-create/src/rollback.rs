//! `golden-create --rollback [N]`: generation N becomes the golden's
//! pristine again, and the golden's root (and volumes) are restored to it.
//!
//! For each of the golden's snapshot sets (volumes first, the root last):
//! the current `pristine` is set aside as its own generation, then
//! `pristine.gN` is renamed `pristine`, with readers held off. A run killed
//! between the two renames leaves that set without `pristine` but with
//! `pristine.gN`; the same command again finishes it. Then each is restored
//! to `pristine`, and the golden's lifecycle settings (protection, --keep,
//! revocations) are put back as they were: a restore would bring back the
//! generation's own.

use std::collections::BTreeMap;

use golden::generations::{list, number_in, set_aside_name};
use golden::incus::{Incus, Instance, Snapshot, SnapshotsOf};
use golden::model::{generation_snapshot, is_lifecycle_key, KEY_GENERATION, PRISTINE};
use golden::readers::Exclusive;
use golden::target::Target;
use golden::{Error, Result};
use serde_json::json;

use crate::{Args, Created};

/// The generation asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The newest kept one older than the current.
    Previous,
    Number(u64),
}

impl Wanted {
    pub fn parse(s: &str) -> Result<Wanted> {
        if s == "previous" {
            return Ok(Wanted::Previous);
        }
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Wanted::Number(n)),
            _ => Err(Error::usage(format!(
                "--rollback: {s:?} is no generation number (golden-ls --generations lists them)"
            ))),
        }
    }
}

pub fn one(t: &Target, args: &Args, wanted: &Wanted) -> Result<Created> {
    let incus = t.incus();
    let wait = std::time::Duration::from_secs(args.stop.timeout + 300);
    let _lease = golden::lease::hold_unless_dry(args.run.dry_run, &incus, t, wait)?;
    let inst = incus.instance(&t.project, &t.name)?;
    let snaps = incus.snapshots(&t.project, &t.name)?;
    let pristine = snaps.iter().find(|s| s.name == PRISTINE);
    let current = match pristine {
        Some(_) => Some(number_in(
            &incus
                .instance_snapshot(&t.project, &t.name, PRISTINE)?
                .config,
        )),
        None => None,
    };
    let gens = list(
        snaps
            .iter()
            .map(|s| (s.name.as_str(), s.created_at.as_str())),
        current.unwrap_or(0),
    );
    let target = match wanted {
        Wanted::Number(n) => *n,
        Wanted::Previous => {
            // Without pristine (a rollback killed between its renames), the
            // one it was bringing back cannot be told: the user says it.
            let below = current.ok_or_else(|| {
                Error::failed(format!(
                    "{} has no pristine (a rollback interrupted?): name the generation to                      bring back, golden-create --rollback N {}",
                    t.name, t.name
                ))
            })?;
            gens.iter()
                .filter(|g| !g.is_current() && g.number < below)
                .map(|g| g.number)
                .max()
                .ok_or_else(|| {
                    Error::failed(format!(
                        "{}: no generation before the current one is kept",
                        t.name
                    ))
                })?
        }
    };
    let to = generation_snapshot(target);
    let Some(to_snap) = snaps.iter().find(|s| s.name == to) else {
        if current == Some(target) {
            return Err(Error::failed(format!(
                "{}: generation {target} is already its pristine",
                t.name
            )));
        }
        let kept: Vec<String> = gens.iter().map(|g| g.number.to_string()).collect();
        return Err(Error::failed(format!(
            "{}: no generation {target} (kept: {})",
            t.name,
            if kept.is_empty() {
                "none".into()
            } else {
                kept.join(", ")
            }
        )));
    };
    if let Some(p) = pristine {
        refuse_changes_since(&inst, p, args.discard_changes, &t.name)?;
    }
    let running = inst.status != "Stopped";
    let volumes = inst.custom_volumes();
    let created = Created {
        project: t.project.clone(),
        instance: t.name.clone(),
        snapshot: PRISTINE.into(),
        created_at: to_snap.created_at.clone(),
        generation: target,
        previous: pristine.map(|p| p.created_at.clone()).unwrap_or_default(),
        stopped: running,
        volumes: volumes.len(),
        restarted: running && args.restart,
        identity: "-".into(),
    };
    if args.run.dry_run {
        return Ok(created);
    }
    if running {
        args.stop.stop(&incus, (&t.project, &t.name))?;
    }
    let vol_project = if volumes.is_empty() {
        String::new()
    } else {
        incus.project(&t.project)?.volumes_project().to_string()
    };
    let mut all: Vec<SnapshotsOf> = volumes
        .iter()
        .map(|(_, pool, vol)| SnapshotsOf::volume(&incus, &vol_project, pool, vol))
        .collect();
    all.push(SnapshotsOf::instance(&incus, &t.project, &t.name));
    let set_aside = current.map(set_aside_name);
    {
        let _held = Exclusive::acquire(t.remote.as_deref(), &t.project, &t.name, || {
            golden::cli::notice(format!(
                "waiting for derives and publishes reading {}'s pristine",
                t.name
            ))
        })?;
        for s in &all {
            bring_forward(s, &to, set_aside.as_deref())?;
        }
    }
    let lifecycle: BTreeMap<&String, &String> = inst
        .config
        .iter()
        .filter(|(k, _)| is_lifecycle_key(k) && k.as_str() != KEY_GENERATION)
        .collect();
    for s in &all {
        s.restore(PRISTINE)?;
    }
    put_back_lifecycle(&incus, t, &lifecycle, target)?;
    if created.restarted {
        incus
            .set_state(&t.project, &t.name, "start", None, false)
            .map_err(|e| e.context("rolled back, but restarting failed"))?;
    }
    Ok(created)
}

/// In one snapshot set: `pristine` set aside as its generation, `to` renamed
/// `pristine`. A set that holds no `to` is done already (a rerun), or never
/// had it (a volume attached since): left as it is.
fn bring_forward(s: &SnapshotsOf, to: &str, set_aside: Option<&str>) -> Result<()> {
    let names: Vec<String> = s.list()?.into_iter().map(|x| x.name).collect();
    if !names.iter().any(|n| n == to) {
        return Ok(());
    }
    if names.iter().any(|n| n == PRISTINE) {
        let aside = set_aside.ok_or_else(|| {
            Error::failed(format!(
                "{}: its pristine has no generation to be set aside as",
                s.label
            ))
        })?;
        s.rename(PRISTINE, aside)?;
        golden::killpoint::reach("rollback:set-aside");
    }
    s.rename(to, PRISTINE)
}

/// A golden started after its pristine was made may hold work no generation
/// has: a restore would lose it.
fn refuse_changes_since(
    inst: &Instance,
    pristine: &Snapshot,
    discard: bool,
    name: &str,
) -> Result<()> {
    let time = |s: &str| s.parse::<jiff::Timestamp>().ok();
    let ran_since = match (time(&inst.last_used_at), time(&pristine.created_at)) {
        (Some(used), Some(made)) => used > made,
        _ => false,
    };
    if ran_since && !discard {
        return Err(Error::failed(format!(
            "{name} ran since its pristine was made: its root may hold changes that no \
             generation keeps, which a rollback would lose; make them a generation first \
             (golden-create {name}), or pass --discard-changes"
        )));
    }
    Ok(())
}

/// After the restore: the golden's lifecycle settings as they were before it
/// (those the restored config has and they had not are removed), and the
/// number of the generation it now holds.
fn put_back_lifecycle(
    incus: &Incus,
    t: &Target,
    before: &BTreeMap<&String, &String>,
    number: u64,
) -> Result<()> {
    let now = incus.instance(&t.project, &t.name)?;
    let mut config: BTreeMap<String, String> = now
        .config
        .keys()
        .filter(|k| is_lifecycle_key(k) && !before.contains_key(k))
        .map(|k| (k.clone(), String::new()))
        .collect();
    for (k, v) in before {
        config.insert(k.to_string(), v.to_string());
    }
    config.insert(KEY_GENERATION.to_string(), number.to_string());
    incus.update_instance(&t.project, &t.name, &json!({ "config": config }))
}
