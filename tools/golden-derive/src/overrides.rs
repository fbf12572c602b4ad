//! The devices a clone overrides in the copy request: its address, its root
//! disk's pool, its attached custom volumes (copied, shared or dropped). The
//! rest of its devices come with the copy, as the pristine has them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::args::Volumes;
use crate::devices::{address_nic, Devices, ADDRESS_KEYS};
use crate::options::Options;

fn as_value(d: &BTreeMap<String, String>) -> Value {
    json!(d)
}

/// A custom volume to copy from its pristine for one clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeCopy {
    pub device: String,
    pub pool: String,
    pub volume: String,
    pub new_volume: String,
}

/// Devices the clone overrides, and the volumes to copy for it.
pub fn overrides(
    expanded: &Devices,
    new: &str,
    opts: &Options,
    address: Option<&str>,
    pool: &str,
    pool_override: bool,
) -> (BTreeMap<String, Value>, Vec<VolumeCopy>) {
    let mut out = BTreeMap::new();
    let mut copies = Vec::new();
    if pool_override {
        if let Some((name, root)) = expanded.iter().find(|(_, d)| {
            d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) == Some("/")
        }) {
            let mut root = root.clone();
            root.insert("pool".into(), pool.into());
            out.insert(name.clone(), as_value(&root));
        }
    }
    let target_nic = address
        .and_then(|_| address_nic(expanded))
        .map(|(n, _)| n.to_string());
    if opts.dhcp || address.is_some() {
        for (name, d) in expanded {
            let is_target = target_nic.as_deref() == Some(name.as_str());
            let has_static = ADDRESS_KEYS.iter().any(|k| d.contains_key(*k));
            if d.get("type").map(String::as_str) != Some("nic") || !(has_static || is_target) {
                continue;
            }
            let mut nic = d.clone();
            for k in ADDRESS_KEYS {
                nic.remove(*k);
            }
            if is_target {
                nic.insert("ipv4.address".into(), address.unwrap_or_default().into());
            }
            out.insert(name.clone(), as_value(&nic));
        }
    }
    if let Some(how) = opts.volumes {
        for (name, d) in expanded {
            let custom = d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) != Some("/")
                && d.contains_key("pool");
            if !custom {
                continue;
            }
            match how {
                Volumes::Share => {}
                Volumes::Drop => {
                    out.insert(name.clone(), json!({ "type": "none" }));
                }
                Volumes::Copy => {
                    let (Some(vpool), Some(vol)) = (d.get("pool"), d.get("source")) else {
                        continue;
                    };
                    let new_vol = format!("{new}-{name}");
                    let mut dev = d.clone();
                    dev.insert("source".into(), new_vol.clone());
                    out.insert(name.clone(), as_value(&dev));
                    copies.push(VolumeCopy {
                        device: name.clone(),
                        pool: vpool.clone(),
                        volume: vol.clone(),
                        new_volume: new_vol,
                    });
                }
            }
        }
    }
    (out, copies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn devs(v: Value) -> Devices {
        serde_json::from_value(v).unwrap()
    }

    fn args(extra: &[&str]) -> Options {
        let mut all = vec!["golden-derive"];
        all.extend(extra);
        all.extend(["tpl", "new"]);
        Options::from_args(&crate::args::Args::parse_from(all)).unwrap()
    }

    fn template() -> Devices {
        devs(json!({
            "root": {"type": "disk", "path": "/", "pool": "fast"},
            "eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.0.0.5", "ipv6.address": "fd00::5"},
            "data": {"type": "disk", "path": "/data", "pool": "fast", "source": "vol1"}
        }))
    }

    #[test]
    fn dhcp_drops_the_static_addresses_and_keeps_the_nic() {
        let (d, copies) = overrides(&template(), "c1", &args(&["--dhcp"]), None, "fast", false);
        assert_eq!(d["eth0"], json!({"type": "nic", "network": "br0"}));
        assert!(!d.contains_key("root") && copies.is_empty());
    }

    #[test]
    fn an_address_goes_to_the_static_nic_alone() {
        let (d, _) = overrides(
            &template(),
            "c1",
            &args(&["--ipv4", "10.0.0.9"]),
            Some("10.0.0.9"),
            "fast",
            false,
        );
        assert_eq!(
            d["eth0"],
            json!({"type": "nic", "network": "br0", "ipv4.address": "10.0.0.9"})
        );
    }

    #[test]
    fn another_pool_overrides_the_root_disk() {
        let (d, _) = overrides(
            &template(),
            "c1",
            &args(&["-s", "slow"]),
            None,
            "slow",
            true,
        );
        assert_eq!(
            d["root"],
            json!({"type": "disk", "path": "/", "pool": "slow"})
        );
    }

    #[test]
    fn volumes_are_copied_per_clone_or_dropped() {
        let (d, copies) = overrides(
            &template(),
            "c1",
            &args(&["--volumes", "copy"]),
            None,
            "fast",
            false,
        );
        assert_eq!(d["data"]["source"], "c1-data");
        assert_eq!(
            copies,
            [VolumeCopy {
                device: "data".into(),
                pool: "fast".into(),
                volume: "vol1".into(),
                new_volume: "c1-data".into()
            }]
        );
        let (d, copies) = overrides(
            &template(),
            "c1",
            &args(&["--volumes", "drop"]),
            None,
            "fast",
            false,
        );
        assert_eq!(d["data"], json!({"type": "none"}));
        assert!(copies.is_empty());
        let (d, _) = overrides(
            &template(),
            "c1",
            &args(&["--volumes", "share"]),
            None,
            "fast",
            false,
        );
        assert!(!d.contains_key("data"));
    }
}
