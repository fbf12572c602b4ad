//! Phase 2: the image of a golden's pristine, through the daemon's own image
//! operation, made while the golden's readers' lock is held (see
//! `golden::readers`): a golden-create waits to rename the snapshot being read.

use std::collections::BTreeMap;

use golden::incus::{NewImage, PublishRequest};
use golden::readers::{NoNewSnapshot, Shared};
use golden::target::Target;
use golden::Result;

use crate::args::Args;
use crate::plan::Job;

/// The golden's readers' locks, held while its image is made (and, as
/// golden-publish always did, until its alias names it).
pub struct Reading {
    _held: Shared,
    _no_new: NoNewSnapshot,
}

pub fn hold(t: &Target) -> Result<Reading> {
    Ok(Reading {
        _held: Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?,
        _no_new: NoNewSnapshot::acquire(t.remote.as_deref(), &t.project, &t.name)?,
    })
}

/// The image of `job`'s current pristine, and that pristine's `created_at`.
///
/// The pristine is read again under the lock (`_reading`): a create may have
/// swapped it since the plan. One on another machine (not held off by our
/// lock) may swap it while the image is made: then it is made again from the
/// new one ([`golden::pristine::ride_over_swaps`]).
pub fn make(
    job: &Job,
    args: &Args,
    expires: Option<&str>,
    _reading: &Reading,
) -> Result<(NewImage, String)> {
    let t = &job.target;
    let make = |(snapshot, created_at): &(String, String)| {
        run(t, &request(job, args, expires, snapshot, created_at))
    };
    let ((_, created_at), made) = golden::pristine::ride_over_swaps(
        t.source(args.generation)?,
        |a, b| a == b,
        || t.source(args.generation),
        make,
    )?;
    Ok((made, created_at))
}

/// The image of `snapshot`, with the properties that say where it came from.
fn request(
    job: &Job,
    args: &Args,
    expires: Option<&str>,
    snapshot: &str,
    created_at: &str,
) -> PublishRequest {
    let t = &job.target;
    let mut req = PublishRequest::from_snapshot(&t.project, &t.name, snapshot);
    req.public = args.public;
    req.expires_at = expires.map(str::to_string);
    req.properties = BTreeMap::from([
        (
            "description".to_string(),
            format!("golden {} ({}) pristine of {created_at}", t.name, t.project),
        ),
        ("golden.project".to_string(), t.project.clone()),
        ("golden.instance".to_string(), t.name.clone()),
        ("golden.created_at".to_string(), created_at.to_string()),
    ]);
    req
}

/// Runs the image operation, drawing its progress ("publishing NAME N%") on a terminal.
fn run(t: &Target, req: &PublishRequest) -> Result<NewImage> {
    let incus = t.incus();
    let op = incus
        .publish_image(&t.project, req)
        .map_err(|e| e.context(format!("publishing {}", t.name)))?;
    let bar = golden::term::percent(&format!("publishing {}", t.name));
    let made = match bar.is_hidden() {
        true => op.wait(),
        false => op.wait_with_progress(|p| bar.set_position(p)),
    };
    bar.finish_and_clear();
    made.map_err(|e| e.context(format!("publishing {}", t.name)))
}
