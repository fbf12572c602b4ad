//! Copies to other cluster members, at run time.
//!
//! A copy to another member on storage of each member's own is a migration: a
//! full copy over the network. Incus 6.0 fails several at once from one source
//! ("Error reading migration control source: websocket: close 1000"), even to
//! different members: a run makes them one at a time (CoW copies still run
//! `-j` at once), and one that fails so, a copy of another run's meanwhile, is
//! tried again (a failed migration leaves nothing behind).
//!
//! And a spread pays that transfer once per member, not once per clone: the
//! first clone a member gets is the full copy (its *seed*); the others there
//! are CoW copies of the seed, made on that member before anything starts it
//! (so, with `--start`, the transfer is paid per clone: a started seed is no
//! longer pristine). Each clone records the template's pristine as its origin,
//! whichever way it was made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use golden::incus::CopyRequest;

use crate::pristine::Pristine;

/// A clone made on a member by a full copy, that later clones there copy.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub copied: Pristine,
}

/// The seed of one (template, member), if made; locked during a full copy there.
pub type Slot = Arc<Mutex<Option<Seed>>>;

/// One slot per (template, member): held during a full copy to that member.
#[derive(Default)]
pub struct Seeds {
    /// CoW copies of the seed allowed (a spread without --start).
    pub enabled: bool,
    /// Held during each full copy to another member.
    pub transfer: Mutex<()>,
    slots: Mutex<BTreeMap<(usize, String), Slot>>,
}

impl Seeds {
    pub fn new(enabled: bool) -> Self {
        Seeds {
            enabled,
            transfer: Mutex::default(),
            slots: Mutex::default(),
        }
    }

    /// The slot of template `ti`'s clones on `member`.
    pub fn slot(&self, ti: usize, member: &str) -> Slot {
        self.slots
            .lock()
            .expect("seed slots")
            .entry((ti, member.to_string()))
            .or_default()
            .clone()
    }
}

/// What a copy to another member must be told, since the daemon makes it as a
/// migration that reads nothing of the source's settings: the pristine's
/// architecture, config less its volatile keys (but the base image), devices
/// and profiles — what `incus copy` sends. Our own config and devices go on top.
pub fn in_full(req: &mut CopyRequest, source: &Pristine) {
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
        in_full(&mut req, &source);
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
