//! Phase 2: each template, read once, checked against the options, with
//! where its clones go and whether they can share its blocks.

use golden::incus::{Incus, SnapshotsOf, StoragePool};
use golden::model::{pool_shares_blocks, Provenance, PRISTINE};
use golden::target::Target;
use golden::{Error, Result};

use crate::devices::{static_nics, Devices};
use crate::options::Options;
use crate::Volumes;

/// A template, read once, with what every clone of it needs.
pub struct Template {
    pub target: Target,
    pub kind: String,
    /// The snapshot standing for its pristine, and when it was made.
    pub snapshot: String,
    pub created_at: String,
    pub pool: String,
    pub location: Option<String>,
    pub expanded_devices: Devices,
    /// The project whose store holds its custom volumes.
    pub volumes_project: String,
    /// Where its clones go (the same for all of them: kept here, not per clone).
    pub clone_project: String,
    pub clone_pool: String,
    pub clone_driver: String,
    pub cow: bool,
}

impl Template {
    /// Reads a template and checks it can be derived from with these options.
    pub fn read(t: Target, opts: &Options, pools: &[StoragePool]) -> Result<Template> {
        let incus = t.incus();
        let inst = incus.instance(&t.project, &t.name)?;
        let (snapshot, created_at) = t.pristine()?;
        let statics = static_nics(&inst.expanded_devices);
        if !statics.is_empty() && opts.ipv4.is_none() && !opts.dhcp {
            return Err(Error::usage(format!(
                "{} has static addresses ({}) that every clone would copy, and the clone would then \
                 keep the template from starting: give --ipv4 ADDR (one clone), --ipv4 auto (next \
                 free address of the network) or --dhcp (drop the static address)",
                t.name,
                statics.join(", ")
            )));
        }
        let volumes = inst.custom_volumes();
        if !volumes.is_empty() && opts.volumes.is_none() {
            let list: Vec<String> = volumes
                .iter()
                .map(|(d, p, v)| format!("{d}: {p}/{v}"))
                .collect();
            return Err(Error::usage(format!(
                "{} has custom volumes attached ({}) that clones would share: choose --volumes copy \
                 (a copy of each for every clone), --volumes share (keep sharing) or --volumes drop",
                t.name,
                list.join(", ")
            )));
        }
        let volumes_project = if volumes.is_empty() {
            String::new()
        } else {
            incus.project(&t.project)?.volumes_project().to_string()
        };
        if opts.volumes == Some(Volumes::Copy) {
            for (_, pool, vol) in &volumes {
                let has = SnapshotsOf::volume(&incus, &volumes_project, pool, vol)
                    .list()?
                    .iter()
                    .any(|s| s.name == PRISTINE);
                if !has {
                    return Err(Error::usage(format!(
                        "volume {vol} of {} has no pristine snapshot: run `golden-create {}` first",
                        t.name, t.name
                    )));
                }
            }
        }
        let pool = inst.root_pool().unwrap_or("").to_string();
        let clone_pool = opts.storage.clone().unwrap_or_else(|| pool.clone());
        let p = pools
            .iter()
            .find(|p| p.name == clone_pool)
            .ok_or_else(|| Error::usage(format!("storage pool not found: {clone_pool}")))?;
        Ok(Template {
            kind: inst.kind.clone(),
            location: inst.member().map(str::to_string),
            expanded_devices: inst.expanded_devices.clone(),
            snapshot,
            created_at,
            volumes_project,
            clone_project: opts
                .target_project
                .clone()
                .unwrap_or_else(|| t.project.clone()),
            cow: clone_pool == pool && pool_shares_blocks(&p.driver, &p.config),
            clone_driver: p.driver.clone(),
            clone_pool,
            pool,
            target: t,
        })
    }

    /// Why its clones are full copies, when they are.
    pub fn why_not_cow(&self) -> Option<String> {
        if self.cow {
            None
        } else if self.clone_pool != self.pool {
            Some(format!(
                "pool {} is not the template's ({})",
                self.clone_pool, self.pool
            ))
        } else {
            Some(format!(
                "pool {} (driver {}) does not share blocks",
                self.clone_pool, self.clone_driver
            ))
        }
    }

    /// Was `name` derived from this template (so a rerun may skip it)? And is it stopped?
    pub fn made(&self, incus: &Incus, project: &str, name: &str) -> Result<Option<bool>> {
        let inst = incus.instance(project, name)?;
        let ours = Provenance::of(&inst.config)
            .is_some_and(|p| p.project == self.target.project && p.template == self.target.name);
        Ok(ours.then_some(inst.status == "Stopped"))
    }
}
