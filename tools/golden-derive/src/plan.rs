//! Phase 3: one plan for every clone — its name, whether it exists already,
//! its address and devices — before the first copy.

use std::collections::{BTreeMap, BTreeSet};

use golden::incus::{Incus, Scope};
use golden::{Error, Result};
use serde_json::Value;

use crate::addresses::{AddressPlan, Ipv4Choice};
use crate::devices::{devices, VolumeCopy};
use crate::input::{NewName, Request};
use crate::options::{numbered_name, Options};
use crate::template::Template;

/// One clone to make.
pub struct Job {
    pub template: usize,
    pub name: String,
    pub ipv4: Option<String>,
    pub devices: BTreeMap<String, Value>,
    /// For --volumes copy.
    pub volume_copies: Vec<VolumeCopy>,
    /// It exists and came from this template (--skip-existing): is it stopped?
    pub existing: Option<bool>,
}

/// The jobs, and the clones refused already (a name taken by another instance).
pub struct Plan {
    pub jobs: Vec<Job>,
    pub refused: Vec<Error>,
}

pub fn plan(
    incus: &Incus,
    templates: &[Template],
    requests: Vec<Request>,
    opts: &Options,
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
    let mut addresses = match opts.ipv4 {
        Some(Ipv4Choice::Auto) => Some(AddressPlan::read(incus, templates)?),
        _ => None,
    };
    let mut existing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut numbers: BTreeMap<usize, usize> = BTreeMap::new();
    let mut plan = Plan {
        jobs: Vec::with_capacity(requests.len()),
        refused: Vec::new(),
    };
    for Request { template: ti, new } in requests {
        let tpl = &templates[ti];
        let project = &tpl.clone_project;
        if !existing.contains_key(project) {
            let names = incus
                .instance_urls(&Scope::Project(project.clone()))?
                .into_iter()
                .map(|u| u.name)
                .collect();
            existing.insert(project.clone(), names);
        }
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
        if exists.contains(&name) {
            made = if opts.skip_existing {
                tpl.made(incus, project, &name)?
            } else {
                None
            };
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
        let address = match (&opts.ipv4, addresses.as_mut()) {
            (Some(Ipv4Choice::Fixed(a)), _) => Some(a.to_string()),
            (Some(Ipv4Choice::Auto), Some(p)) if made.is_none() => Some(p.next(ti)?.to_string()),
            _ => None,
        };
        let (devices, volume_copies) = devices(
            &tpl.expanded_devices,
            &name,
            opts,
            address.as_deref(),
            &tpl.clone_pool,
            opts.storage.is_some(),
        );
        plan.jobs.push(Job {
            template: ti,
            name,
            ipv4: address,
            devices,
            volume_copies,
            existing: made,
        });
    }
    Ok(plan)
}
