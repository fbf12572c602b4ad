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
use crate::plan::Job;
use crate::pristine::Pristine;
use crate::renew::Renewals;
use crate::reset;
use crate::template::Template;
use crate::Derived;

/// Makes one clone (or, with -n, says what it would be).
pub fn derive_one(
    job: &Job,
    tpl: &Template,
    renewals: &Renewals,
    opts: &Options,
) -> Result<Derived> {
    let record = |status: &str, created_at: &str, snapshot: &str, identity: String| Derived {
        project: tpl.clone_project.clone(),
        instance: job.name.clone(),
        source: format!("{}/{}/{}", tpl.target.project, tpl.target.name, snapshot),
        pool: tpl.clone_pool.clone(),
        driver: tpl.clone_driver.clone(),
        cow: tpl.cow,
        status: status.to_string(),
        created_at: created_at.to_string(),
        ipv4: job.ipv4.clone(),
        identity,
    };
    let incus = tpl.target.incus();
    if let Some(stopped) = job.existing {
        let last = tpl.pristine.last();
        // A rerun finishes the job: a clone an earlier --start left stopped is started.
        if opts.start && stopped && !opts.run.dry_run {
            incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
            return Ok(record("started", "", &last.snapshot, "-".into()));
        }
        return Ok(record("skipped", "", &last.snapshot, "-".into()));
    }
    if opts.run.dry_run {
        let last = tpl.pristine.last();
        let identity = renewals.planned(job.template);
        return Ok(record(
            "planned",
            &last.created_at,
            &last.snapshot,
            identity,
        ));
    }
    let copied = {
        let t = &tpl.target;
        let held = Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?;
        let source = tpl.pristine.under(t, Some(&held))?;
        copy_all(&incus, job, tpl, opts, source)?
    };
    // Before it is ever started; a clone left half-reset is removed.
    let source = format!("{}@{}", copied.snapshot, copied.created_at);
    let identity = match renewals.apply(tpl, job.template, &job.name, &source) {
        Ok(done) => done,
        Err(e) => {
            let removed = remove_clone(&incus, job, tpl);
            return Err(reset::failed(e, removed, &tpl.clone_project, &job.name));
        }
    };
    let mut status = "Stopped";
    if opts.start {
        incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
        status = "Running";
    }
    Ok(record(
        status,
        &copied.created_at,
        &copied.snapshot,
        identity,
    ))
}

/// Removes a clone just made, and the volumes copied for it.
fn remove_clone(incus: &Incus, job: &Job, tpl: &Template) -> Result<()> {
    incus.delete_instance(&tpl.clone_project, &job.name)?;
    for v in &job.volume_copies {
        incus.delete_volume(&v.pool, &tpl.clone_volumes_project, &v.new_volume)?;
    }
    Ok(())
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
            let _ = incus.delete_volume(&pool, &tpl.clone_volumes_project, &v);
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
            &v.volume,
            snapshot,
            &v.new_volume,
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
    let req = copy_request(&job.name, tpl, source, opts, &job.devices);
    // In a cluster, stay beside the template: a copy across members is never CoW.
    incus.copy_instance(&tpl.clone_project, tpl.location.as_deref(), &req)
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

/// The copy of `source` as clone `name`, with its provenance.
pub fn copy_request(
    name: &str,
    tpl: &Template,
    source: &Pristine,
    opts: &Options,
    devices: &BTreeMap<String, Value>,
) -> CopyRequest {
    let mut req = CopyRequest::from_snapshot(
        name,
        &tpl.kind,
        &tpl.target.project,
        &tpl.target.name,
        &source.snapshot,
    );
    req.config = opts.config.clone();
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
    req.devices = devices.clone();
    req.profiles = opts.profiles.clone();
    req
}
