//! A device map as Incus gives it (name -> key -> value), and what is read
//! off one: the NICs with static addresses, the NIC an address goes to.

use std::collections::BTreeMap;

/// name -> key -> value, as in an instance's or a profile's `devices`.
pub type Devices = BTreeMap<String, BTreeMap<String, String>>;

/// The keys of a NIC's static addresses: both are copied with the clone.
pub const ADDRESS_KEYS: &[&str] = &["ipv4.address", "ipv6.address"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn devs(v: serde_json::Value) -> Devices {
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
}
