//! `--ipv4 ADDR` and `--ipv4 auto`: addresses no other NIC holds.
//!
//! The addresses in use on a network are every static address of every NIC on
//! it, in every project, the DHCP leases, and the subnet's own (network,
//! broadcast, gateway). Two runs must not both take one free address: a lock
//! per network (see `golden::lock::NetworkLock`) is held from reading what is
//! used until the clones holding the new addresses exist.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use golden::incus::{Incus, Instance, Scope};
use golden::lock::NetworkLock;
use golden::{Error, Result};
use ipnet::Ipv4Net;

use crate::devices::address_nic;
use crate::template::Template;

/// Addresses in use on one network, and who holds each.
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub name: String,
    /// None: not a managed network (a NIC on a host bridge): no subnet known.
    pub net: Option<Ipv4Net>,
    pub used: BTreeMap<Ipv4Addr, String>,
}

/// The networks of the templates' address NICs, read and locked.
pub struct AddressPlan {
    /// Per template: its network's index in `nets`.
    of: Vec<usize>,
    nets: Vec<Network>,
    /// Per network: addresses given, and clones left without one.
    given: Vec<usize>,
    short: Vec<usize>,
    _locks: Vec<NetworkLock>,
}

impl AddressPlan {
    /// Locks each template's network (unless `dry_run`), then reads what is used.
    pub fn read(incus: &Incus, templates: &[Template], dry_run: bool) -> Result<Self> {
        let mut plan = AddressPlan {
            of: Vec::new(),
            nets: Vec::new(),
            given: Vec::new(),
            short: Vec::new(),
            _locks: Vec::new(),
        };
        let mut instances: Option<Vec<Instance>> = None;
        for t in templates {
            let Some((nic, d)) = address_nic(&t.clone_devices) else {
                return Err(Error::usage(format!(
                    "--ipv4: clones of {} have no NIC to give an address to",
                    t.target.name
                )));
            };
            let (name, managed) = match (d.get("network"), d.get("parent")) {
                (Some(n), _) => (n.clone(), true),
                (None, Some(p)) => (p.clone(), false),
                _ => {
                    return Err(Error::usage(format!(
                        "--ipv4: NIC {nic} of {} names no network nor parent",
                        t.target.name
                    )))
                }
            };
            let store = incus
                .project(&t.clone_project)?
                .networks_project()
                .to_string();
            if let Some(i) = plan.nets.iter().position(|n| n.name == name) {
                plan.of.push(i);
                continue;
            }
            if !dry_run {
                plan._locks.push(NetworkLock::acquire(
                    t.target.remote.as_deref(),
                    &store,
                    &name,
                    |file| {
                        let what = format!(
                            "waiting for another run giving addresses on network {name} ({})",
                            file.display()
                        );
                        golden::cli::notice(what)
                    },
                )?);
            }
            let mut net = Network {
                name: name.clone(),
                ..Default::default()
            };
            if managed {
                read_managed(incus, &t.clone_project, &mut net)?;
            }
            let all = match &instances {
                Some(i) => i,
                None => instances.insert(every_instance(incus, &t.clone_project)?),
            };
            for i in all {
                for (dev, d) in &i.expanded_devices {
                    let on = d.get("network").or(d.get("parent")) == Some(&name);
                    if let (true, Some(a)) =
                        (on, d.get("ipv4.address").and_then(|a| a.parse().ok()))
                    {
                        let who = format!("NIC {dev} of {} in project {}", i.name, i.project);
                        net.used.entry(a).or_insert(who);
                    }
                }
            }
            plan.of.push(plan.nets.len());
            plan.nets.push(net);
            plan.given.push(0);
            plan.short.push(0);
        }
        Ok(plan)
    }

    /// `--ipv4 ADDR` for a clone of template `ti`: refused if taken or the subnet's own.
    pub fn check_fixed(&self, ti: usize, a: Ipv4Addr) -> Result<()> {
        check_fixed(&self.nets[self.of[ti]], a)
    }

    /// The next free address for a clone of template `ti`; none left is
    /// counted, and said by [`AddressPlan::finish`] once every clone is planned.
    pub fn next(&mut self, ti: usize) -> Result<Option<Ipv4Addr>> {
        let i = self.of[ti];
        let n = &mut self.nets[i];
        let Some(net) = n.net else {
            return Err(Error::usage(format!(
                "--ipv4 auto: {} is not a managed network (no subnet to pick from); give --ipv4 ADDR",
                n.name
            )));
        };
        match next_free(net, &n.used) {
            Some(a) => {
                n.used.insert(a, "this run".into());
                self.given[i] += 1;
                Ok(Some(a))
            }
            None => {
                self.short[i] += 1;
                Ok(None)
            }
        }
    }

    /// Too few free addresses for the clones: a usage error, before any copy.
    pub fn finish(&self) -> Result<()> {
        for (i, n) in self.nets.iter().enumerate() {
            if self.short[i] > 0 {
                return Err(Error::usage(format!(
                    "--ipv4 auto: network {} has {} free address(es), and {} clones need one: \
                     nothing was made",
                    n.name,
                    self.given[i],
                    self.given[i] + self.short[i]
                )));
            }
        }
        Ok(())
    }
}

/// Every instance, in every project; a certificate restricted to some projects
/// may list only the clones' project: then the addresses of the others are
/// not checked, and the user is told so.
fn every_instance(incus: &Incus, project: &str) -> Result<Vec<Instance>> {
    match incus.instances(&Scope::All) {
        Ok(all) => Ok(all),
        Err(e) => {
            let only = incus.instances(&Scope::Project(project.to_string()))?;
            golden::cli::notice(format!(
                "--ipv4: addresses are checked in project {project} only, other projects \
                     cannot be listed ({e})"
            ));
            Ok(only)
        }
    }
}

/// A managed network's subnet, its own addresses and its DHCP leases.
fn read_managed(incus: &Incus, project: &str, net: &mut Network) -> Result<()> {
    let cidr = incus
        .network(project, &net.name)?
        .config
        .get("ipv4.address")
        .cloned()
        .unwrap_or_default();
    let sub: Ipv4Net = cidr.parse().map_err(|_| {
        Error::usage(format!(
            "--ipv4: network {} has no IPv4 subnet ({cidr:?})",
            net.name
        ))
    })?;
    net.used.insert(sub.addr(), "the network's gateway".into());
    for l in incus.network_leases(project, &net.name)? {
        if let Ok(a) = l.address.parse() {
            let who = format!("a DHCP lease of {}", l.hostname);
            net.used.entry(a).or_insert(who);
        }
    }
    net.net = Some(sub.trunc());
    Ok(())
}

/// An address given by hand: inside the subnet, not its network, broadcast or
/// gateway address, and held by no other NIC.
pub fn check_fixed(n: &Network, a: Ipv4Addr) -> Result<()> {
    let refuse = |why: String| Err(Error::usage(format!("--ipv4 {a}: {why}")));
    if let Some(net) = n.net {
        if !net.contains(&a) {
            return refuse(format!("not in network {}'s subnet {net}", n.name));
        }
        if a == net.network() || a == net.broadcast() {
            return refuse(format!(
                "the {} address of {net}",
                if a == net.network() {
                    "network"
                } else {
                    "broadcast"
                }
            ));
        }
    }
    match n.used.get(&a) {
        Some(who) => refuse(format!("already used on network {} by {who}", n.name)),
        None => Ok(()),
    }
}

/// The lowest host address of the subnet not in `used` (never the network or
/// broadcast address).
pub fn next_free(net: Ipv4Net, used: &BTreeMap<Ipv4Addr, String>) -> Option<Ipv4Addr> {
    if net.prefix_len() >= 31 {
        return None;
    }
    net.hosts().find(|a| !used.contains_key(a))
}

#[cfg(test)]
mod tests;
