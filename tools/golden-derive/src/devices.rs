//! The devices a clone overrides: addresses, root pool, attached volumes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::args::Volumes;
use crate::options::Options;

pub type Devices = BTreeMap<String, BTreeMap<String, String>>;

const ADDRESS_KEYS: &[&str] = &["ipv4.address", "ipv6.address"];

/// NICs carrying a static address, as "eth0 ipv4.address=10.0.0.5".
pub fn static_nics(devices: &Devices) -> Vec<String> {
    let mut out = Vec::new();
    for (name, d) in devices {
        if d.get("type").map(String::as_str) != Some("nic") {
            continue;
        }
        for k in ADDRESS_KEYS {
            if let Some(v) = d.get(*k).filter(|v| !v.is_empty()) {
                out.push(format!("{name} {k}={v}"));
            }
        }
    }
    out
}

/// The NIC an `--ipv4` address goes to: the first with a static IPv4, else the
/// first on a managed network.
pub fn address_nic(devices: &Devices) -> Option<(&str, &BTreeMap<String, String>)> {
    let nics = || {
        devices
            .iter()
            .filter(|(_, d)| d.get("type").map(String::as_str) == Some("nic"))
    };
    nics()
        .find(|(_, d)| d.get("ipv4.address").is_some_and(|v| !v.is_empty()))
        .or_else(|| nics().find(|(_, d)| d.contains_key("network")))
        .map(|(n, d)| (n.as_str(), d))
}

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
pub fn devices(
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

    #[test]
    fn static_addresses_are_found_on_nics_only() {
        let d = devs(json!({
            "eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.0.0.5"},
            "eth1": {"type": "nic", "network": "br1", "ipv6.address": "fd00::5"},
            "eth2": {"type": "nic", "network": "br2"},
            "root": {"type": "disk", "path": "/", "pool": "p", "ipv4.address": "x"}
        }));
        assert_eq!(
            static_nics(&d),
            ["eth0 ipv4.address=10.0.0.5", "eth1 ipv6.address=fd00::5"]
        );
        assert_eq!(address_nic(&d).unwrap().0, "eth0");
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
        let (d, copies) = devices(&template(), "c1", &args(&["--dhcp"]), None, "fast", false);
        assert_eq!(d["eth0"], json!({"type": "nic", "network": "br0"}));
        assert!(!d.contains_key("root") && copies.is_empty());
    }

    #[test]
    fn an_address_goes_to_the_static_nic_alone() {
        let (d, _) = devices(
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
        let (d, _) = devices(
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
        let (d, copies) = devices(
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
        let (d, copies) = devices(
            &template(),
            "c1",
            &args(&["--volumes", "drop"]),
            None,
            "fast",
            false,
        );
        assert_eq!(d["data"], json!({"type": "none"}));
        assert!(copies.is_empty());
        let (d, _) = devices(
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
