//! The request a clone is made with: the copy of a pristine, its provenance,
//! the user's config and profiles, and the devices the plan overrides; and
//! the daemon's judgement of `-c` and `--profile` on such a request, before any copy.

use std::collections::{BTreeMap, BTreeSet};

use golden::incus::CopyRequest;
use golden::model::{
    is_lifecycle_key, IDENTITY_PENDING, KEY_CREATED_AT, KEY_FOR_CLONES, KEY_IDENTITY, KEY_PROJECT,
    KEY_TEMPLATE, KEY_TEMPLATE_UUID, TEMPLATE_ONLY,
};
use golden::{Error, Result};
use serde_json::Value;

use crate::options::Options;
use crate::pristine::Pristine;
use crate::template::Template;

/// The column's word for clones whose identity could not be reached, and
/// what they are created with.
pub const VM_NOT_RESET: &str = "not-reset:vm";

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
        carry_settings(&mut req, source);
    }
    for_clones(&mut req.config, &source.config);
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
        .insert(KEY_IDENTITY.into(), identity_at_creation(tpl, opts));
    req.devices.extend(devices.clone());
    if opts.profiles.is_some() {
        req.profiles = opts.profiles.clone();
    }
    req
}

/// What the golden's own settings give a clone: none of those meant for the
/// golden ([`TEMPLATE_ONLY`]: an empty value in the request leaves the key
/// out of the copy), and the settings it holds for its clones
/// ([`KEY_FOR_CLONES`]), which `-c` still overrides.
fn for_clones(config: &mut BTreeMap<String, String>, golden: &BTreeMap<String, String>) {
    for key in TEMPLATE_ONLY {
        if golden.contains_key(*key) {
            config.insert(key.to_string(), String::new());
        }
    }
    for key in golden.keys().filter(|k| is_lifecycle_key(k)) {
        config.insert(key.clone(), String::new());
    }
    for (key, value) in golden {
        if let Some(own) = key.strip_prefix(KEY_FOR_CLONES) {
            config.insert(own.to_string(), value.clone());
            config.insert(key.clone(), String::new());
        }
    }
}

/// What a copy to another member must be told, since the daemon makes it as a
/// migration that reads nothing of the source's settings: the pristine's
/// architecture, config less its volatile keys (but the base image), devices
/// and profiles — what `incus copy` sends. Our own config and devices go on top.
fn carry_settings(req: &mut CopyRequest, source: &Pristine) {
    req.architecture = Some(source.architecture.clone());
    req.config = source
        .config
        .iter()
        .filter(|(k, _)| !k.starts_with("volatile.") || *k == "volatile.base_image")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    req.devices = source
        .devices
        .iter()
        .map(|(k, d)| (k.clone(), serde_json::json!(d)))
        .collect();
    req.profiles = Some(source.profiles.clone());
}

/// The `user.golden.identity` a clone is created with: `pending` until its
/// reset is done (see [`golden::model::KEY_IDENTITY`]).
fn identity_at_creation(tpl: &Template, opts: &Options) -> String {
    if opts.keep_identity {
        "-".into()
    } else if !tpl.renews.is_empty() {
        // Its templates renew it at its first start: nothing is pending.
        tpl.renews.clone()
    } else if tpl.kind == "virtual-machine" {
        VM_NOT_RESET.into()
    } else {
        IDENTITY_PENDING.into()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use golden::incus::InstanceSnapshot;
    use serde_json::json;

    #[test]
    fn a_copy_to_another_member_carries_the_pristine_settings_as_incus_copy_does() {
        // Incus 6.0.4's GET of an instance snapshot (trimmed), on a cluster.
        let snap: InstanceSnapshot = serde_json::from_value(json!({
            "name": "pristine", "architecture": "x86_64", "ephemeral": false,
            "created_at": "2026-11-26T21:17:09Z",
            "config": {
                "limits.memory": "256MiB", "user.course": "networks",
                "image.os": "busybox",
                "volatile.base_image": "929e2950",
                "volatile.uuid": "b1ce4032", "volatile.eth0.hwaddr": "00:16:3e:aa:bb:cc",
                "volatile.idmap.next": "[]"
            },
            "devices": {"hidden": {"type": "none"}},
            "profiles": ["default", "lab"]
        }))
        .unwrap();
        let source = Pristine {
            generation: 0,
            snapshot: snap.name.clone(),
            created_at: snap.created_at.clone(),
            devices: snap.devices.clone(),
            profiles: snap.profiles.clone(),
            config: snap.config.clone(),
            architecture: snap.architecture.clone(),
            volumes: Default::default(),
        };
        let mut req = CopyRequest::from_snapshot("c1", "container", "lab", "tpl", "pristine");
        carry_settings(&mut req, &source);
        let body = serde_json::to_value(&req).unwrap();
        assert_eq!(body["architecture"], "x86_64");
        let keys: Vec<&str> = body["config"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "image.os",
                "limits.memory",
                "user.course",
                "volatile.base_image"
            ]
        );
        assert_eq!(body["devices"]["hidden"]["type"], "none");
        assert_eq!(body["profiles"], json!(["default", "lab"]));
        assert_eq!(body["source"]["source"], "tpl/pristine");
        // Beside the template nothing of that is sent: the daemon copies it.
        let plain = serde_json::to_value(CopyRequest::from_snapshot(
            "c2",
            "container",
            "lab",
            "tpl",
            "pristine",
        ))
        .unwrap();
        assert!(plain.get("architecture").is_none() && plain.get("profiles").is_none());
    }
}
