//! Cluster members that are down. The daemon answers "Server isn't ready yet"
//! for anything on them, so the templates there are told apart before anything
//! is read of them, and placement deals no clone to such a member.

use std::collections::{BTreeMap, BTreeSet};

use golden::incus::{ClusterMember, Incus, Scope};
use golden::target::Target;
use golden::{Error, Result};

use crate::input::{NewName, Request};

/// Offline members (anything but Online: Offline, Evacuated, Blocked...) and why.
pub fn offline(members: &[ClusterMember]) -> BTreeMap<String, String> {
    members
        .iter()
        .filter(|m| !m.is_online())
        .map(|m| (m.server_name.clone(), m.describe()))
        .collect()
}

/// Templates on an offline member, told apart before anything is read of them
/// (the daemon answers "Server isn't ready yet" for them): their clones are
/// refused, each naming the member; the other templates go on, re-indexed.
/// Their members are read from one listing per project, which the daemon
/// answers from its database with a member down.
pub fn on_offline_members(
    incus: &Incus,
    members: &[ClusterMember],
    targets: Vec<Target>,
    requests: Vec<Request>,
) -> Result<(Vec<Target>, Vec<Request>, Vec<Error>)> {
    let offline = offline(members);
    if offline.is_empty() {
        return Ok((targets, requests, Vec::new()));
    }
    let projects: BTreeSet<&String> = targets.iter().map(|t| &t.project).collect();
    let mut on: BTreeMap<(String, String), String> = BTreeMap::new();
    for p in projects {
        for i in incus.instances(&Scope::Project(p.clone()))? {
            if let Some(m) = i.member() {
                on.insert((i.project.clone(), i.name.clone()), m.to_string());
            }
        }
    }
    let mut keep = Vec::new();
    let mut index = Vec::with_capacity(targets.len());
    let mut gone = BTreeMap::new();
    for (i, t) in targets.into_iter().enumerate() {
        let member = on
            .get(&(t.project.clone(), t.name.clone()))
            .filter(|m| offline.contains_key(*m));
        match member {
            Some(m) => {
                gone.insert(i, (t.name.clone(), m.clone()));
                index.push(None);
            }
            None => {
                index.push(Some(keep.len()));
                keep.push(t);
            }
        }
    }
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for r in requests {
        match index[r.template] {
            Some(ti) => kept.push(Request { template: ti, ..r }),
            None => {
                let (template, m) = &gone[&r.template];
                let new = match &r.new {
                    NewName::Given(n) => n.clone(),
                    NewName::Numbered => format!("a clone of {template}"),
                };
                refused.push(Error::failed(format!(
                    "{new}: template {template} is on cluster member {m}, which is {}",
                    offline[m]
                )));
            }
        }
    }
    Ok((keep, kept, refused))
}
