//! The cluster: its members and whether they are online.

use super::kind::Kind;
use super::{ClusterMember, Incus, Scope};
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

impl Incus {
    /// The member instance `name` of `project` is on, when that member is not
    /// online, and what the cluster says of it (`offline: No heartbeat for
    /// 12s`). Asked after a failure, to name the member: a listing of the
    /// project, which the daemon answers from its database with a member down.
    pub fn offline_member_of(&self, project: &str, name: &str) -> Option<(String, String)> {
        let members = self.cluster_members().ok()?;
        if members.iter().all(ClusterMember::is_online) {
            return None;
        }
        let listed = self.instances(&Scope::Project(project.to_string())).ok()?;
        let on = listed
            .iter()
            .find(|i| i.name == name)?
            .member()?
            .to_string();
        let m = members
            .iter()
            .find(|m| m.server_name == on && !m.is_online())?;
        Some((on, m.describe()))
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
