//! What a create does with generations (see `golden::generations`): it tells
//! the golden the new pristine's number before the snapshot that carries it,
//! sets the old pristine aside under its own number, and then removes the
//! kept generations beyond `--keep` that no clone came from.

use std::cell::Cell;
use std::collections::BTreeMap;

use golden::cli::notice;
use golden::generations::{
    clones_among, keep_of, list, next_number, number_in, set_aside_name, to_prune,
};
use golden::incus::{Incus, Instance, Kind, SnapshotsOf};
use golden::model::{KEY_GENERATION, KEY_KEEP, PRISTINE};
use golden::target::Target;
use golden::{Error, Result};
use serde_json::json;

pub struct Numbering<'a> {
    incus: &'a Incus,
    target: &'a Target,
    golden: &'a Instance,
    keep: Option<u32>,
    number: Cell<Option<u64>>,
}

impl<'a> Numbering<'a> {
    pub fn new(
        incus: &'a Incus,
        target: &'a Target,
        golden: &'a Instance,
        keep: Option<u32>,
    ) -> Self {
        Numbering {
            incus,
            target,
            golden,
            keep,
            number: Cell::new(None),
        }
    }

    /// Once an interrupted swap is finished (`has_pristine`: the golden has
    /// one to replace): writes the next number (and `--keep`) on the golden,
    /// and returns the name the current pristine is set aside as.
    pub fn announce(&self, has_pristine: bool) -> Result<Option<String>> {
        let (project, name) = (&self.target.project, &self.target.name);
        let snaps = self.incus.snapshots(project, name)?;
        let current = if has_pristine {
            let pristine = self.incus.instance_snapshot(project, name, PRISTINE)?;
            Some(number_in(&pristine.config))
        } else {
            None
        };
        let gens = list(
            snaps
                .iter()
                .map(|s| (s.name.as_str(), s.created_at.as_str())),
            current.unwrap_or(0),
        );
        let next = next_number(&gens, &self.golden.config);
        let mut config = BTreeMap::from([(KEY_GENERATION.to_string(), next.to_string())]);
        if let Some(keep) = self.keep {
            config.insert(KEY_KEEP.to_string(), keep.to_string());
        }
        self.incus
            .update_instance(project, name, &json!({ "config": config }))?;
        self.number.set(Some(next));
        Ok(current.map(set_aside_name))
    }

    /// The new pristine's number.
    pub fn number(&self) -> Result<u64> {
        self.number
            .get()
            .ok_or_else(|| Error::failed("the new pristine got no generation number"))
    }

    /// Removes the kept generations beyond `--keep` (the golden's) that no
    /// clone came from, on the root and every volume; names those kept
    /// beyond it for their clones.
    pub fn prune(&self, all: &[SnapshotsOf]) -> Result<()> {
        let (project, name) = (&self.target.project, &self.target.name);
        let snaps = self.incus.snapshots(project, name)?;
        let gens = list(
            snaps
                .iter()
                .map(|s| (s.name.as_str(), s.created_at.as_str())),
            self.number()?,
        );
        let keep = self.keep.unwrap_or_else(|| keep_of(&self.golden.config));
        if gens.len() <= keep as usize {
            return Ok(());
        }
        let clones = self.clone_counts()?;
        let (prune, held) = to_prune(&gens, keep, |c| clones.get(c).copied().unwrap_or(0));
        for g in &prune {
            for s in all {
                match s.delete(&g.snapshot) {
                    // A volume attached since that generation has none.
                    Err(e) if Kind::of(&e) == Kind::NotFound => {}
                    other => other?,
                }
            }
        }
        for (g, n) in held {
            notice(format!(
                "{name}: generation {} ({}) is kept beyond --keep {keep}: {n} clone(s) came \
                 from it; golden-refresh them, and the next golden-create lets it go",
                g.number, g.snapshot
            ));
        }
        Ok(())
    }

    /// The golden's living clones, by the created_at of the pristine each
    /// came from: in every project, or in its own if this client may not
    /// list them all.
    fn clone_counts(&self) -> Result<BTreeMap<String, usize>> {
        let (project, name) = (&self.target.project, &self.target.name);
        let all = self.incus.instances_everywhere_or_in(project)?;
        let mut counts = BTreeMap::new();
        for (_, p) in clones_among(&all, project, name, &self.golden.config) {
            *counts.entry(p.created_at.to_string()).or_insert(0) += 1;
        }
        Ok(counts)
    }
}
