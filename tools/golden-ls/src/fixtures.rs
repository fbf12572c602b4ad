//! A listing built by hand, as the daemon would answer, for the unit tests of
//! the goldens and the clones: two projects, a golden with one clone up to date
//! and one stale, a golden whose swap was interrupted, and a plain instance.

use std::collections::BTreeMap;

use golden::incus::{Instance, StoragePool, StorageVolume};
use serde_json::json;

use crate::listing::Listing;

pub fn instance(project: &str, name: &str, pool: &str, config: serde_json::Value) -> Instance {
    serde_json::from_value(json!({
        "name": name, "project": project, "type": "container", "status": "Stopped",
        "location": "none", "config": config,
        "expanded_devices": {"root": {"type": "disk", "path": "/", "pool": pool}}
    }))
    .unwrap()
}

pub fn vol(project: &str, name: &str, created: &str) -> StorageVolume {
    serde_json::from_value(
        json!({"name": name, "project": project, "type": "container", "created_at": created}),
    )
    .unwrap()
}

pub fn pool(name: &str, driver: &str) -> StoragePool {
    serde_json::from_value(json!({"name": name, "driver": driver})).unwrap()
}

pub fn prov(project: &str, template: &str, created: &str) -> serde_json::Value {
    json!({"user.golden.project": project, "user.golden.template": template, "user.golden.created_at": created})
}

pub fn listing() -> Listing {
    Listing {
        instances: vec![
            instance("pro", "pro-dev", "fast", json!({})),
            instance("pro", "pro-alice", "fast", prov("pro", "pro-dev", "T1")),
            instance("pro", "pro-bob", "fast", prov("pro", "pro-dev", "T2")),
            instance("lab", "lab-reference", "slow", json!({})),
            instance("lab", "plain", "slow", json!({})),
        ],
        pools: vec![pool("fast", "btrfs"), pool("slow", "dir")],
        members: Vec::new(),
        images: Vec::new(),
        volumes: BTreeMap::from([
            (
                "fast".to_string(),
                vec![
                    vol("pro", "pro-dev", "T0"),
                    vol("pro", "pro-dev/snap0", "T0"),
                    vol("pro", "pro-dev/pristine", "T2"),
                    vol("pro", "pro-alice", "T3"),
                ],
            ),
            (
                "slow".to_string(),
                vec![
                    vol("lab", "lab-reference/pristine.golden-next", "T5"),
                    vol("lab", "lab-reference/pristine.golden-old", "T4"),
                    vol("lab", "plain/snap0", "T1"),
                ],
            ),
        ]),
    }
}

/// [`listing`] after pro-dev was renamed pro-base: its clones still name
/// pro-dev, and its uuid, which the rename kept.
pub fn renamed() -> Listing {
    let mut l = listing();
    let dev = l
        .instances
        .iter_mut()
        .find(|i| i.name == "pro-dev")
        .unwrap();
    dev.name = "pro-base".into();
    dev.config.insert("volatile.uuid".into(), "U1".into());
    for v in l.volumes.get_mut("fast").unwrap() {
        v.name = v.name.replace("pro-dev", "pro-base");
    }
    for c in l.instances.iter_mut().filter(|i| i.name != "pro-base") {
        if c.config.contains_key("user.golden.template") {
            c.config
                .insert("user.golden.template_uuid".into(), "U1".into());
        }
    }
    l
}
