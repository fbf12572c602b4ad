//! What a clone will really get: the pristine snapshot's own devices, expanded
//! with the profiles the clone will have — the snapshot's, or `--profile`'s —
//! as the clone's project sees them. The guards (static addresses, volumes,
//! root disk) judge this, never the template's current devices, which may have
//! changed since `golden-create`.

use golden::incus::{Incus, InstanceSnapshot};
use golden::{Error, Result};

use crate::devices::Devices;

/// The devices of a clone of `snap` created in `clone_project` with `profiles`
/// (`None`: the snapshot's own). Profiles are read only when they differ from
/// what the daemon expanded the snapshot with (another list, another project).
pub fn clone_devices(
    incus: &Incus,
    snap: &InstanceSnapshot,
    (template_project, clone_project): (&str, &str),
    profiles: Option<&[String]>,
) -> Result<Devices> {
    if profiles.is_none() && template_project == clone_project {
        return Ok(snap.expanded_devices.clone());
    }
    let names = profiles.unwrap_or(&snap.profiles);
    let store = incus.project(clone_project)?.profiles_project().to_string();
    let mut layers = Vec::with_capacity(names.len());
    for name in names {
        let p = incus.profile(&store, name)?.ok_or_else(|| {
            Error::usage(format!(
                "profile {name} not found in project {store} (where the clones' project \
                 {clone_project} finds its profiles)"
            ))
        })?;
        layers.push(p.devices);
    }
    Ok(expand(&layers, &snap.devices))
}

/// Incus's rule: each profile's devices in order, a later one replacing an
/// earlier device of the same name, and the instance's own devices last.
pub fn expand(profiles: &[Devices], local: &Devices) -> Devices {
    let mut out = Devices::new();
    for layer in profiles.iter().chain(std::iter::once(local)) {
        for (name, d) in layer {
            out.insert(name.clone(), d.clone());
        }
    }
    out
}

/// The pool of the root disk, if there is one.
pub fn root_pool(devices: &Devices) -> Option<&str> {
    devices
        .values()
        .find(|d| {
            d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) == Some("/")
        })
        .and_then(|d| d.get("pool"))
        .map(String::as_str)
}

/// A clone must have a root disk: say so before any copy, and how to give one.
pub fn require_root(devices: &Devices, template: &str, clone_project: &str) -> Result<String> {
    root_pool(devices).map(str::to_string).ok_or_else(|| {
        Error::usage(format!(
            "clones of {template} in project {clone_project} would have no root disk: neither \
             its pristine nor the profiles they get give one; add one to a profile (`incus \
             profile device add default root disk path=/ pool=POOL --project {clone_project}`)"
        ))
    })
}

/// Custom volumes attached as disks: (device, pool, volume).
pub fn custom_volumes(devices: &Devices) -> Vec<(String, String, String)> {
    golden::incus::custom_volumes(devices)
        .into_iter()
        .map(|(dev, pool, vol)| (dev.into(), pool.into(), vol.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn devs(v: serde_json::Value) -> Devices {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn profiles_expand_in_order_and_local_devices_win() {
        let default = devs(json!({
            "root": {"type": "disk", "path": "/", "pool": "slow"},
            "eth0": {"type": "nic", "network": "br0"}
        }));
        let fixed =
            devs(json!({"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.0.0.9"}}));
        let local = devs(json!({"root": {"type": "disk", "path": "/", "pool": "fast"}}));
        let out = expand(&[default.clone(), fixed], &local);
        assert_eq!(out["eth0"]["ipv4.address"], "10.0.0.9");
        assert_eq!(root_pool(&out), Some("fast"));
        assert_eq!(
            root_pool(&expand(&[default], &Devices::new())),
            Some("slow")
        );
    }

    #[test]
    fn no_root_disk_is_a_usage_error_saying_how_to_add_one() {
        let e = require_root(&Devices::new(), "tpl", "bare").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--project bare"), "{e}");
    }

    #[test]
    fn custom_volumes_are_disks_with_a_pool_and_a_source_off_root() {
        let d = devs(json!({
            "root": {"type": "disk", "path": "/", "pool": "fast"},
            "data": {"type": "disk", "path": "/data", "pool": "fast", "source": "vol1"},
            "host": {"type": "disk", "path": "/mnt", "source": "/srv"}
        }));
        assert_eq!(
            custom_volumes(&d),
            [("data".to_string(), "fast".to_string(), "vol1".to_string())]
        );
    }
}
