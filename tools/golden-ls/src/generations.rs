//! `golden-ls --generations`: one record per generation of each golden — its
//! pristine and those kept before it — with how many clones came from each
//! and whether it is revoked. Also the notice of plain golden-ls about clones
//! whose pristine is gone.

use std::collections::{BTreeMap, BTreeSet};

use golden::model::Provenance;
use serde::Serialize;

use crate::goldens::GoldenRow;
use crate::listing::{Index, Listing};

/// One generation of a golden, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationRow {
    pub project: String,
    pub instance: String,
    pub generation: u64,
    /// `pristine` for the current one, else `pristine.gN`.
    pub snapshot: String,
    pub created_at: String,
    pub current: bool,
    /// Living instances derived from it (or refreshed to it).
    pub clones: usize,
    /// Why it was revoked; empty if it was not.
    pub revoked: String,
    pub location: Option<String>,
}

pub const GENERATION_COLUMNS: &[golden::output::Column] = golden::model::GENERATION_COLUMNS;

/// The generations of `goldens` (already chosen by name and project), in
/// their order, newest first within each.
pub fn generations(listing: &Listing, goldens: &[&GoldenRow]) -> Vec<GenerationRow> {
    let index = Index::new(listing);
    let clones = clone_counts(listing, &index);
    let mut rows = Vec::new();
    for g in goldens {
        let key = (g.project.as_str(), g.instance.as_str());
        for gen in index.generations(key.0, key.1) {
            rows.push(GenerationRow {
                project: g.project.clone(),
                instance: g.instance.clone(),
                generation: gen.number,
                clones: clones
                    .get(&(key, gen.created_at.as_str()))
                    .copied()
                    .unwrap_or(0),
                current: gen.is_current(),
                revoked: index
                    .revoked(key, gen.number)
                    .unwrap_or_default()
                    .to_string(),
                snapshot: gen.snapshot,
                created_at: gen.created_at,
                location: g.location.clone(),
            });
        }
    }
    rows
}

/// ((template project, template), created_at) -> living clones.
fn clone_counts<'a>(
    listing: &'a Listing,
    index: &Index<'a>,
) -> BTreeMap<((&'a str, &'a str), &'a str), usize> {
    let mut counts = BTreeMap::new();
    for i in &listing.instances {
        if let Some(p) = Provenance::of(&i.config) {
            *counts
                .entry((index.template_of(&p), p.created_at))
                .or_insert(0) += 1;
        }
    }
    counts
}

/// For each golden listed, the clones that came from a pristine of it that
/// is gone (removed by hand, or a tool older than generations): named, as
/// golden-refresh can rebuild them from the current one.
pub fn orphans<'a>(listing: &'a Listing, goldens: &[&GoldenRow]) -> BTreeMap<String, Vec<&'a str>> {
    let index = Index::new(listing);
    let listed: BTreeSet<(&str, &str)> = goldens
        .iter()
        .map(|g| (g.project.as_str(), g.instance.as_str()))
        .collect();
    let mut out: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for i in &listing.instances {
        let Some(p) = Provenance::of(&i.config) else {
            continue;
        };
        let template = index.template_of(&p);
        if listed.contains(&template) && index.generation_of(template, p.created_at).is_none() {
            out.entry(format!("{}/{}", template.0, template.1))
                .or_default()
                .push(i.name.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{instance, listing, prov, vol};
    use crate::goldens::goldens;
    use serde_json::json;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let l = listing();
        let g = goldens(&l);
        let rows = generations(&l, &g.iter().collect::<Vec<_>>());
        assert_eq!(
            golden::output::fields_of(&rows[0]),
            golden::output::names(GENERATION_COLUMNS)
        );
    }

    /// pro-dev at generation 3, generation 2 kept and revoked, generation 1
    /// gone; a clone of each.
    fn three_generations() -> Listing {
        let mut l = listing();
        let dev = l
            .instances
            .iter_mut()
            .find(|i| i.name == "pro-dev")
            .unwrap();
        dev.config
            .insert("user.golden.generation".into(), "3".into());
        dev.config
            .insert("user.golden.revoked.2".into(), "leaked key".into());
        l.volumes
            .get_mut("fast")
            .unwrap()
            .push(vol("pro", "pro-dev/pristine.g2", "T1"));
        l.instances.push(instance(
            "pro",
            "pro-carol",
            "fast",
            prov("pro", "pro-dev", "T0"),
        ));
        l.instances
            .push(instance("lab", "lab-x", "slow", json!({})));
        l
    }

    #[test]
    fn each_generation_counts_its_clones_and_says_if_revoked() {
        let l = three_generations();
        let g = goldens(&l);
        let dev: Vec<&GoldenRow> = g.iter().filter(|r| r.instance == "pro-dev").collect();
        let rows = generations(&l, &dev);
        let seen: Vec<(u64, &str, bool, usize, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.generation,
                    r.snapshot.as_str(),
                    r.current,
                    r.clones,
                    r.revoked.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (3, "pristine", true, 1, ""),
                (2, "pristine.g2", false, 1, "leaked key")
            ]
        );
    }

    #[test]
    fn clones_whose_pristine_is_gone_are_named_by_golden() {
        let l = three_generations();
        let g = goldens(&l);
        let o = orphans(&l, &g.iter().collect::<Vec<_>>());
        assert_eq!(
            o,
            BTreeMap::from([("pro/pro-dev".to_string(), vec!["pro-carol"])])
        );
    }
}
