//! Networks: what `--ipv4 auto` needs to find a free address.

use super::client::enc;
use super::{Incus, Lease, Network};
use crate::error::Result;

impl Incus {
    pub fn network(&self, project: &str, name: &str) -> Result<Network> {
        self.get(&format!(
            "/1.0/networks/{}?project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading network {name}")))
    }

    /// Addresses the network's DHCP server has handed out or reserved.
    pub fn network_leases(&self, project: &str, name: &str) -> Result<Vec<Lease>> {
        self.list(&format!(
            "/1.0/networks/{}/leases?project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading leases of network {name}")))
    }
}
