//! Phase 2: each template, read once, checked against the options, with
//! where its clones go and whether they can share its blocks.
//!
//! Everything is judged on what a clone will really get (see [`crate::expand`]):
//! the pristine snapshot's devices with the clone's profiles, never the
//! template's devices of now.

use std::collections::BTreeMap;

use golden::incus::{PoolBook, StoragePool};
use golden::model::{
    pool_shares_blocks, Provenance, IDENTITY_PENDING, KEY_IDENTITY, KEY_PROTECT_DELETE, KEY_RENEWS,
};
use golden::readers::Shared;
use golden::target::Target;
use golden::{Error, Result};

use crate::args::Volumes;
use crate::devices::{static_nics, Devices};
use crate::expand::{clone_devices, custom_volumes, require_root};
use crate::options::Options;
use crate::pristine::{read_instance, Current, Pristine, VolumesToCopy};

/// A template, read once, with what every clone of it needs.
pub struct Template {
    pub target: Target,
    pub kind: String,
    /// Its `volatile.uuid`: provenance that survives a rename.
    pub uuid: String,
    pub location: Option<String>,
    /// The devices a clone gets before our overrides (addresses, pool, volumes).
    pub clone_devices: Devices,
    /// The projects whose stores hold its custom volumes, and will hold the clones'.
    pub volumes_project: String,
    pub clone_volumes_project: String,
    /// Where its clones go (the same for all of them: kept here, not per clone).
    pub clone_project: String,
    pub clone_pool: String,
    /// The clones' pool as the daemon describes it (members that have it, shared or not).
    pub pool: StoragePool,
    pub clone_driver: String,
    pub cow: bool,
    /// Why the copies are full ones, when they are.
    pub full_copies: Option<String>,
    /// The snapshots copied, as of the last look.
    pub pristine: Current,
    /// Protected from deletion already (`security.protection.delete`).
    pub protected: bool,
    /// What its pristine's identity templates renew in every copy at its
    /// first start (`golden::model::KEY_RENEWS`), empty if it has none.
    pub renews: String,
}

impl Template {
    /// Reads a template and checks it can be derived from with these options.
    pub fn read(t: Target, opts: &Options, pools: &PoolBook) -> Result<Template> {
        let incus = t.incus();
        let inst = incus.instance(&t.project, &t.name)?;
        let clone_project = opts
            .target_project
            .clone()
            .unwrap_or_else(|| t.project.clone());
        // Held while the names are read, so that they are one swap's.
        let held = if opts.run.dry_run {
            None
        } else {
            Some(Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?)
        };
        let (first, snap) = read_instance(&t, held.as_ref(), opts.generation)?;
        golden::generations::judge_revoked(
            &t.name,
            &inst.config,
            &snap.config,
            opts.allow_revoked,
        )?;
        let devices = clone_devices(
            &incus,
            &snap,
            (&t.project, &clone_project),
            opts.profiles.as_deref(),
        )?;
        let root_pool = require_root(&devices, &t.name, &clone_project)?;
        refuse_statics(&t.name, &devices, opts)?;
        let volumes = custom_volumes(&devices);
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
        let (volumes_project, clone_volumes_project) = if volumes.is_empty() {
            (String::new(), String::new())
        } else {
            let store = |p: &str| Ok::<_, Error>(incus.project(p)?.volumes_project().to_string());
            (store(&t.project)?, store(&clone_project)?)
        };
        if opts.volumes == Some(Volumes::Share) && volumes_project != clone_volumes_project {
            return Err(Error::usage(format!(
                "--volumes share: the clones' project {clone_project} keeps custom volumes in \
                 project {clone_volumes_project}'s store, and {}'s volumes are in project \
                 {volumes_project}'s: a clone could not attach them; use --volumes copy or drop",
                t.name
            )));
        }
        let to_copy = VolumesToCopy {
            project: volumes_project.clone(),
            list: match opts.volumes {
                Some(Volumes::Copy) => volumes
                    .iter()
                    .map(|(_, p, v)| (p.clone(), v.clone()))
                    .collect(),
                _ => Vec::new(),
            },
        };
        let first = Pristine {
            volumes: to_copy.read(&t, &first.snapshot)?,
            ..first
        };
        let renews = first
            .config
            .get(KEY_RENEWS)
            .filter(|r| !r.is_empty())
            .cloned()
            .unwrap_or_default();
        drop(held);

        let pool = inst.root_pool().unwrap_or("").to_string();
        let clone_pool = opts.storage.clone().unwrap_or(root_pool);
        let p = pools.get(&clone_pool)?;
        let mut full_copies = None;
        if clone_pool != pool {
            full_copies = Some(format!("pool {clone_pool} is not the template's ({pool})"));
        } else if !pool_shares_blocks(&p.driver, &p.config) {
            full_copies = Some(format!(
                "pool {clone_pool} (driver {}) does not share blocks",
                p.driver
            ));
        }
        // Volumes are copied on their own pool: full copies say so too.
        for (pool, vol) in &to_copy.list {
            let vp = pools.get(pool)?;
            if full_copies.is_none() && !pool_shares_blocks(&vp.driver, &vp.config) {
                full_copies = Some(format!(
                    "volume {vol} is on pool {pool} (driver {}), which does not share blocks",
                    vp.driver
                ));
            }
        }
        Ok(Template {
            protected: inst.config.get(KEY_PROTECT_DELETE).map(String::as_str) == Some("true"),
            kind: inst.kind.clone(),
            uuid: inst
                .config
                .get("volatile.uuid")
                .cloned()
                .unwrap_or_default(),
            location: inst.member().map(str::to_string),
            clone_devices: devices,
            volumes_project,
            clone_volumes_project,
            clone_project,
            cow: full_copies.is_none(),
            full_copies,
            clone_driver: p.driver.clone(),
            pool: p.clone(),
            clone_pool,
            pristine: Current::new(to_copy, opts.generation, first),
            renews,
            target: t,
        })
    }

    /// In a cluster, the member whose own storage holds its custom volumes
    /// (an attached volume on a pool of each member's own is on its member).
    pub fn volumes_member(&self) -> Option<&str> {
        self.location.as_deref().filter(|_| !self.pool.is_shared())
    }

    /// Was `name` derived from this template (so a rerun may skip it)? And is
    /// it stopped, on which cluster member, and whole?
    pub fn made(&self, project: &str, name: &str) -> Result<Option<Made>> {
        let inst = self.target.incus().instance(project, name)?;
        let ours = Provenance::of(&inst.config).is_some_and(|p| {
            match p
                .template_uuid
                .filter(|u| !u.is_empty() && !self.uuid.is_empty())
            {
                Some(u) => u == self.uuid,
                None => p.project == self.target.project && p.template == self.target.name,
            }
        });
        if !ours {
            return Ok(None);
        }
        let pending = inst.config.get(KEY_IDENTITY).map(String::as_str) == Some(IDENTITY_PENDING);
        // A copy cut short by the daemon's death: by its config (see
        // [`half_made`]), or ours, never reset (so never started by us) and
        // without a storage volume. Nothing of anyone's can be in it.
        let half_made = half_made(&inst.config)
            || (pending
                && match inst.root_pool() {
                    Some(pool) => !self
                        .target
                        .incus()
                        .has_instance_volume(pool, project, &inst)?,
                    None => false,
                });
        Ok(Some(Made {
            stopped: inst.status == "Stopped",
            pending,
            member: inst.member().map(str::to_string),
            half_made,
        }))
    }
}

/// Is this a copy the daemon died under? Incus writes a copy's record, then
/// its volume's, then copies the data, and only then sets
/// `volatile.apply_template` (`copy`: the templates to apply at its first
/// start, which clears it and sets `volatile.last_state.power`; a copy takes
/// neither key from its source). A daemon killed in between leaves a record
/// with neither key, without a root volume or with an empty or partial one:
/// every request about it but its deletion then fails ("Failed getting
/// instance pool: Instance storage pool not found", or "open
/// …/rootfs: no such file or directory").
fn half_made(config: &BTreeMap<String, String>) -> bool {
    !config.contains_key("volatile.apply_template")
        && !config.contains_key("volatile.last_state.power")
}

/// A clone that exists and came from its template (--skip-existing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub stopped: bool,
    /// Copied by a run killed before its identity reset.
    pub pending: bool,
    pub member: Option<String>,
    /// A copy cut short by the daemon's death (see [`half_made`]), or a
    /// pending one left without a storage volume: removed and made again.
    pub half_made: bool,
}

/// A static address every clone would copy: refused unless told what to do.
fn refuse_statics(name: &str, devices: &Devices, opts: &Options) -> Result<()> {
    let statics = static_nics(devices);
    if statics.is_empty() || opts.ipv4.is_some() || opts.dhcp {
        return Ok(());
    }
    Err(Error::usage(format!(
        "clones of {name} would get static addresses ({}) that every clone would copy, and \
         a clone would then keep the template (or another instance using them) from \
         starting: give --ipv4 ADDR (one clone), --ipv4 auto (next free address of the \
         network) or --dhcp (drop the static address)",
        statics.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_half_made_until_the_daemon_marks_its_templates_or_it_ran() {
        let config = |keys: &[(&str, &str)]| {
            keys.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let copied = [("user.golden.identity", "pending")];
        assert!(half_made(&config(&copied)), "the record alone");
        assert!(!half_made(&config(&[
            copied[0],
            ("volatile.apply_template", "copy")
        ])));
        assert!(
            !half_made(&config(&[
                copied[0],
                ("volatile.last_state.power", "STOPPED")
            ])),
            "started once (the templates applied)"
        );
    }
}
