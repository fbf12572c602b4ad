//! Phase 3: one plan for every clone — its name, whether it exists already,
//! its address, devices and volumes — before the first copy. What the daemon
//! would refuse for every clone (config, profiles, addresses) is a usage error
//! here; what it would refuse for one clone (a name or a volume name taken)
//! refuses that clone alone, before any copy.

use std::collections::{BTreeMap, BTreeSet};

use golden::incus::{Incus, Scope};
use golden::{Error, Result};
use serde_json::Value;

use crate::addresses::AddressPlan;
use crate::args::Volumes;
use crate::expand::custom_volumes;
use crate::input::{NewName, Request};
use crate::options::{numbered_name, Ipv4Choice, Options};
use crate::overrides::{overrides, VolumeCopy};
use crate::placement::{crosses, Placement};
use crate::request::judge;
use crate::template::{Made, Template};

/// One clone to make.
pub struct Job {
    pub template: usize,
    pub name: String,
    pub ipv4: Option<String>,
    pub devices: BTreeMap<String, Value>,
    /// For --volumes copy.
    pub volume_copies: Vec<VolumeCopy>,
    /// It exists and came from this template (--skip-existing).
    pub existing: Option<Made>,
    /// What an earlier run's copy left when the daemon died under it, to remove first.
    pub half_made: bool,
    /// The cluster member it goes to (or is on); `None` outside a cluster.
    pub location: Option<String>,
}

/// The jobs, and the clones refused already (a name taken by another instance).
pub struct Plan {
    pub jobs: Vec<Job>,
    pub refused: Vec<Error>,
    /// Held until the clones exist: no other run takes the same addresses.
    pub _addresses: Option<AddressPlan>,
}

pub fn plan(
    incus: &Incus,
    templates: &[Template],
    requests: Vec<Request>,
    opts: &Options,
    placement: &mut Placement,
) -> Result<Plan> {
    // Each given name once per project, and the target project real, before any notice.
    let mut taken: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &requests {
        if let NewName::Given(n) = &r.new {
            let project = &templates[r.template].clone_project;
            if !taken.entry(project.clone()).or_default().insert(n.clone()) {
                return Err(Error::usage(format!("{n} is named twice")));
            }
        }
    }
    if let Some(tp) = &opts.target_project {
        if !incus.project_exists(tp)? {
            return Err(Error::usage(format!("project not found: {tp}")));
        }
    }
    if matches!(opts.ipv4, Some(Ipv4Choice::Fixed(_))) && requests.len() > 1 {
        return Err(Error::usage(format!(
            "--ipv4 ADDR gives one address to {} clones; use --ipv4 auto or --dhcp",
            requests.len()
        )));
    }
    let mut existing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for tpl in templates {
        let project = &tpl.clone_project;
        if !existing.contains_key(project) {
            let names = incus
                .instance_urls(&Scope::Project(project.clone()))?
                .into_iter()
                .map(|u| u.name)
                .collect();
            existing.insert(project.clone(), names);
        }
    }
    if !opts.config.is_empty() || opts.profiles.is_some() {
        for tpl in templates {
            judge(tpl, opts, &existing[&tpl.clone_project])?;
        }
    }
    let mut addresses = match opts.ipv4 {
        Some(_) => Some(AddressPlan::read(incus, templates, opts.run.dry_run)?),
        None => None,
    };
    let mut volumes = LeftoverVolumes::default();
    let mut numbers: BTreeMap<usize, usize> = BTreeMap::new();
    let mut plan = Plan {
        jobs: Vec::with_capacity(requests.len()),
        refused: Vec::new(),
        _addresses: None,
    };
    for Request { template: ti, new } in requests {
        let tpl = &templates[ti];
        let project = &tpl.clone_project;
        let exists = &existing[project];
        let reserved = taken.entry(project.clone()).or_default();
        let name = match new {
            NewName::Given(n) => n,
            NewName::Numbered => {
                // The first free numbers, past names that exist or are planned.
                let n = numbers.entry(ti).or_insert(0);
                loop {
                    *n += 1;
                    let name = numbered_name(&opts.name, &tpl.target.name, project, *n)?;
                    if !exists.contains(&name) && reserved.insert(name.clone()) {
                        break name;
                    }
                    if !opts.name.contains("{n}") {
                        break name;
                    }
                }
            }
        };
        let mut made = None;
        let mut location = None;
        if exists.contains(&name) {
            if opts.skip_existing {
                made = tpl.made(project, &name)?;
                location = made.as_ref().and_then(|m| m.member.clone());
            }
            if made.is_none() {
                let hint = if opts.skip_existing {
                    " (and it was not derived from this template)"
                } else {
                    ""
                };
                plan.refused.push(Error::failed(format!(
                    "{name}: already exists in project {project}{hint}"
                )));
                continue;
            }
        }
        let half_made = made.take_if(|m| m.half_made).is_some();
        if made.is_none() {
            location = placement.next(ti);
            if let Some(why) = location.as_ref().and_then(|m| placement.offline.get(m)) {
                let m = location.as_deref().unwrap_or_default();
                plan.refused.push(Error::failed(format!(
                    "{name}: cluster member {m} is {why}: the clone cannot be made there"
                )));
                continue;
            }
        }
        let address = match (&opts.ipv4, addresses.as_mut()) {
            (Some(Ipv4Choice::Fixed(a)), Some(p)) if made.is_none() => {
                p.check_fixed(ti, *a)?;
                Some(a.to_string())
            }
            (Some(Ipv4Choice::Auto), Some(p)) if made.is_none() => {
                p.next(ti)?.map(|a| a.to_string())
            }
            _ => None,
        };
        let (devices, volume_copies) = overrides(
            &tpl.clone_devices,
            &name,
            opts,
            address.as_deref(),
            &tpl.clone_pool,
            opts.storage.is_some(),
        );
        if made.is_none() {
            let keeps_volumes = opts.volumes.is_some_and(|v| v != Volumes::Drop)
                && !custom_volumes(&tpl.clone_devices).is_empty();
            if keeps_volumes && crosses(tpl.location.as_deref(), location.as_deref(), &tpl.pool) {
                return Err(Error::usage(format!(
                    "{name} would be on member {}, and the custom volumes of {} are on member \
                     {}'s own storage, which a clone there can neither share nor copy: use \
                     --volumes drop, or no --target/--spread",
                    location.as_deref().unwrap_or_default(),
                    tpl.target.name,
                    tpl.location.as_deref().unwrap_or_default()
                )));
            }
            if let Some(e) = volumes.taken(incus, tpl, &name, &volume_copies)? {
                plan.refused.push(e);
                continue;
            }
        }
        plan.jobs.push(Job {
            template: ti,
            name,
            ipv4: address,
            devices,
            volume_copies,
            existing: made,
            half_made,
            location,
        });
    }
    if let Some(a) = &addresses {
        a.finish()?;
    }
    plan._addresses = addresses;
    Ok(plan)
}

/// Custom volumes that exist already, per (pool, store project), read once.
#[derive(Default)]
struct LeftoverVolumes {
    names: BTreeMap<(String, String), BTreeSet<String>>,
}

impl LeftoverVolumes {
    /// A refusal if a volume this clone would get is taken (a leftover of an
    /// earlier clone, say): that clone is left out before any copy.
    fn taken(
        &mut self,
        incus: &Incus,
        tpl: &Template,
        name: &str,
        copies: &[VolumeCopy],
    ) -> Result<Option<Error>> {
        for v in copies {
            let key = (v.pool.clone(), tpl.clone_volumes_project.clone());
            if !self.names.contains_key(&key) {
                let list = incus.custom_volume_names(&v.pool, &tpl.clone_volumes_project)?;
                self.names.insert(key.clone(), list.into_iter().collect());
            }
            // Also keeps two clones of one run from the same volume name.
            if !self
                .names
                .get_mut(&key)
                .expect("read above")
                .insert(v.new_volume.clone())
            {
                return Ok(Some(Error::failed(format!(
                    "{name}: its copy of volume {} would be {} on pool {}, which exists already \
                     (in project {}'s store): remove or rename it",
                    v.volume, v.new_volume, v.pool, tpl.clone_volumes_project
                ))));
            }
        }
        Ok(None)
    }
}
