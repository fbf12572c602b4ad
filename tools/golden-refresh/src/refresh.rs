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
//!    clears `from`. A rerun that finds `from` set redoes this phase from the
//!    start: each step may be done again.
//! 3. *Restart*: a clone that ran is started, and only then is `restart`
//!    cleared: a rerun that finds it on an up-to-date clone starts it.

use golden::identity::templates::{pending_trigger, TRIGGER_NONE};
use golden::identity::{self, InInstance, KeyPool};
use golden::incus::{Incus, Instance, SnapshotsOf};
use golden::model::{
    Provenance, IDENTITY_PENDING, KEY_CREATED_AT, KEY_IDENTITY, KEY_PROJECT, KEY_REFRESH_FROM,
    KEY_REFRESH_RESTART, KEY_REFRESH_TRIGGER, KEY_TEMPLATE, KEY_TEMPLATE_UUID, RESTART_ASKED,
    RESTART_STOPPED,
};
use golden::target::Target;
use golden::{Error, Result};
use serde_json::json;

use crate::image::Images;
use crate::plan::Job;
use crate::{backup, Args, Refreshed};

pub fn one(job: &Job, args: &Args, images: &Images) -> Result<Refreshed> {
    let c = &job.clone;
    let incus = c.incus();
    // One run on the clone at a time, here and across machines (a
    // golden-create of it too); held for a stop and the refresh.
    let wait = std::time::Duration::from_secs(args.stop.timeout + 900);
    let _held = golden::lease::hold_unless_dry(args.run.dry_run, &incus, c, wait)?;
    let inst = incus.instance(&c.project, &c.name)?;
    let prov =
        Provenance::of(&inst.config).ok_or_else(|| Error::failed("its provenance is gone"))?;
    let mark = |key: &str| mark_of(&inst, key);
    let underway = mark(KEY_REFRESH_FROM);
    let running = inst.status != "Stopped";
    let mut rec = Refreshed {
        project: c.project.clone(),
        instance: c.name.clone(),
        template: format!("{}/{}", job.template.project, job.template.name),
        from: underway.clone().unwrap_or(prov.created_at.to_string()),
        to: job.template.source(args.generation)?.1,
        status: "up-to-date".into(),
        identity: "-".into(),
        kept: String::new(),
        snapshots: 0,
        restarted: false,
    };
    // Only a stop the refresh saw through asks for a start: after a stop
    // that failed, the clone is its user's to start (see RESTART_ASKED).
    let restart_mark = mark(KEY_REFRESH_RESTART);
    let stale_mark = restart_mark.as_deref() == Some(RESTART_ASKED);
    let restart_mark = matches!(restart_mark.as_deref(), Some(RESTART_STOPPED | "true"));
    if underway.is_none() && rec.from == rec.to && !args.again {
        // A run killed between recording the refresh and starting the
        // clone again: what is left is the start.
        if restart_mark && !args.run.dry_run {
            restart_again(&incus, c, running, &mut rec)?;
            rec.status = "refreshed".into();
        } else if stale_mark && !args.run.dry_run {
            clear_restart_mark(&incus, c)?;
        }
        return Ok(rec);
    }
    let kept = backup::name(&c.name)?;
    let snapshots = incus.snapshots(&c.project, &c.name)?.len();
    if underway.is_none() {
        refuse_to_replace_kept_snapshots(&incus, c, &kept)?;
    }
    if args.no_keep && snapshots > 0 && underway.is_none() {
        return Err(Error::failed(format!(
            "{} has {snapshots} snapshot(s): a refresh moves them to {kept}, which --no-keep \
             would remove; refresh it without --no-keep, or remove them first",
            c.name
        )));
    }
    let restart = running || restart_mark;
    // A clone a killed derive left with the template's identity gets its own.
    let renew = args.new_identity || mark(KEY_IDENTITY).as_deref() == Some(IDENTITY_PENDING);
    if args.run.dry_run {
        rec.status = "would-refresh".into();
        rec.identity = identity_word(renew).into();
        rec.kept = if args.no_keep { String::new() } else { kept };
        rec.snapshots = snapshots;
        rec.restarted = restart;
        return Ok(rec);
    }

    // Never started since it was made: its first start is still to render
    // the templates. Read before the rebuild, and kept in the mark for a
    // rerun (the rebuild sets a trigger of the daemon's own).
    let trigger = mark(KEY_REFRESH_TRIGGER).or_else(|| {
        underway
            .is_none()
            .then(|| pending_trigger(&inst.config).map(String::from))
            .flatten()
    });
    let (fp, to) = images.for_job(job)?;
    rec.to = to;
    let mut copy = backup::find(&incus, c, &kept)?;
    // A mark without its copy: whoever removed the copy left the clone as
    // it was, unless it was rebuilt already (its identity is then lost).
    let rebuilt = inst.config.get("volatile.base_image") == Some(&fp);
    if underway.is_none() || (copy.is_none() && !rebuilt) {
        copy = Some(keep(
            &incus,
            job,
            &inst,
            (&kept, copy.as_ref()),
            (running, trigger.as_deref()),
            args,
        )?);
    } else if copy.is_none() && !renew {
        return Err(Error::failed(format!(
            "{} was rebuilt by an interrupted refresh and its pre-refresh copy {kept} is gone: \
             its own identity cannot be carried any more; rerun with --new-identity",
            c.name
        )));
    } else if running {
        // Started by hand since the interrupted run.
        args.stop.stop(&incus, (&c.project, &c.name))?;
    }
    if copy.is_some() {
        rec.snapshots = incus.snapshots(&c.project, &kept)?.len();
    }

    let from_image = (copy.as_ref(), fp.as_str(), trigger.as_deref());
    rebuild(&incus, job, &inst, from_image, renew, &mut rec)?;
    golden::killpoint::reach("refresh:recorded");
    if restart {
        restart_again(&incus, c, false, &mut rec)?;
    }
    match (&copy, args.no_keep) {
        (Some(_), true) => incus.delete_instance(&c.project, &kept)?,
        (Some(_), false) => rec.kept = kept,
        (None, _) => {}
    }
    rec.status = "refreshed".into();
    Ok(rec)
}

/// A new refresh replaces the copy an earlier one kept, and with it the
/// snapshots the clone had then (a refresh moves them there): refused while
/// it holds any, before anything changes, naming them.
fn refuse_to_replace_kept_snapshots(incus: &Incus, c: &Target, kept: &str) -> Result<()> {
    if backup::find(incus, c, kept)?.is_none() {
        return Ok(());
    }
    let held: Vec<String> = incus
        .snapshots(&c.project, kept)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "its pre-refresh copy {kept} holds the snapshot(s) {} from an earlier refresh, \
         which this refresh would replace with the copy: keep them elsewhere (incus copy \
         {kept}/SNAPSHOT NEW) or remove them (incus snapshot delete {kept} SNAPSHOT), then rerun",
        held.join(", ")
    )))
}

/// Phase 1: stopped, and its state kept; returns the copy.
fn keep(
    incus: &Incus,
    job: &Job,
    inst: &Instance,
    kept: (&str, Option<&Instance>),
    (running, trigger): (bool, Option<&str>),
    args: &Args,
) -> Result<Instance> {
    let c = &job.clone;
    if running {
        let asked = json!({ "config": { KEY_REFRESH_RESTART: RESTART_ASKED } });
        match incus.update_instance(&c.project, &c.name, &asked) {
            // An earlier clean stop that timed out holds the clone until it is
            // killed: with --force, killed first, then marked (it ran).
            Err(e) if args.stop.force && stop_pending(&e) => {}
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        args.stop.stop(incus, (&c.project, &c.name))?;
        let stopped = json!({ "config": { KEY_REFRESH_RESTART: RESTART_STOPPED } });
        incus.update_instance(&c.project, &c.name, &stopped)?;
    } else if mark_of(inst, KEY_REFRESH_RESTART).as_deref() == Some(RESTART_ASKED) {
        // Left by a stop that failed; stopped since by its user.
        clear_restart_mark(incus, c)?;
    }
    // As read before the stop: what the copy takes of it (kind, member,
    // MAC addresses, devices) a stop does not change.
    let copy = backup::make(incus, c, inst, kept)?;
    golden::killpoint::reach("refresh:kept");
    let from = Provenance::of(&inst.config).map_or("", |p| p.created_at);
    let mark = json!({ "config": {
        KEY_REFRESH_FROM: from,
        KEY_REFRESH_TRIGGER: trigger.unwrap_or_default(),
    }});
    incus.update_instance(&c.project, &c.name, &mark)?;
    golden::killpoint::reach("refresh:marked");
    Ok(copy)
}

/// Phase 2: snapshots gone (kept on the copy), root rebuilt, identity
/// carried (or made new), provenance recorded and marks cleared at once.
fn rebuild(
    incus: &Incus,
    job: &Job,
    inst: &Instance,
    (copy, fp, trigger): (Option<&Instance>, &str, Option<&str>),
    renew: bool,
    rec: &mut Refreshed,
) -> Result<()> {
    let c = &job.clone;
    // The rebuild writes the image's properties as the clone's `image.*` keys:
    // the description of an image removed at the end of the run, and its
    // golden.refresh.* marks. The clone's own are put back, read from its copy
    // (a rerun may find the clone rebuilt already).
    let own = &copy.unwrap_or(inst).config;
    let snaps = SnapshotsOf::instance(incus, &c.project, &c.name);
    for s in incus.snapshots(&c.project, &c.name)? {
        snaps.delete(&s.name)?;
    }
    // Its files are read and written next: the client makes sure the
    // daemon serves the new root (see `Incus::rebuild_instance`).
    incus.rebuild_instance(&c.project, &c.name, fp)?;
    golden::killpoint::reach("refresh:rebuilt");
    let new = InInstance {
        incus,
        project: &c.project,
        name: &c.name,
    };
    let names = (job.template.name.as_str(), c.name.as_str());
    let mut done = json!({ "config": {
        KEY_PROJECT: job.template.project,
        KEY_TEMPLATE: job.template.name,
        KEY_CREATED_AT: rec.to,
        KEY_TEMPLATE_UUID: job.template_uuid,
        KEY_REFRESH_FROM: "",
        KEY_REFRESH_TRIGGER: "",
        // The rebuild set the templates to renew it at the next start: it
        // carries its own (or got new ones just now) instead; a clone never
        // started gets back the trigger of its first start.
        "volatile.apply_template": trigger.unwrap_or(TRIGGER_NONE),
        // The rebuild named the refresh image, removed at the end of the run:
        // the image its root descends from is still its template's.
        "volatile.base_image": own.get("volatile.base_image").cloned().unwrap_or_default(),
    }});
    // Carried from the copy, or made new (asked, or the clone had none of
    // its own; `one` never goes on without a copy unless renewing).
    match copy.filter(|_| !renew) {
        Some(copy) => {
            let old = InInstance {
                incus,
                project: &c.project,
                name: &copy.name,
            };
            identity::carry(&old, &new, names)?;
        }
        None => {
            let survey = identity::survey(&new, names.0)?;
            let reset = identity::reset(&new, &survey, names, &KeyPool::default())?;
            done["config"][KEY_IDENTITY] = identity::column(&reset).into();
            // New ids and keys, but the same instance to cloud-init: else it
            // would name the clone as the template's seed does.
            if let Some(copy) = copy {
                let old = InInstance {
                    incus,
                    project: &c.project,
                    name: &copy.name,
                };
                identity::cloud::carry(&old, &new)?;
            }
        }
    }
    rec.identity = identity_word(renew).into();
    let now = incus.instance(&c.project, &c.name)?.config;
    done["config"]
        .as_object_mut()
        .expect("an object")
        .extend(backup::image_keys_back(own, &now));
    incus.update_instance(&c.project, &c.name, &done)
}

fn mark_of(inst: &Instance, key: &str) -> Option<String> {
    inst.config.get(key).filter(|v| !v.is_empty()).cloned()
}

fn clear_restart_mark(incus: &Incus, c: &Target) -> Result<()> {
    let done = json!({ "config": { KEY_REFRESH_RESTART: "" } });
    incus.update_instance(&c.project, &c.name, &done)
}

/// Starts the clone (unless `running`), then clears the mark that says it
/// must be: cleared last, a kill in between leaves the start to a rerun.
fn restart_again(incus: &Incus, c: &Target, running: bool, rec: &mut Refreshed) -> Result<()> {
    if !running {
        incus
            .set_state(&c.project, &c.name, "start", None, false)
            .map_err(|e| e.context("refreshed, but starting it again failed"))?;
    }
    clear_restart_mark(incus, c)?;
    rec.restarted = true;
    Ok(())
}

fn identity_word(renew: bool) -> &'static str {
    if renew {
        "new"
    } else {
        "carried"
    }
}

/// Is the clone held by a clean stop that timed out (it waits for the guest)?
fn stop_pending(e: &golden::Error) -> bool {
    matches!(golden::incus::Kind::of(e), golden::incus::Kind::InstanceBusy { action } if action == "stop")
}
