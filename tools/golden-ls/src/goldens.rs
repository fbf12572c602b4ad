//! One record per golden: when its pristine was made, where it is stored,
//! whether deriving from it shares blocks, and how many clones it has.

use std::collections::BTreeMap;

use golden::model::{pool_shares_blocks, Provenance};
use serde::Serialize;

use crate::listing::{Index, Listing};

/// One golden, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenRow {
    pub project: String,
    pub instance: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    /// The snapshot standing for pristine (`pristine`, or a leftover of an interrupted swap).
    pub snapshot: String,
    pub created_at: String,
    pub pool: String,
    pub driver: String,
    pub cow: bool,
    /// Custom volumes attached to the golden.
    pub volumes: usize,
    pub derived: usize,
    pub stale: usize,
    pub location: Option<String>,
}

/// Shared with golden-derive, which tells a golden-ls header given as its arguments.
pub const COLUMNS: &[golden::output::Column] = golden::model::GOLDEN_LS_COLUMNS;

/// The goldens among the instances, with their clone counts; sorted by project and name.
pub fn goldens(listing: &Listing) -> Vec<GoldenRow> {
    let index = Index::new(listing);
    // (template project, template) -> (derived, stale)
    let mut clones: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for i in &listing.instances {
        if let Some(p) = Provenance::of(&i.config) {
            let template = index.template_of(&p);
            let entry = clones.entry(template).or_default();
            entry.0 += 1;
            if index.is_stale(template, p.created_at) {
                entry.1 += 1;
            }
        }
    }
    let mut rows: Vec<GoldenRow> = listing
        .instances
        .iter()
        .filter_map(|i| {
            let (snap, created) = index.pristine_of(&i.project, &i.name)?;
            let pool_name = i.root_pool().unwrap_or("");
            let pool = listing.pools.iter().find(|p| p.name == pool_name);
            let driver = pool.map(|p| p.driver.clone()).unwrap_or_default();
            let volumes = i.custom_volumes();
            // A golden shares blocks with its clones only if every disk it carries does.
            let cow = pool.is_some_and(|p| pool_shares_blocks(&p.driver, &p.config))
                && volumes.iter().all(|(_, vp, _)| {
                    listing
                        .pools
                        .iter()
                        .find(|p| p.name == *vp)
                        .is_some_and(|p| pool_shares_blocks(&p.driver, &p.config))
                });
            let (derived, stale) = clones
                .get(&(i.project.as_str(), i.name.as_str()))
                .copied()
                .unwrap_or_default();
            Some(GoldenRow {
                project: i.project.clone(),
                instance: i.name.clone(),
                kind: i.kind.clone(),
                status: i.status.clone(),
                snapshot: snap.to_string(),
                created_at: created.to_string(),
                pool: pool_name.to_string(),
                driver,
                cow,
                volumes: volumes.len(),
                derived,
                stale,
                location: i.member().map(str::to_string),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.project, &a.instance).cmp(&(&b.project, &b.instance)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{instance, listing, renamed, vol};
    use serde_json::json;
    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rows = goldens(&listing());
        assert_eq!(
            golden::output::fields_of(&rows[0]),
            golden::output::names(COLUMNS)
        );
    }

    #[test]
    fn only_instances_with_pristine_are_goldens_sorted_by_project() {
        let rows = goldens(&listing());
        let names: Vec<_> = rows
            .iter()
            .map(|r| (r.project.as_str(), r.instance.as_str()))
            .collect();
        assert_eq!(names, [("lab", "lab-reference"), ("pro", "pro-dev")]);
    }

    #[test]
    fn derived_and_stale_count_clones_by_their_pristine() {
        let rows = goldens(&listing());
        let dev = rows.iter().find(|r| r.instance == "pro-dev").unwrap();
        assert_eq!((dev.derived, dev.stale), (2, 1));
        assert_eq!(dev.created_at, "T2");
        assert_eq!(dev.snapshot, "pristine");
        assert!(dev.cow);
        assert_eq!(dev.driver, "btrfs");
    }

    #[test]
    fn a_renamed_template_keeps_its_clones_by_uuid() {
        let l = renamed();
        let rows = goldens(&l);
        let base = rows.iter().find(|r| r.instance == "pro-base").unwrap();
        assert_eq!((base.derived, base.stale), (2, 1));
    }

    #[test]
    fn interrupted_swap_still_lists_the_golden_with_its_newest_snapshot() {
        let rows = goldens(&listing());
        let lab = rows.iter().find(|r| r.instance == "lab-reference").unwrap();
        assert_eq!(
            (lab.snapshot.as_str(), lab.created_at.as_str()),
            ("pristine.golden-next", "T5")
        );
        assert!(!lab.cow);
        assert_eq!(lab.location, None);
    }

    #[test]
    fn a_virtual_machine_golden_is_listed_like_a_container() {
        // VMs cannot run on the test machines: their API answers are covered here.
        let mut l = listing();
        let mut vm = instance("pro", "vm-tpl", "fast", json!({}));
        vm.kind = "virtual-machine".into();
        l.instances.push(vm);
        let mut snap = vol("pro", "vm-tpl/pristine", "T9");
        snap.kind = "virtual-machine".into();
        l.volumes.get_mut("fast").unwrap().push(snap);
        let rows = goldens(&l);
        let row = rows.iter().find(|r| r.instance == "vm-tpl").unwrap();
        assert_eq!(
            (row.kind.as_str(), row.created_at.as_str(), row.cow),
            ("virtual-machine", "T9", true)
        );
    }

    #[test]
    fn custom_volumes_are_counted_and_a_dir_volume_makes_cow_false() {
        let mut l = listing();
        let mut i = instance("pro", "with-data", "fast", json!({}));
        i.expanded_devices.insert(
            "data".into(),
            BTreeMap::from([
                ("type".to_string(), "disk".to_string()),
                ("path".to_string(), "/data".to_string()),
                ("pool".to_string(), "slow".to_string()),
                ("source".to_string(), "vol".to_string()),
            ]),
        );
        l.instances.push(i);
        l.volumes
            .get_mut("fast")
            .unwrap()
            .push(vol("pro", "with-data/pristine", "T7"));
        let rows = goldens(&l);
        let row = rows.iter().find(|r| r.instance == "with-data").unwrap();
        assert_eq!(row.volumes, 1);
        assert!(!row.cow, "root on btrfs, but its volume is on dir");
    }
}
