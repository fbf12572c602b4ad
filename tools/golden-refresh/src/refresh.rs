//! One clone's refresh, in two phases, each leaving a mark on the clone so a
//! run killed anywhere is finished by a rerun:
//!
//! 1. *Keep*: `user.golden.refresh.restart` is set if it runs, it is stopped,
//!    its state is copied to `CLONE-pre-refresh`, and only then is
//!    `user.golden.refresh.from` set. Killed before that mark, the clone still
//!    holds its old root: a rerun keeps it again.
//! 2. *Rebuild*: its snapshots (now on the copy) are removed, the daemon
//!    rebuilds its root from the image of the pristine, the identity is
//!    carried from the copy, and one update records the new provenance and
//!    clears both marks. A rerun that finds `from` set redoes this phase from
//!    the start: each step may be done again.

use std::collections::BTreeMap;

use golden::cli::notice;
use golden::identity::{self, InInstance, KeyPool};
use golden::incus::{Incus, Instance, SnapshotsOf};
use golden::lock::InstanceLock;
use golden::model::{
    Provenance, KEY_CREATED_AT, KEY_PROJECT, KEY_REFRESH_FROM, KEY_REFRESH_RESTART, KEY_TEMPLATE,
    KEY_TEMPLATE_UUID, NEVER,
};
use golden::{Error, Result};
use serde_json::json;

use crate::image::Images;
use crate::plan::Job;
use crate::{backup, Args, Refreshed};

/// The snapshot taken and removed at once after a rebuild (see [`rebuild`]).
const SYNC: &str = "golden-refresh-sync";

pub fn one(job: &Job, args: &Args, images: &Images) -> Result<Refreshed> {
    let c = &job.clone;
    let incus = c.incus();
    let quiet = args.run.quiet;
    let _lock = match args.run.dry_run {
        true => None,
        false => Some(InstanceLock::acquire(
            c.remote.as_deref(),
            &c.project,
            &c.name,
            |_| notice(quiet, format!("waiting for another run on {}", c.name)),
        )?),
    };
    if !args.run.dry_run {
        // What a killed run left running on the daemon ends first.
        incus.wait_instance_operations(&c.project, &c.name, 120)?;
    }
    let inst = incus.instance(&c.project, &c.name)?;
    let prov = Provenance::of(&inst.config)
        .ok_or_else(|| Error::failed(format!("{}: its provenance is gone", c.name)))?;
    let mark = |key: &str| inst.config.get(key).filter(|v| !v.is_empty()).cloned();
    let underway = mark(KEY_REFRESH_FROM);
    let running = inst.status != "Stopped";
    let mut rec = Refreshed {
        project: c.project.clone(),
        instance: c.name.clone(),
        template: format!("{}/{}", job.template.project, job.template.name),
        from: underway.clone().unwrap_or(prov.created_at.to_string()),
        to: job.template.pristine()?.1,
        status: "up-to-date".into(),
        identity: "-".into(),
        kept: String::new(),
        snapshots: 0,
        restarted: false,
    };
    if underway.is_none() && rec.from == rec.to && !args.again {
        return Ok(rec);
    }
    let kept = backup::name(&c.name)?;
    let snapshots = incus.snapshots(&c.project, &c.name)?.len();
    if args.no_keep && snapshots > 0 && underway.is_none() {
        return Err(Error::failed(format!(
            "{} has {snapshots} snapshot(s): a refresh moves them to {kept}, which --no-keep \
             would remove; refresh it without --no-keep, or remove them first",
            c.name
        )));
    }
    let restart = running || mark(KEY_REFRESH_RESTART).as_deref() == Some("true");
    if args.run.dry_run {
        rec.status = "would-refresh".into();
        rec.identity = identity_word(args).into();
        rec.kept = if args.no_keep { String::new() } else { kept };
        rec.snapshots = snapshots;
        rec.restarted = restart;
        return Ok(rec);
    }

    let (fp, to) = images.for_job(job, quiet)?;
    rec.to = to;
    let have_copy = backup::find(&incus, c, &kept)?.is_some();
    // A mark without its copy: whoever removed the copy left the clone as
    // it was, unless it was rebuilt already (its identity is then lost).
    let rebuilt = inst.config.get("volatile.base_image") == Some(&fp);
    if underway.is_none() || (!have_copy && !rebuilt) {
        keep(&incus, job, &inst, &kept, running, args)?;
    } else if !have_copy && !args.new_identity {
        return Err(Error::failed(format!(
            "{} was rebuilt by an interrupted refresh and its pre-refresh copy {kept} is gone: \
             its own identity cannot be carried any more; rerun with --new-identity",
            c.name
        )));
    } else if running {
        // Started by hand since the interrupted run.
        golden::power::stop(
            &incus,
            (&c.project, &c.name),
            args.timeout,
            args.force,
            quiet,
        )?;
    }
    rec.snapshots = incus.snapshots(&c.project, &kept).map_or(0, |s| s.len());

    rebuild(&incus, job, &kept, &fp, args, &mut rec)?;
    if restart {
        incus
            .set_state(&c.project, &c.name, "start", None, false)
            .map_err(|e| e.context("refreshed, but starting it again failed"))?;
        rec.restarted = true;
    }
    if args.no_keep {
        if backup::find(&incus, c, &kept)?.is_some() {
            incus.delete_instance(&c.project, &kept)?;
        }
    } else if backup::find(&incus, c, &kept)?.is_some() {
        rec.kept = kept;
    }
    rec.status = "refreshed".into();
    Ok(rec)
}

/// Phase 1: stopped, and its state kept.
fn keep(
    incus: &Incus,
    job: &Job,
    inst: &Instance,
    kept: &str,
    running: bool,
    args: &Args,
) -> Result<()> {
    let c = &job.clone;
    if running {
        let restart = json!({ "config": { KEY_REFRESH_RESTART: "true" } });
        incus.update_instance(&c.project, &c.name, &restart)?;
        golden::power::stop(
            incus,
            (&c.project, &c.name),
            args.timeout,
            args.force,
            args.run.quiet,
        )?;
    }
    let inst = if running {
        incus.instance(&c.project, &c.name)?
    } else {
        inst.clone()
    };
    backup::make(incus, c, &inst, kept)?;
    let from = Provenance::of(&inst.config).map_or("", |p| p.created_at);
    let mark = json!({ "config": { KEY_REFRESH_FROM: from } });
    incus.update_instance(&c.project, &c.name, &mark)
}

/// Phase 2: snapshots gone (kept on the copy), root rebuilt, identity
/// carried (or made new), provenance recorded and marks cleared at once.
fn rebuild(
    incus: &Incus,
    job: &Job,
    kept: &str,
    fp: &str,
    args: &Args,
    rec: &mut Refreshed,
) -> Result<()> {
    let c = &job.clone;
    // The rebuild writes the image's properties as the clone's `image.*` keys:
    // the description of an image removed at the end of the run, and its
    // golden.refresh.* marks. The clone's own are put back, read from its copy
    // (a rerun may find the clone rebuilt already).
    let own = match incus.instance_if_any(&c.project, kept)? {
        Some(k) => k.config,
        None => incus.instance(&c.project, &c.name)?.config,
    };
    let snaps = SnapshotsOf::instance(incus, &c.project, &c.name);
    for s in incus.snapshots(&c.project, &c.name)? {
        snaps.delete(&s.name)?;
    }
    incus.rebuild_instance(&c.project, &c.name, fp)?;
    // The daemon (6.0) serves an instance's files through a helper that it
    // keeps running between requests, chrooted into the root it found: one
    // started before the rebuild (a derive's reset, a user's `incus file`)
    // would go on serving the old, deleted root, and the identity written
    // there would be lost. Taking a snapshot stops that helper.
    snaps.create(SYNC, NEVER)?;
    snaps.delete(SYNC)?;
    let new = InInstance {
        incus,
        project: &c.project,
        name: &c.name,
    };
    let names = (job.template.name.as_str(), c.name.as_str());
    if args.new_identity {
        let survey = identity::survey(&new, names.0)?;
        identity::reset(&new, &survey, names, &KeyPool::default())?;
    } else {
        let old = InInstance {
            incus,
            project: &c.project,
            name: kept,
        };
        identity::carry(&old, &new, names)?;
    }
    rec.identity = identity_word(args).into();
    let mut done = json!({ "config": {
        KEY_PROJECT: job.template.project,
        KEY_TEMPLATE: job.template.name,
        KEY_CREATED_AT: rec.to,
        KEY_TEMPLATE_UUID: job.template_uuid,
        KEY_REFRESH_FROM: "",
        KEY_REFRESH_RESTART: "",
    }});
    let now = incus.instance(&c.project, &c.name)?.config;
    done["config"]
        .as_object_mut()
        .expect("an object")
        .extend(image_keys_back(&own, &now));
    incus.update_instance(&c.project, &c.name, &done)
}

/// The `image.*` keys of `own` over those of `now` (empty: unset).
fn image_keys_back(
    own: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> serde_json::Map<String, serde_json::Value> {
    let image = |c: &BTreeMap<String, String>| {
        c.iter()
            .filter(|(k, _)| k.starts_with("image."))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Vec<_>>()
    };
    let mut back: serde_json::Map<_, _> = image(now)
        .into_iter()
        .map(|(k, _)| (k, json!("")))
        .collect();
    back.extend(image(own));
    back
}

fn identity_word(args: &Args) -> &'static str {
    if args.new_identity {
        "new"
    } else {
        "carried"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clones_image_keys_come_back_and_the_rebuilds_go() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let own = map(&[
            ("image.description", "Debian bookworm"),
            ("image.os", "debian"),
            ("user.mine", "x"),
        ]);
        let now = map(&[
            ("image.description", "golden-refresh: p/t pristine of ..."),
            ("image.golden.refresh.template", "p/t"),
            ("image.os", "debian"),
            ("user.mine", "x"),
        ]);
        assert_eq!(
            serde_json::Value::Object(image_keys_back(&own, &now)),
            json!({
                "image.description": "Debian bookworm",
                "image.golden.refresh.template": "",
                "image.os": "debian",
            })
        );
    }
}
