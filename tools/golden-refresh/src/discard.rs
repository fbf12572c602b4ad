//! `golden-refresh --discard`: removes what a refresh kept of a clone — its
//! pre-refresh copy — and the images made to rebuild its template's clones
//! once no clone needs them, so that nothing the tools keep stays out of the
//! user's hands (`golden-ls --kept` lists it all).
//!
//! A copy holding snapshots (the clone's own, moved there by the refresh) is
//! refused, naming them, as a refresh that would replace it is; so is the
//! copy of a clone whose refresh is under way (the copy holds its old state).

use std::collections::BTreeSet;
use std::sync::Mutex;

use golden::incus::Scope;
use golden::model::{Provenance, KEY_REFRESH_FROM};
use golden::record::{Origin, Record};
use golden::target::Target;
use golden::{Error, Result};

use crate::{backup, image, Args, Refreshed};

/// (remote, clone project, template uuid).
type Place = (Option<String>, String, String);

/// The places whose refresh images are looked at once every copy is
/// discarded.
#[derive(Default)]
pub struct Places(Mutex<BTreeSet<Place>>);

pub fn one(c: &Target, args: &Args, places: &Places) -> Result<Refreshed> {
    let incus = c.incus();
    let inst = incus.instance(&c.project, &c.name)?;
    let kept = backup::name(&c.name)?;
    let copy = backup::find(&incus, c, &kept)?
        .ok_or_else(|| Error::failed(format!("no pre-refresh copy ({kept}) to discard")))?;
    if inst
        .config
        .get(KEY_REFRESH_FROM)
        .is_some_and(|v| !v.is_empty())
    {
        return Err(Error::failed(format!(
            "a refresh of it is under way, and {kept} holds its state before: run the \
             refresh again to finish it, then discard"
        )));
    }
    let held: Vec<String> = incus
        .snapshots(&c.project, &kept)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    if !held.is_empty() {
        return Err(Error::failed(format!(
            "its pre-refresh copy {kept} holds the snapshot(s) {}: keep them elsewhere \
             (incus copy {kept}/SNAPSHOT NEW) or remove them (incus snapshot delete {kept} \
             SNAPSHOT), then rerun",
            held.join(", ")
        )));
    }
    if let Some(uuid) = Provenance::of(&inst.config).and_then(|p| p.template_uuid) {
        places.0.lock().expect("places").insert((
            c.remote.clone(),
            c.project.clone(),
            uuid.to_string(),
        ));
    }
    let mut rec = Refreshed {
        project: c.project.clone(),
        instance: c.name.clone(),
        template: String::new(),
        from: String::new(),
        to: String::new(),
        status: "would-discard".into(),
        identity: "-".into(),
        kept: copy.name.clone(),
        snapshots: 0,
        restarted: false,
    };
    if !args.run.dry_run {
        incus.delete_instance(&c.project, &kept)?;
        rec.status = "discarded".into();
        rec.kept = String::new();
    }
    Ok(rec)
}

impl Places {
    /// Removes the refresh images of each place that no clone needs any more
    /// (see [`image::remove_unneeded`]); a failure is a notice.
    pub fn clean(self) {
        let places = self.0.into_inner().expect("places");
        for (remote, project, uuid) in places {
            let incus = golden::incus::Incus::new(remote.clone());
            // Its template, found by its uuid wherever it is now; gone, its
            // pristine is too and no clone can need its images.
            let template = incus.instances(&Scope::All).ok().and_then(|all| {
                all.into_iter()
                    .find(|i| i.config.get("volatile.uuid") == Some(&uuid))
                    .map(|t| Target {
                        remote: remote.clone(),
                        record: Record::named(Origin::Argument, &t.name),
                        project: t.project,
                        name: t.name,
                        member: None,
                    })
            });
            if let Err(e) = image::remove_unneeded(&incus, template.as_ref(), &project, &uuid) {
                golden::cli::notice(format!(
                    "the images made to rebuild from were not all removed: {e}"
                ));
            }
        }
    }
}
