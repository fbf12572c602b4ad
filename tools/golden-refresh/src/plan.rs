//! What each clone named is refreshed from, checked before anything changes:
//! a name that is no clone, a pre-refresh copy, a virtual machine or a clone
//! whose template is gone is refused with exit 2, and nothing is done.

use std::collections::BTreeMap;

use golden::incus::Instance;
use golden::model::{Provenance, KEY_PRE_REFRESH_OF};
use golden::target::Target;
use golden::{Error, Result};

/// One clone to refresh.
#[derive(Debug, Clone)]
pub struct Job {
    pub clone: Target,
    /// Its template, as found now (a renamed template is found by its uuid).
    pub template: Target,
    /// The template's `volatile.uuid`, recorded again on the clone.
    pub template_uuid: String,
}

/// What is done for one clone named.
pub enum Planned {
    Refresh(Job),
    /// On a cluster member that is not online: the daemon lists it without
    /// its config, so nothing can be told of it. Its record fails alone,
    /// naming the member ([`Target::reachable`]); the others go on (as
    /// golden-create, golden-publish and golden-derive do).
    Offline(Target),
}

impl Planned {
    pub fn clone_target(&self) -> &Target {
        match self {
            Planned::Refresh(j) => &j.clone,
            Planned::Offline(t) => t,
        }
    }
}

pub fn plan(targets: Vec<Target>) -> Result<Vec<Planned>> {
    // One listing per remote: the clones, and their templates by uuid.
    let mut listings: BTreeMap<Option<String>, Vec<Instance>> = BTreeMap::new();
    for t in &targets {
        if !listings.contains_key(&t.remote) {
            let incus = t.incus();
            if !incus.speaks_files()? {
                return Err(Error::usage(format!(
                    "{t}: a refresh carries the clone's identity through the daemon's files \
                     API, which a remote reached through `incus query` cannot carry"
                )));
            }
            // A client restricted to some projects lists its own.
            let all = incus.instances_everywhere_or_in(&t.project)?;
            listings.insert(t.remote.clone(), all);
        }
    }
    targets
        .into_iter()
        .map(|t| {
            if t.offline_member().is_some() {
                return Ok(Planned::Offline(t));
            }
            let listed = &listings[&t.remote];
            let inst = match listed
                .iter()
                .find(|i| i.project == t.project && i.name == t.name)
            {
                Some(i) => i.clone(),
                None => t.incus().instance(&t.project, &t.name)?,
            };
            job(t, &inst, listed).map(Planned::Refresh)
        })
        .collect()
}

/// Refuses the run when a template's pristine (or its generation
/// `generation`) is revoked, unless `allow`: a refresh would spread it. Once
/// per template.
pub fn judge_sources(planned: &[Planned], generation: Option<u64>, allow: bool) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for job in planned.iter().filter_map(|p| match p {
        Planned::Refresh(j) => Some(j),
        Planned::Offline(_) => None,
    }) {
        let t = &job.template;
        if !seen.insert((t.remote.clone(), t.project.clone(), t.name.clone())) {
            continue;
        }
        // What cannot be read here (no pristine, no such generation, a
        // member down) fails in each clone's own record, as before.
        let incus = t.incus();
        let Ok((snapshot, _)) = t.source(generation) else {
            continue;
        };
        let (Ok(golden), Ok(source)) = (
            incus.instance(&t.project, &t.name),
            incus.instance_snapshot(&t.project, &t.name, &snapshot),
        ) else {
            continue;
        };
        golden::generations::judge_revoked(&t.name, &golden.config, &source.config, allow)?;
    }
    Ok(())
}

fn job(clone: Target, inst: &Instance, listed: &[Instance]) -> Result<Job> {
    if let Some(of) = inst
        .config
        .get(KEY_PRE_REFRESH_OF)
        .filter(|v| !v.is_empty())
    {
        return Err(Error::usage(format!(
            "{clone} is the copy golden-refresh kept of {of} before its refresh, not a clone \
             to refresh (golden-refresh(1) says how to go back to it)"
        )));
    }
    let Some(p) = Provenance::of(&inst.config) else {
        return Err(Error::usage(format!(
            "{clone} is not a derived instance (no user.golden.* provenance): there is no \
             pristine to refresh it from"
        )));
    };
    if inst.kind == "virtual-machine" {
        return Err(Error::usage(format!(
            "{clone} is a virtual machine: its identity cannot be carried (the files API \
             needs its agent, which runs only once it is started); not refreshed"
        )));
    }
    let by_uuid = p.template_uuid.and_then(|u| {
        listed
            .iter()
            .find(|i| i.config.get("volatile.uuid").map(String::as_str) == Some(u))
    });
    let by_name = || {
        listed
            .iter()
            .find(|i| i.project == p.project && i.name == p.template)
    };
    // Outside the listing (a client that may list one project only): asked for.
    let tpl = match by_uuid.or_else(by_name) {
        Some(t) => Some(t.clone()),
        None => clone.incus().instance_if_any(p.project, p.template)?,
    };
    let Some(tpl) = tpl else {
        return Err(Error::usage(format!(
            "{clone}: its template {}/{} no longer exists: there is no pristine to refresh it from",
            p.project, p.template
        )));
    };
    Ok(Job {
        // Its member is not asked about: the template is read only for the
        // clone, whose record a failure there fails.
        template: Target {
            remote: clone.remote.clone(),
            project: tpl.project.clone(),
            name: tpl.name.clone(),
            record: clone.record.clone(),
            member: None,
        },
        template_uuid: tpl.config.get("volatile.uuid").cloned().unwrap_or_default(),
        clone,
    })
}
