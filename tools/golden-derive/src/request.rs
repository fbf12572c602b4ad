//! The request a clone is made with: the copy of a pristine, its provenance,
//! the user's config and profiles, and the devices the plan overrides; and
//! the daemon's judgement of `-c` and `--profile` on such a request, before any copy.

use std::collections::{BTreeMap, BTreeSet};

use golden::incus::CopyRequest;
use golden::model::{KEY_CREATED_AT, KEY_IDENTITY, KEY_PROJECT, KEY_TEMPLATE, KEY_TEMPLATE_UUID};
use golden::{Error, Result};
use serde_json::Value;

use crate::options::Options;
use crate::pristine::Pristine;
use crate::template::Template;

/// The copy of `source` as clone `name`, with its provenance. `in_full`: to
/// another cluster member, which the daemon makes as a migration that reads
/// nothing of the source's settings: the snapshot's architecture, config (less
/// its volatile keys), devices and profiles are sent, as `incus copy` does.
pub fn copy_request(
    name: &str,
    tpl: &Template,
    source: &Pristine,
    opts: &Options,
    devices: &BTreeMap<String, Value>,
    in_full: bool,
) -> CopyRequest {
    let mut req = CopyRequest::from_snapshot(
        name,
        &tpl.kind,
        &tpl.target.project,
        &tpl.target.name,
        &source.snapshot,
    );
    if in_full {
        crate::seeds::in_full(&mut req, source);
    }
    req.config.extend(opts.config.clone());
    req.config
        .insert(KEY_PROJECT.into(), tpl.target.project.clone());
    req.config
        .insert(KEY_TEMPLATE.into(), tpl.target.name.clone());
    req.config
        .insert(KEY_CREATED_AT.into(), source.created_at.clone());
    if !tpl.uuid.is_empty() {
        req.config
            .insert(KEY_TEMPLATE_UUID.into(), tpl.uuid.clone());
    }
    req.config
        .insert(KEY_IDENTITY.into(), crate::renew::initial(tpl, opts).into());
    req.devices.extend(devices.clone());
    if opts.profiles.is_some() {
        req.profiles = opts.profiles.clone();
    }
    req
}

/// `-c` and `--profile` judged by the daemon itself, once per template and
/// before any copy (see `Incus::judge_copy`): the copy is asked under a name
/// that exists in the clones' project — the template's, or another instance's;
/// a project with none is judged in the template's (config is checked the same
/// everywhere).
pub fn judge(tpl: &Template, opts: &Options, existing: &BTreeSet<String>) -> Result<()> {
    let (project, name) = if tpl.clone_project == tpl.target.project {
        (&tpl.clone_project, &tpl.target.name)
    } else if let Some(other) = existing.iter().next() {
        (&tpl.clone_project, other)
    } else {
        (&tpl.target.project, &tpl.target.name)
    };
    let req = copy_request(
        name,
        tpl,
        &tpl.pristine.last(),
        opts,
        &BTreeMap::new(),
        false,
    );
    tpl.target
        .incus()
        .judge_copy(project, name, &req)
        .map_err(|e| {
            let given: Vec<String> = opts
                .config
                .iter()
                .map(|(k, v)| format!("-c {k}={v}"))
                .collect();
            let profiles: Vec<String> = opts
                .profiles
                .iter()
                .flatten()
                .map(|p| format!("--profile {p}"))
                .collect();
            let asked = [given, profiles].concat().join(" ");
            Error::usage(format!("{asked}: refused by Incus: {e}"))
        })
}
