//! The clone's state before a refresh, kept as a stopped copy of it named
//! `CLONE-pre-refresh` (a CoW copy where the pool allows, on the clone's
//! member), with its snapshots.
//!
//! Why a copy and not a snapshot: the daemon's rebuild refuses an instance
//! that has snapshots ("Cannot remove an instance volume that has
//! snapshots", Incus 6.0). The copy is marked as the clone's
//! ([`KEY_PRE_REFRESH_OF`]): no clone of its own, never taken for a user's
//! instance of the same name. It gets MAC addresses of its own and no static
//! address (the clone could not start beside another NIC of the same): the
//! clone's are written on it ([`KEY_HWADDR`], [`KEY_DEVICE`]), and
//! `golden-refresh --restore` puts them back (see [`crate::restore`]).

use golden::identity::templates::{pending_trigger, TRIGGER_NONE};
use std::collections::BTreeMap;

use serde_json::json;

use golden::incus::{CopyRequest, Incus, Instance};
use golden::model::{
    KEY_PRE_REFRESH_OF, KEY_REFRESH_FROM, KEY_REFRESH_RESTART, KEY_REFRESH_TRIGGER,
};
use golden::name::check_instance_name;
use golden::target::Target;
use golden::{Error, Result};

/// Where a clone's MAC address is kept on its pre-refresh copy (`.NIC`).
pub const KEY_HWADDR: &str = "user.golden.hwaddr.";
/// Where a NIC's static addresses (`.NIC.ipv4.address`), and a custom
/// volume's whole disk device (`.DEV.KEY`), are kept on it.
pub const KEY_DEVICE: &str = "user.golden.device.";
/// On the copy: the clone's own `boot.autostart` (the copy's is false).
pub const KEY_AUTOSTART: &str = "user.golden.autostart";
/// A NIC's keys that name addresses no other NIC may hold.
const STATIC: &[&str] = &["ipv4.address", "ipv6.address"];

/// What a copy's name ends with.
const SUFFIX: &str = "-pre-refresh";

/// The name of `clone`'s pre-refresh copy: `CLONE-pre-refresh`, or, for a
/// name too long for that (golden-derive makes names of up to 63
/// characters), the clone's name cut short and 8 hex digits of its SHA-256
/// (`…-1a2b3c4d-pre-refresh`): one name per clone, the same for every
/// version of the tools, so that a restore finds it. Which clone a copy is
/// of is its `KEY_PRE_REFRESH_OF`, checked by [`find`].
pub fn name(clone: &str) -> Result<String> {
    let kept = format!("{clone}{SUFFIX}");
    if check_instance_name(&kept).is_ok() {
        return Ok(kept);
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(clone.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let room = 63 - SUFFIX.len() - hash.len() - 1;
    let stem = clone[..room.min(clone.len())].trim_end_matches('-');
    let kept = format!("{stem}-{hash}{SUFFIX}");
    check_instance_name(&kept).map_err(|_| {
        Error::failed(format!(
            "{clone}: no valid name for its pre-refresh copy ({kept}); rename the clone to refresh it"
        ))
    })?;
    Ok(kept)
}

/// The clone's pre-refresh copy, if there is one; an instance of that name
/// that is not its copy is refused (it is the user's).
pub fn find(incus: &Incus, c: &Target, kept: &str) -> Result<Option<Instance>> {
    let Some(k) = incus.instance_if_any(&c.project, kept)? else {
        return Ok(None);
    };
    if k.config.get(KEY_PRE_REFRESH_OF) != Some(&c.name) {
        return Err(Error::failed(format!(
            "{kept} exists and is not the pre-refresh copy of {}: rename or remove it, then rerun",
            c.name
        )));
    }
    Ok(Some(k))
}

/// Makes the copy of `inst`, the clone `c` as it is now (stopped), in place
/// of `old` (as [`find`] found it: the copy of an earlier refresh, or one a
/// killed run left half made); returns it.
pub fn make(
    incus: &Incus,
    c: &Target,
    inst: &Instance,
    (kept, old): (&str, Option<&Instance>),
) -> Result<Instance> {
    if old.is_some() {
        incus.wait_instance_operations(&c.project, kept, 120)?;
        incus.delete_instance(&c.project, kept)?;
    }
    let mut config = BTreeMap::from([
        (KEY_PRE_REFRESH_OF.to_string(), c.name.clone()),
        // The clone's marks are not the copy's (empty: unset).
        (KEY_REFRESH_FROM.to_string(), String::new()),
        (KEY_REFRESH_RESTART.to_string(), String::new()),
        // A clone never started: what its first start would have rendered,
        // for --restore to give back.
        (
            KEY_REFRESH_TRIGGER.to_string(),
            pending_trigger(&inst.config)
                .unwrap_or_default()
                .to_string(),
        ),
    ]);
    for (key, mac) in &inst.config {
        let nic = key
            .strip_prefix("volatile.")
            .and_then(|k| k.strip_suffix(".hwaddr"));
        if let Some(nic) = nic {
            config.insert(format!("{KEY_HWADDR}{nic}"), mac.clone());
        }
    }
    // Nor its static addresses: the clone could not start beside them.
    let mut devices = BTreeMap::new();
    for (dev, conf) in &inst.devices {
        if conf.get("type").map(String::as_str) != Some("nic") {
            continue;
        }
        let mut inert = conf.clone();
        for key in STATIC {
            if let Some(addr) = inert.remove(*key) {
                config.insert(format!("{KEY_DEVICE}{dev}.{key}"), addr);
            }
        }
        if inert.len() < conf.len() {
            devices.insert(
                dev.clone(),
                serde_json::to_value(inert).expect("a device is JSON"),
            );
        }
    }
    // Nor its custom volumes, nor its autostart: the copy must not start by
    // accident beside the clone (at the host's next boot) nor write the
    // clone's data. The devices are kept whole in keys, for a restore.
    for (dev, conf) in &inst.devices {
        let custom = conf.get("type").map(String::as_str) == Some("disk")
            && conf.get("path").map(String::as_str) != Some("/")
            && conf.contains_key("pool");
        if custom {
            for (key, value) in conf {
                config.insert(format!("{KEY_DEVICE}{dev}.{key}"), value.clone());
            }
            devices.insert(dev.clone(), json!({ "type": "none" }));
        }
    }
    if let Some(own) = inst.config.get("boot.autostart") {
        config.insert(KEY_AUTOSTART.into(), own.clone());
    }
    config.insert("boot.autostart".into(), "false".into());
    let mut req = CopyRequest::from_snapshot(kept, &inst.kind, &c.project, &c.name, "");
    req.config = config;
    req.devices = devices;
    incus
        .copy_instance_from(&c.project, inst.member(), &c.name, &req)
        .map_err(|e| e.context(format!("keeping {} as {kept}", c.name)))?;
    // A copy: the daemon set its templates to renew its identity at its
    // first start. It holds the clone's own, to give back.
    let own = json!({ "config": { "volatile.apply_template": TRIGGER_NONE } });
    incus.update_instance(&c.project, kept, &own)?;
    incus.instance(&c.project, kept)
}

/// After a rebuild: the clone's own `image.*` keys (`own`, read from its
/// copy) over those the rebuild wrote from its image (`now`; unset: empty).
pub fn image_keys_back(
    own: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> serde_json::Map<String, serde_json::Value> {
    let image = |c: &BTreeMap<String, String>| {
        c.iter()
            .filter(|(k, _)| k.starts_with("image."))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Vec<_>>()
    };
    let mut back: serde_json::Map<_, _> = image(now)
        .into_iter()
        .map(|(k, _)| (k, json!("")))
        .collect();
    back.extend(image(own));
    back
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_clone_name_has_a_copy_name_of_its_own() {
        assert_eq!(name("web").unwrap(), "web-pre-refresh");
        let long = "a".repeat(63);
        let other = format!("{}b", "a".repeat(62));
        let (k1, k2) = (name(&long).unwrap(), name(&other).unwrap());
        assert_ne!(k1, k2);
        for k in [&k1, &k2] {
            assert!(k.len() <= 63 && k.ends_with(SUFFIX), "{k}");
            check_instance_name(k).unwrap();
        }
        // The same name every time: a restore finds the copy a refresh made.
        assert_eq!(name(&long).unwrap(), k1);
        // Cut on a hyphen: none doubled before the digits.
        let hyphen = format!("{}-{}", "a".repeat(41), "b".repeat(21));
        assert!(!name(&hyphen).unwrap().contains("--"));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn the_clones_image_keys_come_back_and_the_rebuilds_go() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let own = map(&[
            ("image.description", "Debian bookworm"),
            ("image.os", "debian"),
            ("user.mine", "x"),
        ]);
        let now = map(&[
            ("image.description", "golden-refresh: p/t pristine of ..."),
            ("image.golden.refresh.template", "p/t"),
            ("image.os", "debian"),
            ("user.mine", "x"),
        ]);
        assert_eq!(
            serde_json::Value::Object(image_keys_back(&own, &now)),
            json!({
                "image.description": "Debian bookworm",
                "image.golden.refresh.template": "",
                "image.os": "debian",
            })
        );
    }
}
