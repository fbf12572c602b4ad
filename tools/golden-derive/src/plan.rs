//! The per-clone part of a derive: devices to override, addresses to hand out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use golden::incus::Incus;
use golden::{Error, Result};
use serde_json::{json, Value};

use crate::{Args, Template, Volumes};

type Devices = BTreeMap<String, BTreeMap<String, String>>;

const ADDRESS_KEYS: &[&str] = &["ipv4.address", "ipv6.address"];

/// `--ipv4`: an address, or `auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv4Choice {
    Fixed(Ipv4Addr),
    Auto,
}

impl Ipv4Choice {
    pub fn parse(s: &str) -> Result<Self> {
        if s == "auto" {
            return Ok(Ipv4Choice::Auto);
        }
        s.parse()
            .map(Ipv4Choice::Fixed)
            .map_err(|_| Error::usage(format!("--ipv4 {s:?}: not an IPv4 address nor `auto`")))
    }
}

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
    args: &Args,
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
    if args.dhcp || address.is_some() {
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
    if let Some(how) = args.volumes {
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

/// Free addresses of each template's network, for `--ipv4 auto`.
pub(crate) struct AddressPlan {
    /// Per template: the subnet and the addresses taken in it.
    nets: Vec<Option<Subnet>>,
    taken: BTreeMap<String, BTreeSet<Ipv4Addr>>,
}

#[derive(Debug, Clone)]
struct Subnet {
    network: String,
    base: u32,
    prefix: u8,
}

impl AddressPlan {
    /// Reads each template's network and every address used on it (static
    /// addresses of all instances in all projects, and the DHCP leases).
    pub(crate) fn read(incus: &Incus, templates: &[Template]) -> Result<Self> {
        let mut nets = Vec::new();
        let mut taken: BTreeMap<String, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        let mut instances = None;
        for t in templates {
            let Some((nic, d)) = address_nic(&t.expanded_devices) else {
                return Err(Error::usage(format!(
                    "--ipv4 auto: {} has no NIC on a managed network",
                    t.target.name
                )));
            };
            let Some(network) = d.get("network") else {
                return Err(Error::usage(format!(
                    "--ipv4 auto: NIC {nic} of {} is not on a managed network; give --ipv4 ADDR",
                    t.target.name
                )));
            };
            let net = incus.network(&t.target.project, network)?;
            let cidr = net
                .config
                .get("ipv4.address")
                .map(String::as_str)
                .unwrap_or("");
            let (gateway, prefix) = parse_cidr(cidr).ok_or_else(|| {
                Error::usage(format!(
                    "--ipv4 auto: network {network} has no IPv4 subnet ({cidr:?})"
                ))
            })?;
            let used = taken.entry(network.clone()).or_default();
            used.insert(gateway);
            for l in incus.network_leases(&t.target.project, network)? {
                if let Ok(a) = l.address.parse() {
                    used.insert(a);
                }
            }
            let all = match &instances {
                Some(i) => i,
                None => instances.insert(incus.instances(&golden::incus::Scope::All)?),
            };
            for i in all.iter() {
                for d in i.expanded_devices.values() {
                    if d.get("network") == Some(network) {
                        if let Some(a) = d.get("ipv4.address").and_then(|a| a.parse().ok()) {
                            used.insert(a);
                        }
                    }
                }
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            nets.push(Some(Subnet {
                network: network.clone(),
                base: u32::from(gateway) & mask,
                prefix,
            }));
        }
        Ok(AddressPlan { nets, taken })
    }

    /// The next free address for a clone of template `ti`.
    pub fn next(&mut self, ti: usize) -> Result<Ipv4Addr> {
        let net = self.nets[ti].clone().expect("network read");
        let used = self.taken.entry(net.network.clone()).or_default();
        let a = next_free(net.base, net.prefix, used).ok_or_else(|| {
            Error::failed(format!(
                "no free IPv4 address left in network {}",
                net.network
            ))
        })?;
        used.insert(a);
        Ok(a)
    }
}

/// "10.0.0.1/24" -> (10.0.0.1, 24)
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/')?;
    let p: u8 = p.parse().ok()?;
    (p <= 32).then_some(())?;
    Some((a.parse().ok()?, p))
}

/// The lowest host address of the subnet not in `used` (never the network or
/// broadcast address).
pub fn next_free(base: u32, prefix: u8, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    if prefix >= 31 {
        return None;
    }
    let size = 1u32 << (32 - prefix);
    (1..size - 1)
        .map(|i| Ipv4Addr::from(base + i))
        .find(|a| !used.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn next_free_skips_used_network_and_broadcast() {
        let used: BTreeSet<Ipv4Addr> = ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(next_free(base, 24, &used), Some(Ipv4Addr::new(10, 0, 0, 3)));
        let full: BTreeSet<Ipv4Addr> = (1..=2).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(next_free(base, 30, &full), None);
        assert_eq!(
            parse_cidr("10.219.7.1/24"),
            Some((Ipv4Addr::new(10, 219, 7, 1), 24))
        );
        assert_eq!(parse_cidr("none"), None);
        assert_eq!(parse_cidr("10.0.0.1/33"), None);
    }

    fn args(extra: &[&str]) -> Args {
        use clap::Parser;
        let mut all = vec!["golden-derive"];
        all.extend(extra);
        all.extend(["tpl", "new"]);
        Args::parse_from(all)
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

    #[test]
    fn ipv4_choice_parses_auto_and_addresses_only() {
        assert_eq!(Ipv4Choice::parse("auto").unwrap(), Ipv4Choice::Auto);
        assert_eq!(
            Ipv4Choice::parse("10.1.2.3").unwrap(),
            Ipv4Choice::Fixed(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(Ipv4Choice::parse("10.1.2").unwrap_err().exit_code(), 2);
    }
}
