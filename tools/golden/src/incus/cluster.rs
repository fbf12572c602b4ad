//! The cluster: its members and whether they are online.

use super::kind::Kind;
use super::{ClusterMember, Incus};
use crate::error::Result;

impl Incus {
    /// The members of the cluster, as the member we talk to sees them; empty
    /// when the server is not clustered.
    pub fn cluster_members(&self) -> Result<Vec<ClusterMember>> {
        match self.list::<Vec<ClusterMember>>("/1.0/cluster/members?recursion=1") {
            Ok(mut m) => {
                m.sort_by(|a, b| a.server_name.cmp(&b.server_name));
                Ok(m)
            }
            Err(e) if Kind::of(&e) == Kind::NotClustered => Ok(Vec::new()),
            Err(e) => Err(e.context("listing cluster members")),
        }
    }
}

impl ClusterMember {
    /// `offline: No heartbeat for 12s`, as a notice or an error says it.
    pub fn describe(&self) -> String {
        match self.message.as_str() {
            "" => self.status.to_lowercase(),
            msg => format!("{}: {msg}", self.status.to_lowercase()),
        }
    }
}
