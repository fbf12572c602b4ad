//! Phase 4: the copies, `-j` at a time, each through the daemon's own copy
//! operation (CoW where the pool allows), records printed as each ends.

use golden::incus::{CopyRequest, Incus};
use golden::model::{current_pristine, KEY_CREATED_AT, KEY_PROJECT, KEY_TEMPLATE, PRISTINE};
use golden::{Error, Result};

use crate::options::Options;
use crate::plan::Job;
use crate::template::Template;
use crate::Derived;

/// Makes one clone (or, with -n, says what it would be).
pub fn derive_one(job: &Job, tpl: &Template, opts: &Options) -> Result<Derived> {
    let record = |status: &str, created_at: &str, snapshot: &str| Derived {
        project: tpl.clone_project.clone(),
        instance: job.name.clone(),
        source: format!("{}/{}/{}", tpl.target.project, tpl.target.name, snapshot),
        pool: tpl.clone_pool.clone(),
        driver: tpl.clone_driver.clone(),
        cow: tpl.cow,
        status: status.to_string(),
        created_at: created_at.to_string(),
        ipv4: job.ipv4.clone(),
    };
    let incus = tpl.target.incus();
    if let Some(stopped) = job.existing {
        // A rerun finishes the job: a clone an earlier --start left stopped is started.
        if opts.start && stopped && !opts.run.dry_run {
            incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
            return Ok(record("started", "", &tpl.snapshot));
        }
        return Ok(record("skipped", "", &tpl.snapshot));
    }
    if opts.run.dry_run {
        return Ok(record("planned", &tpl.created_at, &tpl.snapshot));
    }
    let mut made_volumes = Vec::new();
    let copied = copy_volumes(&incus, job, tpl, &mut made_volumes)
        .and_then(|()| copy_instance(&incus, job, tpl, opts));
    let (snapshot, created_at) = match copied {
        Ok(c) => c,
        Err(e) => {
            // Leave no volume behind that no clone uses.
            for (pool, v) in made_volumes {
                let _ = incus.delete_volume(&pool, &tpl.volumes_project, &v);
            }
            return Err(e);
        }
    };
    let mut status = "Stopped";
    if opts.start {
        incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
        status = "Running";
    }
    Ok(record(status, &created_at, &snapshot))
}

fn copy_volumes(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    made: &mut Vec<(String, String)>,
) -> Result<()> {
    for v in &job.volume_copies {
        incus.copy_volume_snapshot(
            &v.pool,
            &tpl.volumes_project,
            &v.volume,
            PRISTINE,
            &v.new_volume,
        )?;
        made.push((v.pool.clone(), v.new_volume.clone()));
    }
    Ok(())
}

/// Copies the template's pristine; returns the snapshot copied and its time.
fn copy_instance(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    opts: &Options,
) -> Result<(String, String)> {
    let mut snapshot = tpl.snapshot.clone();
    let mut created_at = tpl.created_at.clone();
    let copy = |snapshot: &str, created_at: &str| {
        let req = copy_request(job, tpl, snapshot, created_at, opts);
        // In a cluster, stay beside the template: a copy across members is never CoW.
        incus.copy_instance(&tpl.clone_project, tpl.location.as_deref(), &req)
    };
    // golden-create may rename the snapshot under us: look again and retry,
    // a few times, as long as the pristine we would copy has changed.
    let mut attempts = 0;
    while let Err(e) = copy(&snapshot, &created_at) {
        attempts += 1;
        let snaps = incus.snapshots(&tpl.target.project, &tpl.target.name)?;
        let now = current_pristine(
            snaps
                .iter()
                .map(|s| (s.name.as_str(), s.created_at.as_str())),
        );
        match now {
            Some((n, c))
                if attempts < 5
                    && (n != snapshot
                        || c != created_at
                        || !snaps.iter().any(|s| s.name == snapshot)) =>
            {
                snapshot = n.to_string();
                created_at = c.to_string();
            }
            _ => {
                return Err(already_exists(
                    e.context(format!("copying {}/{}", tpl.target.name, snapshot)),
                    &tpl.clone_project,
                ))
            }
        }
    }
    Ok((snapshot, created_at))
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

fn copy_request(
    job: &Job,
    tpl: &Template,
    snapshot: &str,
    created_at: &str,
    opts: &Options,
) -> CopyRequest {
    let mut req = CopyRequest::from_snapshot(
        &job.name,
        &tpl.kind,
        &tpl.target.project,
        &tpl.target.name,
        snapshot,
    );
    req.config = opts.config.clone();
    req.config
        .insert(KEY_PROJECT.into(), tpl.target.project.clone());
    req.config
        .insert(KEY_TEMPLATE.into(), tpl.target.name.clone());
    req.config.insert(KEY_CREATED_AT.into(), created_at.into());
    req.devices = job.devices.clone();
    req.profiles = opts.profiles.clone();
    req
}
