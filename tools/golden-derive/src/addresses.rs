//! `--ipv4 auto`: the free addresses of each template's network.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use golden::incus::{Incus, Scope};
use golden::{Error, Result};
use ipnet::Ipv4Net;

use crate::devices::address_nic;
use crate::template::Template;

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

/// Free addresses of each template's network, for `--ipv4 auto`.
pub struct AddressPlan {
    /// Per template: the subnet and the addresses taken in it.
    nets: Vec<Subnet>,
    taken: BTreeMap<String, BTreeSet<Ipv4Addr>>,
}

#[derive(Debug, Clone)]
struct Subnet {
    network: String,
    net: Ipv4Net,
}

impl AddressPlan {
    /// Reads each template's network and every address used on it (static
    /// addresses of all instances in all projects, and the DHCP leases).
    pub fn read(incus: &Incus, templates: &[Template]) -> Result<Self> {
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
            let cidr = incus
                .network(&t.target.project, network)?
                .config
                .get("ipv4.address")
                .cloned()
                .unwrap_or_default();
            let net: Ipv4Net = cidr.parse().map_err(|_| {
                Error::usage(format!(
                    "--ipv4 auto: network {network} has no IPv4 subnet ({cidr:?})"
                ))
            })?;
            let used = taken.entry(network.clone()).or_default();
            used.insert(net.addr());
            for l in incus.network_leases(&t.target.project, network)? {
                if let Ok(a) = l.address.parse() {
                    used.insert(a);
                }
            }
            let all = match &instances {
                Some(i) => i,
                None => instances.insert(incus.instances(&Scope::All)?),
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
            nets.push(Subnet {
                network: network.clone(),
                net: net.trunc(),
            });
        }
        Ok(AddressPlan { nets, taken })
    }

    /// The next free address for a clone of template `ti`.
    pub fn next(&mut self, ti: usize) -> Result<Ipv4Addr> {
        let Subnet { network, net } = self.nets[ti].clone();
        let used = self.taken.entry(network.clone()).or_default();
        let a = next_free(net, used).ok_or_else(|| {
            Error::failed(format!("no free IPv4 address left in network {network}"))
        })?;
        used.insert(a);
        Ok(a)
    }
}

/// The lowest host address of the subnet not in `used` (never the network or
/// broadcast address).
pub fn next_free(net: Ipv4Net, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    if net.prefix_len() >= 31 {
        return None;
    }
    net.hosts().find(|a| !used.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_free_skips_used_network_and_broadcast() {
        let used: BTreeSet<Ipv4Addr> = ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        assert_eq!(next_free(net, &used), Some(Ipv4Addr::new(10, 0, 0, 3)));
        let full: BTreeSet<Ipv4Addr> = (1..=2).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(next_free("10.0.0.0/30".parse().unwrap(), &full), None);
        let gw: Ipv4Net = "10.219.7.1/24".parse().unwrap();
        assert_eq!(gw.addr(), Ipv4Addr::new(10, 219, 7, 1));
        assert_eq!(gw.trunc().network(), Ipv4Addr::new(10, 219, 7, 0));
        assert!("none".parse::<Ipv4Net>().is_err());
        assert!("10.0.0.1/33".parse::<Ipv4Net>().is_err());
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
