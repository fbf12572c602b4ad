//! `golden-ls --clones`: one record per derived instance, saying which golden it
//! came from, from which pristine, and whether that pristine has been replaced
//! since (stale) — the records a refresh of stale clones starts from.
//!
//! A derived instance is one carrying the `user.golden.*` provenance keys
//! (golden-derive sets them); its template is found as the goldens' counts
//! find it (`listing::Index`), so `derived`/`stale` of a golden and its clones'
//! records always agree.

use std::collections::BTreeSet;

use golden::model::Provenance;
use serde::Serialize;

use crate::listing::{Index, Listing};

/// One derived instance, as printed. `project` and `instance` name the clone
/// itself: the other tools read records by those two fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloneRow {
    pub project: String,
    pub instance: String,
    /// `project/name` of its template, under the template's current name.
    pub template: String,
    /// When the pristine it was copied from was made.
    pub created_at: String,
    /// Its template has a newer pristine than the one it came from.
    pub stale: bool,
    /// The number of the template's generation it came from; `gone` when
    /// that pristine is no longer kept (or the template is gone).
    pub generation: String,
    /// Why that generation was revoked; empty if it was not.
    pub revoked: String,
    pub status: String,
    pub location: Option<String>,
    /// Custom volumes attached to the clone.
    pub volumes: usize,
}

pub const CLONE_COLUMNS: &[golden::output::Column] = golden::model::CLONE_COLUMNS;

/// The `generation` of a clone whose pristine is no longer kept.
pub const GONE: &str = "gone";

/// The derived instances of the listing, sorted by project and name: those in
/// `project` (None: every project), and of the goldens named in `templates`
/// (empty: of any template, even one gone — its clones are still there).
///
/// A name matches a golden in any project, as plain golden-ls matches names;
/// `project` is the clones' own, which may differ from their template's
/// (golden-derive `--target-project`).
pub fn clones(
    listing: &Listing,
    templates: &BTreeSet<String>,
    project: Option<&str>,
) -> Vec<CloneRow> {
    let index = Index::new(listing);
    let mut rows: Vec<CloneRow> = listing
        .instances
        .iter()
        .filter(|i| project.is_none_or(|p| i.project == p))
        .filter_map(|i| {
            let p = Provenance::of(&i.config)?;
            let template = index.template_of(&p);
            // Named templates must be goldens: golden-ls reports a name that is
            // not one, and lists nothing for it.
            let named = templates.contains(template.1)
                && index.pristine_of(template.0, template.1).is_some();
            if !templates.is_empty() && !named {
                return None;
            }
            let generation = index.generation_of(template, p.created_at);
            Some(CloneRow {
                project: i.project.clone(),
                instance: i.name.clone(),
                template: format!("{}/{}", template.0, template.1),
                created_at: p.created_at.to_string(),
                stale: index.is_stale(template, p.created_at),
                generation: generation.map_or_else(|| GONE.to_string(), |n| n.to_string()),
                revoked: generation
                    .and_then(|n| index.revoked(template, n))
                    .unwrap_or_default()
                    .to_string(),
                status: i.status.clone(),
                location: i.member().map(str::to_string),
                volumes: i.custom_volumes().len(),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.project, &a.instance).cmp(&(&b.project, &b.instance)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{instance, listing, prov, renamed};
    use std::collections::BTreeMap;

    fn all(l: &Listing) -> Vec<CloneRow> {
        clones(l, &BTreeSet::new(), None)
    }

    fn names(rows: &[CloneRow]) -> Vec<(&str, &str)> {
        rows.iter()
            .map(|r| (r.project.as_str(), r.instance.as_str()))
            .collect()
    }

    fn wanted(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rows = all(&listing());
        assert_eq!(
            golden::output::fields_of(&rows[0]),
            golden::output::names(CLONE_COLUMNS)
        );
    }

    #[test]
    fn only_derived_instances_are_listed_sorted_by_project_and_name() {
        let mut l = listing();
        l.instances.push(instance(
            "lab",
            "lab-1",
            "slow",
            prov("pro", "pro-dev", "T2"),
        ));
        let rows = all(&l);
        assert_eq!(
            names(&rows),
            [("lab", "lab-1"), ("pro", "pro-alice"), ("pro", "pro-bob")]
        );
    }

    #[test]
    fn a_clone_of_an_older_pristine_is_stale_one_of_the_current_is_not() {
        let rows = all(&listing());
        let alice = rows.iter().find(|r| r.instance == "pro-alice").unwrap();
        let bob = rows.iter().find(|r| r.instance == "pro-bob").unwrap();
        assert_eq!(
            (
                alice.template.as_str(),
                alice.created_at.as_str(),
                alice.stale
            ),
            ("pro/pro-dev", "T1", true)
        );
        assert_eq!(
            (bob.template.as_str(), bob.created_at.as_str(), bob.stale),
            ("pro/pro-dev", "T2", false)
        );
        assert_eq!(
            (bob.status.as_str(), bob.location.as_deref(), bob.volumes),
            ("Stopped", None, 0)
        );
    }

    #[test]
    fn a_renamed_template_is_found_by_uuid_under_its_new_name() {
        let l = renamed();
        let rows = all(&l);
        let stale: Vec<_> = rows
            .iter()
            .map(|r| (r.template.as_str(), r.stale))
            .collect();
        assert_eq!(stale, [("pro/pro-base", true), ("pro/pro-base", false)]);
        // Named by its new name, its clones are found; by the old one, not.
        assert_eq!(clones(&l, &wanted(&["pro-base"]), None).len(), 2);
        assert!(clones(&l, &wanted(&["pro-dev"]), None).is_empty());
    }

    #[test]
    fn a_template_gone_or_without_pristine_leaves_its_clones_not_stale() {
        let mut l = listing();
        l.instances
            .push(instance("pro", "orphan", "fast", prov("pro", "gone", "T1")));
        // `plain` exists but has no pristine: nothing to refresh from either.
        l.instances.push(instance(
            "lab",
            "of-plain",
            "slow",
            prov("lab", "plain", "T0"),
        ));
        let rows = all(&l);
        let of = |n: &str| rows.iter().find(|r| r.instance == n).unwrap();
        assert_eq!(
            (of("orphan").template.as_str(), of("orphan").stale),
            ("pro/gone", false)
        );
        assert_eq!(
            (of("of-plain").template.as_str(), of("of-plain").stale),
            ("lab/plain", false)
        );
    }

    #[test]
    fn names_keep_the_clones_of_those_goldens_only() {
        let mut l = listing();
        l.instances.push(instance(
            "lab",
            "student-1",
            "slow",
            prov("lab", "lab-reference", "T5"),
        ));
        l.instances.push(instance(
            "lab",
            "of-plain",
            "slow",
            prov("lab", "plain", "T0"),
        ));
        let rows = clones(&l, &wanted(&["pro-dev"]), None);
        assert_eq!(names(&rows), [("pro", "pro-alice"), ("pro", "pro-bob")]);
        let rows = clones(&l, &wanted(&["lab-reference", "pro-dev"]), None);
        assert_eq!(rows.len(), 3);
        // Not a golden: its clones are not listed (golden-ls reports the name).
        assert!(clones(&l, &wanted(&["plain"]), None).is_empty());
    }

    #[test]
    fn the_project_filter_is_the_clones_own_project() {
        let mut l = listing();
        // Derived into another project (golden-derive --target-project).
        let mut c = instance("lab", "lab-dev", "slow", prov("pro", "pro-dev", "T2"));
        c.expanded_devices.insert(
            "data".into(),
            BTreeMap::from([
                ("type".to_string(), "disk".to_string()),
                ("path".to_string(), "/data".to_string()),
                ("pool".to_string(), "slow".to_string()),
                ("source".to_string(), "vol".to_string()),
            ]),
        );
        c.location = "m2".into();
        l.instances.push(c);
        let rows = clones(&l, &BTreeSet::new(), Some("lab"));
        assert_eq!(names(&rows), [("lab", "lab-dev")]);
        let r = &rows[0];
        assert_eq!(
            (
                r.template.as_str(),
                r.stale,
                r.volumes,
                r.location.as_deref()
            ),
            ("pro/pro-dev", false, 1, Some("m2"))
        );
        assert_eq!(clones(&l, &wanted(&["pro-dev"]), Some("pro")).len(), 2);
        assert!(clones(&l, &BTreeSet::new(), Some("nowhere")).is_empty());
    }
}
