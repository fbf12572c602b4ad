//! A golden that gets clones is protected from deletion by Incus itself
//! (`security.protection.delete`): `incus delete` of it is refused while the
//! key is set, and a user who means to retire it lifts it first. Its clones
//! are not protected (the key is a template-only setting, see
//! `golden::model::TEMPLATE_ONLY`).
//!
//! Set before the first copy: a run killed after it leaves a protected golden
//! (the user lifts it), never clones of an unprotected one.

use std::collections::BTreeSet;

use golden::cli::notice;
use golden::model::KEY_PROTECT_DELETE;
use serde_json::json;

use crate::plan::Job;
use crate::template::Template;

/// Protects every template some job copies, unless it is already. A
/// template that cannot be protected now (busy with another tool's stop, a
/// client that may not change it) gets its clones all the same, and a
/// notice: the next derive protects it.
pub fn protect(templates: &[Template], jobs: &[Job]) {
    let used: BTreeSet<usize> = jobs.iter().map(|j| j.template).collect();
    for t in used.into_iter().map(|i| &templates[i]) {
        if t.protected {
            continue;
        }
        let target = &t.target;
        let set = json!({ "config": { KEY_PROTECT_DELETE: "true" } });
        if let Err(e) = target
            .incus()
            .update_instance(&target.project, &target.name, &set)
        {
            notice(format!(
                "{} could not be protected from deletion ({e}); its clones are made all \
                 the same",
                target.name
            ));
            continue;
        }
        notice(format!(
            "{} is protected from deletion now that it has clones ({KEY_PROTECT_DELETE})",
            target.name
        ));
    }
}
