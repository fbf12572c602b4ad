//! Which snapshots a clone is copied from: the template's current pristine and,
//! for `--volumes copy`, each volume's — read while the readers' lock is held
//! (see `golden::readers`), so that the snapshot named is the one copied.

use std::collections::BTreeMap;
use std::sync::Mutex;

use golden::incus::{InstanceSnapshot, SnapshotsOf};
use golden::model::generation_of_snapshot;
use golden::readers::Shared;
use golden::swap::pristine_of;
use golden::target::Target;
use golden::{Error, Result};

use crate::devices::Devices;

/// The snapshots standing for pristine, as of one generation of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pristine {
    pub generation: u64,
    pub snapshot: String,
    pub created_at: String,
    /// The snapshot's own devices and profiles: what the guards judged.
    pub devices: Devices,
    pub profiles: Vec<String>,
    /// Its own config and architecture: what a copy to another cluster member
    /// must be sent in full (`incus copy` does the same).
    pub config: BTreeMap<String, String>,
    pub architecture: String,
    /// (pool, volume) -> its snapshot standing for pristine (`--volumes copy` only).
    pub volumes: BTreeMap<(String, String), String>,
}

/// The template's pristine snapshot in full (or that of its generation
/// `generation`, `--generation`), while `held` is held.
pub fn read_instance(
    t: &Target,
    held: Option<&Shared>,
    generation: Option<u64>,
) -> Result<(Pristine, InstanceSnapshot)> {
    let (snapshot, created_at) = t.source(generation)?;
    let full = t
        .incus()
        .instance_snapshot(&t.project, &t.name, &snapshot)?;
    let p = Pristine {
        generation: held.map_or(0, Shared::generation),
        snapshot,
        created_at,
        devices: full.devices.clone(),
        profiles: full.profiles.clone(),
        config: full.config.clone(),
        architecture: full.architecture.clone(),
        volumes: BTreeMap::new(),
    };
    Ok((p, full))
}

/// The volumes to copy, in `volumes_project`'s store.
pub struct VolumesToCopy {
    pub project: String,
    pub list: Vec<(String, String)>,
}

impl VolumesToCopy {
    /// Each volume's snapshot standing for pristine (the same rule as the
    /// instance's: an interrupted swap leaves a usable one), or, when the
    /// root's is a kept generation (`root`: `pristine.gN`), the volume's of
    /// the same name.
    pub fn read(&self, t: &Target, root: &str) -> Result<BTreeMap<(String, String), String>> {
        let incus = t.incus();
        let mut out = BTreeMap::new();
        for (pool, vol) in &self.list {
            let snaps = SnapshotsOf::volume(&incus, &self.project, pool, vol).list()?;
            if generation_of_snapshot(root).is_some() {
                if !snaps.iter().any(|s| s.name == root) {
                    return Err(Error::failed(format!(
                        "volume {vol} of {} has no snapshot {root} (attached since that \
                         generation?): derive it with --volumes drop or share",
                        t.name
                    )));
                }
                out.insert((pool.clone(), vol.clone()), root.to_string());
                continue;
            }
            let Some((snap, _)) = pristine_of(&snaps) else {
                return Err(Error::usage(format!(
                    "volume {vol} of {} has no pristine snapshot: run `golden-create {}` first",
                    t.name, t.name
                )));
            };
            out.insert((pool.clone(), vol.clone()), snap.to_string());
        }
        Ok(out)
    }
}

/// The last pristine read, shared by the copies of one template.
pub struct Current {
    volumes: VolumesToCopy,
    /// `--generation`: the one copied, if not the current pristine.
    generation: Option<u64>,
    last: Mutex<Pristine>,
}

impl Current {
    pub fn new(volumes: VolumesToCopy, generation: Option<u64>, first: Pristine) -> Self {
        Current {
            volumes,
            generation,
            last: Mutex::new(first),
        }
    }

    /// As last read; what a dry run reports.
    pub fn last(&self) -> Pristine {
        self.last.lock().expect("pristine cache").clone()
    }

    /// The pristine while `held` is held (None: read again, the lock having no
    /// say — a copy failed, a swap elsewhere may have renamed it): the one read
    /// last if no swap took place since (same generation), else read again.
    pub fn under(&self, t: &Target, held: Option<&Shared>) -> Result<Pristine> {
        let mut last = self.last.lock().expect("pristine cache");
        if held.is_some_and(|h| h.generation() == last.generation) {
            return Ok(last.clone());
        }
        let (mut now, _) = read_instance(t, held, self.generation)?;
        if (&now.devices, &now.profiles) != (&last.devices, &last.profiles) {
            return Err(Error::failed(format!(
                "{}'s pristine was replaced during this run by one with other devices or \
                 profiles: run golden-derive again, to judge them",
                t.name
            )));
        }
        now.volumes = self.volumes.read(t, &now.snapshot)?;
        if held.is_none() {
            // The local lock has not moved: keep its generation.
            now.generation = last.generation;
        }
        *last = now;
        Ok(last.clone())
    }
}
