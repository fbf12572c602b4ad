//! Phase 5: the copies, `-j` at a time, each through the daemon's own copy
//! operation (CoW where the pool allows), records printed as each ends.
//!
//! Each clone holds the template's readers' lock (see `golden::readers`) from
//! the moment it looks which snapshot stands for pristine until its copy
//! exists: a golden-create waits for it to rename, and the clone names the
//! snapshot it was really copied from.

use golden::incus::{Incus, Kind};
use golden::readers::Shared;
use golden::{Error, Result};

use crate::derived::Derived;
use crate::options::Options;
use crate::placement::crosses;
use crate::plan::Job;
use crate::pristine::Pristine;
use crate::renew::Renewals;
use crate::reset;
use crate::seeds::{Seed, Seeds};
use crate::template::Template;

/// Makes one clone (or, with -n, says what it would be).
pub fn derive_one(
    job: &Job,
    tpl: &Template,
    renewals: &Renewals,
    opts: &Options,
    seeds: &Seeds,
) -> Result<Derived> {
    let crossing = crosses(tpl.location.as_deref(), job.location.as_deref(), &tpl.pool);
    let mut cow = tpl.cow && !crossing;
    let record =
        |status: &str, created_at: &str, snapshot: &str, cow: bool, identity: String| Derived {
            project: tpl.clone_project.clone(),
            instance: job.name.clone(),
            source: format!("{}/{}/{}", tpl.target.project, tpl.target.name, snapshot),
            pool: tpl.clone_pool.clone(),
            driver: tpl.clone_driver.clone(),
            cow,
            status: status.to_string(),
            created_at: created_at.to_string(),
            ipv4: job.ipv4.clone(),
            identity,
            location: job.location.clone(),
        };
    let incus = tpl.target.incus();
    if let Some(made) = &job.existing {
        let last = tpl.pristine.last();
        let mut identity = "-".to_string();
        if made.pending && !opts.run.dry_run {
            identity = reset::finish_pending(job, tpl, renewals, made.stopped)?;
        }
        // A rerun finishes the job: a clone an earlier --start left stopped is started.
        if opts.start && made.stopped && !opts.run.dry_run {
            incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
            return Ok(record("started", "", &last.snapshot, cow, identity));
        }
        return Ok(record("skipped", "", &last.snapshot, cow, identity));
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
        let identity = renewals.planned(job.template);
        return Ok(record(
            "planned",
            &last.created_at,
            &last.snapshot,
            cow,
            identity,
        ));
    }
    if job.half_made {
        reset::remove_half_made(&incus, job, tpl)?;
    }
    let from_template = || {
        let t = &tpl.target;
        let held = Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?;
        let source = tpl.pristine.under(t, Some(&held))?;
        copy_all(&incus, job, tpl, opts, source)
    };
    // Whose identity the copy holds: the template's, or a seed clone's.
    let mut holder = tpl.target.name.clone();
    let mut reset_done = None;
    // Before it is ever started; a clone left half-reset is removed.
    let reset_now = |copied: &Pristine, holder: &str| {
        let source = format!("{}@{}", copied.snapshot, copied.created_at);
        renewals
            .apply(tpl, job.template, &job.name, (&source, holder))
            .map_err(|e| {
                let removed = reset::remove_clone(&incus, job, tpl);
                reset::failed(e, removed, &tpl.clone_project, &job.name)
            })
    };
    let copied = match job.location.as_deref() {
        Some(member) if crossing => {
            // One full copy at a time to a member; then, in a spread, CoW copies of it.
            let slot = seeds.slot(job.template, member);
            let mut seed = slot.lock().unwrap_or_else(|e| e.into_inner());
            match seed.clone() {
                Some(s) if seeds.enabled => {
                    drop(seed);
                    let req = crate::request::copy_request(
                        &job.name,
                        tpl,
                        &s.copied,
                        opts,
                        &job.devices,
                        false,
                    );
                    incus
                        .copy_instance_from(&tpl.clone_project, Some(member), &s.name, &req)
                        .map_err(|e| {
                            already_exists(
                                e.context(format!("copying {}", s.name)),
                                &tpl.clone_project,
                            )
                        })?;
                    cow = tpl.cow;
                    holder = s.name.clone();
                    s.copied
                }
                _ => {
                    let copied = {
                        let _one = seeds.transfer.lock().unwrap_or_else(|e| e.into_inner());
                        from_template()?
                    };
                    // Its own identity before any other clone is copied from it.
                    reset_done = Some(reset_now(&copied, &holder)?);
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
    let identity = match reset_done {
        Some(done) => done,
        None => reset_now(&copied, &holder)?,
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
        cow,
        identity,
    ))
}

/// Copies the volumes, then the instance, from `source`; returns what was copied.
///
/// A golden-create on another machine is not held off by our lock: when a copy
/// fails and the pristine has changed meanwhile, it is tried again from the new
/// one, a few times ([`golden::pristine::ride_over_swaps`]).
fn copy_all(
    incus: &Incus,
    job: &Job,
    tpl: &Template,
    opts: &Options,
    source: Pristine,
) -> Result<Pristine> {
    let same = |a: &Pristine, b: &Pristine| {
        (&a.snapshot, &a.created_at, &a.volumes) == (&b.snapshot, &b.created_at, &b.volumes)
    };
    let copy = |source: &Pristine| {
        let mut made = Vec::new();
        let result = copy_volumes(incus, job, tpl, source, &mut made)
            .and_then(|()| copy_instance(incus, job, tpl, opts, source));
        if result.is_err() {
            // Leave no volume behind that no clone uses.
            for (pool, v) in made {
                let _ = incus.delete_volume(
                    &pool,
                    &tpl.clone_volumes_project,
                    &v,
                    tpl.volumes_member(),
                );
            }
        }
        result.map_err(|e| {
            already_exists(
                e.context(format!("copying {}/{}", tpl.target.name, source.snapshot)),
                &tpl.clone_project,
            )
        })
    };
    let read_again = || tpl.pristine.under(&tpl.target, None);
    golden::pristine::ride_over_swaps(source, same, read_again, copy).map(|(copied, ())| copied)
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
    let req = crate::request::copy_request(&job.name, tpl, source, opts, &job.devices, crossing);
    // Always sent with its member: the daemon's scheduler would place it anywhere
    // (beside the template by default, so that it is CoW).
    let mut tries = 0;
    loop {
        match incus.copy_instance(&tpl.clone_project, job.location.as_deref(), &req) {
            // Another migration from the same source at the same time (see crate::seeds).
            Err(e) if crossing && tries < 4 && Kind::of(&e) == Kind::MigrationCut => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(300 * tries));
            }
            other => return other,
        }
    }
}

/// A name taken meanwhile (by a concurrent run: the daemon refuses the copy's
/// record, or the copy under way holds the name); say it as the user would.
fn already_exists(e: Error, project: &str) -> Error {
    match Kind::of(&e) {
        Kind::AlreadyExists => {}
        Kind::InstanceBusy { action } if action == "create" => {}
        _ => return e,
    }
    Error::failed(format!(
        "already exists in project {project} (made meanwhile by someone else)"
    ))
}
