//! One golden published: its alias checked, its image made ([`crate::image`])
//! and named ([`crate::alias`]); with -n, what would be.

use golden::cli::notice;
use golden::{Error, Result};

use crate::alias;
use crate::args::Args;
use crate::image;
use crate::plan::Job;
use crate::published::{short, Published};

pub fn one(job: &Job, args: &Args, expires: Option<&str>) -> Result<Published> {
    let t = &job.target;
    let incus = t.incus();
    let existing = incus.image_alias(&t.project, &job.alias)?;
    if let Some(a) = &existing {
        if !args.replace {
            return Err(Error::failed(format!(
                "alias {} already names image {} (--replace moves it to the new image)",
                job.alias,
                short(&a.target)
            )));
        }
    }
    let mut rec = Published {
        project: t.project.clone(),
        instance: t.name.clone(),
        alias: job.alias.clone(),
        fingerprint: String::new(),
        size: None,
        replaced: existing
            .as_ref()
            .map(|a| a.target.clone())
            .unwrap_or_default(),
        image_project: job.image_project.clone(),
        created_at: job.created_at.clone(),
        volumes_left_out: job.volumes,
    };
    if job.volumes > 0 {
        notice(format!(
            "{}: {} attached custom volume(s) are not part of the image (it holds the root disk only)",
            t.name, job.volumes
        ));
    }
    if args.run.dry_run {
        return Ok(rec);
    }
    let reading = image::hold(t)?;
    let (made, created_at) = image::make(job, args, expires, &reading)?;
    rec.created_at = created_at;
    rec.fingerprint = made.fingerprint;
    rec.size = made.size;
    alias::point(&incus, t, &job.alias, existing.as_ref(), &rec.fingerprint)?;
    if let Some(old) = &existing {
        alias::remove_replaced(&incus, t, old, &rec.fingerprint)?;
    }
    drop(reading);
    Ok(rec)
}
