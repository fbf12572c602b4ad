//! `golden-ls --kept`: what the tools keep beside goldens and clones, so that
//! nothing they leave is out of sight: each clone's pre-refresh copy (its
//! state before the last refresh, with the snapshots it had) and the images
//! golden-refresh made to rebuild from that are still there (left by a run
//! that failed, or kept for clones still stale).
//!
//! `golden-refresh --discard CLONE` removes a clone's copy and the refresh
//! images of its template that no clone needs any more.

use std::collections::BTreeSet;

use golden::model::{
    Provenance, IMAGE_CREATED_AT, IMAGE_FOR_PROJECT, IMAGE_TEMPLATE, IMAGE_TEMPLATE_UUID,
    KEY_PRE_REFRESH_OF,
};
use serde::Serialize;

use crate::listing::{Index, Listing};

/// One thing kept, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptRow {
    /// Its project; for an image, that of the clones it was made for.
    pub project: String,
    /// The copy's instance name, or the image's fingerprint.
    pub instance: String,
    /// `pre-refresh` (a stopped copy of a clone) or `refresh-image`.
    pub kind: &'static str,
    /// The clone a copy was kept for, or the template (`project/name`) whose
    /// pristine an image holds.
    pub of: String,
    pub created_at: String,
    /// The copy's snapshots: the clone's own, moved there by the refresh.
    pub snapshots: usize,
    /// Bytes, as the daemon reports them (an image's size; a copy's disk is
    /// not reported by the daemon on every driver: `-`).
    pub size: Option<u64>,
    pub location: Option<String>,
}

pub const KEPT_COLUMNS: &[golden::output::Column] = golden::model::KEPT_COLUMNS;

/// The kept things of the listing, sorted by project, kind and name: in
/// `project` (None: every project), and of the goldens in `templates` (empty:
/// of any).
pub fn kept(
    listing: &Listing,
    templates: &BTreeSet<String>,
    project: Option<&str>,
) -> Vec<KeptRow> {
    let index = Index::new(listing);
    let named = |template: Option<(&str, &str)>| {
        templates.is_empty() || template.is_some_and(|t| templates.contains(t.1))
    };
    let copies = listing.instances.iter().filter_map(|i| {
        let clone = i.config.get(KEY_PRE_REFRESH_OF).filter(|c| !c.is_empty())?;
        // Its template is its clone's (a copy is no clone of its own).
        let template = listing
            .instances
            .iter()
            .find(|c| c.project == i.project && &c.name == clone)
            .and_then(|c| Provenance::of(&c.config))
            .map(|p| index.template_of(&p));
        named(template).then(|| KeptRow {
            project: i.project.clone(),
            instance: i.name.clone(),
            kind: "pre-refresh",
            of: clone.clone(),
            created_at: i.created_at.clone(),
            snapshots: index.snapshot_count(&i.project, &i.name),
            size: None,
            location: i.member().map(str::to_string),
        })
    });
    let images = listing.images.iter().filter_map(|img| {
        let uuid = img.properties.get(IMAGE_TEMPLATE_UUID)?;
        let template = index.by_uuid(uuid).map(|(p, n)| format!("{p}/{n}"));
        let template = template
            .or_else(|| img.properties.get(IMAGE_TEMPLATE).cloned())
            .unwrap_or_default();
        let name = template.rsplit_once('/');
        named(name).then(|| KeptRow {
            // The clones' project it was made for: where `incus image delete`
            // finds it (in `default` when that project has no images of its own).
            project: img
                .properties
                .get(IMAGE_FOR_PROJECT)
                .cloned()
                .unwrap_or_else(|| img.project.clone()),
            instance: img.fingerprint.clone(),
            kind: "refresh-image",
            of: template.clone(),
            // When the pristine was made (the image's own time is when the
            // refresh made it).
            created_at: img
                .properties
                .get(IMAGE_CREATED_AT)
                .cloned()
                .unwrap_or_else(|| img.created_at.clone()),
            snapshots: 0,
            size: Some(img.size),
            location: None,
        })
    });
    let mut rows: Vec<KeptRow> = copies
        .chain(images)
        .filter(|r| project.is_none_or(|p| r.project == p))
        .collect();
    rows.sort_by(|a, b| (&a.project, a.kind, &a.instance).cmp(&(&b.project, b.kind, &b.instance)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use golden::incus::{Image, Instance};
    use std::collections::BTreeMap;

    fn instance(project: &str, name: &str, config: &[(&str, &str)]) -> Instance {
        Instance {
            project: project.into(),
            name: name.into(),
            created_at: "2026-12-01T10:00:00Z".into(),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn listing() -> Listing {
        let tpl = instance("p", "tpl", &[("volatile.uuid", "u-tpl")]);
        let clone = instance(
            "p",
            "c1",
            &[
                ("user.golden.project", "p"),
                ("user.golden.template", "tpl"),
                ("user.golden.created_at", "2026-12-01T09:00:00Z"),
                ("user.golden.template_uuid", "u-tpl"),
            ],
        );
        let copy = instance("p", "c1-pre-refresh", &[(KEY_PRE_REFRESH_OF, "c1")]);
        let image = Image {
            fingerprint: "ab".repeat(32),
            project: "p".into(),
            size: 200 << 20,
            created_at: "2026-12-01T11:00:00Z".into(),
            properties: BTreeMap::from([
                (IMAGE_TEMPLATE_UUID.to_string(), "u-tpl".to_string()),
                (IMAGE_TEMPLATE.to_string(), "p/old-name".to_string()),
                (
                    IMAGE_CREATED_AT.to_string(),
                    "2026-12-01T10:30:00Z".to_string(),
                ),
            ]),
            ..Default::default()
        };
        Listing {
            instances: vec![tpl, clone, copy],
            images: vec![image],
            ..Default::default()
        }
    }

    #[test]
    fn copies_and_refresh_images_are_listed_with_whose_they_are() {
        let rows = kept(&listing(), &BTreeSet::new(), None);
        let what: Vec<(&str, &str, &str, Option<u64>)> = rows
            .iter()
            .map(|r| (r.instance.as_str(), r.kind, r.of.as_str(), r.size))
            .collect();
        let fp = "ab".repeat(32);
        assert_eq!(
            what,
            [
                ("c1-pre-refresh", "pre-refresh", "c1", None),
                (fp.as_str(), "refresh-image", "p/tpl", Some(200 << 20)),
            ]
        );
        assert_eq!(rows[1].created_at, "2026-12-01T10:30:00Z");
        assert_eq!(
            golden::output::fields_of(&rows[0]),
            golden::output::names(KEPT_COLUMNS),
            "columns are the record's fields"
        );
    }

    #[test]
    fn named_goldens_and_a_project_narrow_the_list() {
        let l = listing();
        let tpl = BTreeSet::from(["tpl".to_string()]);
        assert_eq!(kept(&l, &tpl, None).len(), 2);
        let other = BTreeSet::from(["other".to_string()]);
        assert!(kept(&l, &other, None).is_empty());
        assert!(kept(&l, &BTreeSet::new(), Some("q")).is_empty());
    }
}
