//! Phase 4: the copies, `-j` at a time, each through the daemon's own copy
//! operation (CoW where the pool allows), records printed as each ends.
//!
//! Each clone holds the template's readers' lock (see `golden::readers`) from
//! the moment it looks which snapshot stands for pristine until its copy
//! exists: a golden-create waits for it to rename, and the clone names the
//! snapshot it was really copied from.

use std::collections::BTreeMap;

use golden::incus::{CopyRequest, Incus};
use golden::model::{KEY_CREATED_AT, KEY_PROJECT, KEY_TEMPLATE, KEY_TEMPLATE_UUID};
use golden::readers::Shared;
use golden::{Error, Result};
use serde_json::Value;

use crate::options::Options;
use crate::placement::crosses;
use crate::plan::Job;
use crate::pristine::Pristine;
use crate::seeds::{Seed, Seeds};
use crate::template::Template;
use crate::Derived;

/// Makes one clone (or, with -n, says what it would be).
pub fn derive_one(job: &Job, tpl: &Template, opts: &Options, seeds: &Seeds) -> Result<Derived> {
    let crossing = crosses(tpl.location.as_deref(), job.location.as_deref(), &tpl.pool);
    let mut cow = tpl.cow && !crossing;
    let record = |status: &str, created_at: &str, snapshot: &str, cow: bool| Derived {
        project: tpl.clone_project.clone(),
        instance: job.name.clone(),
        source: format!("{}/{}/{}", tpl.target.project, tpl.target.name, snapshot),
        pool: tpl.clone_pool.clone(),
        driver: tpl.clone_driver.clone(),
        cow,
        status: status.to_string(),
        created_at: created_at.to_string(),
        ipv4: job.ipv4.clone(),
        location: job.location.clone(),
    };
    let incus = tpl.target.incus();
    if let Some(stopped) = job.existing {
        let last = tpl.pristine.last();
        // A rerun finishes the job: a clone an earlier --start left stopped is started.
        if opts.start && stopped && !opts.run.dry_run {
            incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
            return Ok(record("started", "", &last.snapshot, cow));
        }
        return Ok(record("skipped", "", &last.snapshot, cow));
    }
    if opts.run.dry_run {
        let last = tpl.pristine.last();
        if let (true, true, Some(m)) = (crossing, seeds.enabled, job.location.as_deref()) {
            // In a spread, all but one clone a member gets are CoW copies of that one.
            let slot = seeds.slot(job.template, m);
            let mut seed = slot.lock().unwrap_or_else(|e| e.into_inner());
            if seed.is_some() {
                cow = tpl.cow;
            } else {
                *seed = Some(Seed {
                    name: job.name.clone(),
                    copied: last.clone(),
                });
            }
        }
        return Ok(record("planned", &last.created_at, &last.snapshot, cow));
    }
    let from_template = || {
        let t = &tpl.target;
        let held = Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?;
        let source = tpl.pristine.under(t, Some(&held))?;
        copy_all(&incus, job, tpl, opts, source)
    };
    let copied = match job.location.as_deref() {
        Some(member) if crossing => {
            // One full copy at a time to a member; then, in a spread, CoW copies of it.
            let slot = seeds.slot(job.template, member);
            let mut seed = slot.lock().unwrap_or_else(|e| e.into_inner());
            match seed.clone() {
                Some(s) if seeds.enabled => {
                    drop(seed);
                    let req = copy_request(&job.name, tpl, &s.copied, opts, &job.devices, false);
                    incus
                        .copy_instance_from(&tpl.clone_project, Some(member), &s.name, &req)
                        .map_err(|e| {
                            already_exists(
                                e.context(format!("copying {}", s.name)),
                                &tpl.clone_project,
                            )
                        })?;
                    cow = tpl.cow;
                    s.copied
                }
                _ => {
                    let copied = {
                        let _one = seeds.transfer.lock().unwrap_or_else(|e| e.into_inner());
                        from_template()?
                    };
                    *seed = Some(Seed {
                        name: job.name.clone(),
                        copied: copied.clone(),
                    });
                    copied
                }
            }
        }
        _ => from_template()?,
    };
    let mut status = "Stopped";
    if opts.start {
        incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
        status = "Running";
    }
    Ok(record(status, &copied.created_at, &copied.snapshot, cow))
}

/// Copies the volumes, then the instance, from `source`; returns what was copied.
///
/// A golden-create on another machine is not held off by our lock: when a copy
/// fails and the pristine has changed meanwhile, it is tried again from the new
/// one, a few times.
fn copy_all(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    opts: &Options,
    mut source: Pristine,
) -> Result<Pristine> {
    let mut attempts = 0;
    loop {
        let mut made = Vec::new();
        let result = copy_volumes(incus, job, tpl, &source, &mut made)
            .and_then(|()| copy_instance(incus, job, tpl, opts, &source));
        let Err(e) = result else {
            return Ok(source);
        };
        // Leave no volume behind that no clone uses.
        for (pool, v) in made {
            let _ =
                incus.delete_volume(&pool, &tpl.clone_volumes_project, &v, tpl.volumes_member());
        }
        attempts += 1;
        let now = tpl.pristine.under(&tpl.target, None)?;
        let moved = (&now.snapshot, &now.created_at, &now.volumes)
            != (&source.snapshot, &source.created_at, &source.volumes);
        if attempts >= 5 || !moved {
            return Err(already_exists(
                e.context(format!("copying {}/{}", tpl.target.name, source.snapshot)),
                &tpl.clone_project,
            ));
        }
        source = now;
    }
}

fn copy_volumes(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    source: &Pristine,
    made: &mut Vec<(String, String)>,
) -> Result<()> {
    for v in &job.volume_copies {
        let snapshot = source
            .volumes
            .get(&(v.pool.clone(), v.volume.clone()))
            .ok_or_else(|| Error::failed(format!("no pristine of volume {}", v.volume)))?;
        incus.copy_volume_snapshot(
            &v.pool,
            (&tpl.volumes_project, &tpl.clone_volumes_project),
            (&v.volume, snapshot),
            &v.new_volume,
            tpl.volumes_member(),
        )?;
        made.push((v.pool.clone(), v.new_volume.clone()));
    }
    Ok(())
}

fn copy_instance(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    opts: &Options,
    source: &Pristine,
) -> Result<()> {
    let crossing = job.location.is_some() && job.location != tpl.location;
    let req = copy_request(&job.name, tpl, source, opts, &job.devices, crossing);
    // Always sent with its member: the daemon's scheduler would place it anywhere
    // (beside the template by default, so that it is CoW).
    let mut tries = 0;
    loop {
        match incus.copy_instance(&tpl.clone_project, job.location.as_deref(), &req) {
            // Another migration from the same source at the same time (see crate::seeds).
            Err(e) if crossing && tries < 4 && e.to_string().contains("websocket: close 1000") => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(300 * tries));
            }
            other => return other,
        }
    }
}

/// The daemon's words for a name taken meanwhile (by a concurrent run) are a
/// database constraint; say it as the user would.
fn already_exists(e: Error, project: &str) -> Error {
    let m = e.to_string();
    let taken = [
        "UNIQUE constraint failed",
        "already exists",
        "busy running a \"create\" operation",
    ];
    if taken.iter().any(|t| m.contains(t)) {
        Error::failed(format!(
            "already exists in project {project} (made meanwhile by someone else)"
        ))
    } else {
        e
    }
}

/// The copy of `source` as clone `name`, with its provenance. `in_full`: to
/// another cluster member, which the daemon makes as a migration that reads
/// nothing of the source's settings: the snapshot's architecture, config (less
/// its volatile keys), devices and profiles are sent, as `incus copy` does.
pub fn copy_request(
    name: &str,
    tpl: &Template,
    source: &Pristine,
    opts: &Options,
    devices: &BTreeMap<String, Value>,
    in_full: bool,
) -> CopyRequest {
    let mut req = CopyRequest::from_snapshot(
        name,
        &tpl.kind,
        &tpl.target.project,
        &tpl.target.name,
        &source.snapshot,
    );
    if in_full {
        crate::seeds::in_full(&mut req, source);
    }
    req.config.extend(opts.config.clone());
    req.config
        .insert(KEY_PROJECT.into(), tpl.target.project.clone());
    req.config
        .insert(KEY_TEMPLATE.into(), tpl.target.name.clone());
    req.config
        .insert(KEY_CREATED_AT.into(), source.created_at.clone());
    if !tpl.uuid.is_empty() {
        req.config
            .insert(KEY_TEMPLATE_UUID.into(), tpl.uuid.clone());
    }
    req.devices.extend(devices.clone());
    if opts.profiles.is_some() {
        req.profiles = opts.profiles.clone();
    }
    req
}
