//! Where each clone goes in a cluster (none of this applies to a standalone server).
//!
//! - By default a clone lands on its template's member: the copy is sent with
//!   `target=` that member, so it stays CoW (the daemon's scheduler would
//!   otherwise pick the member with the fewest instances: a full copy).
//! - `--target M`: every clone on M. On a pool of each member's own (btrfs, ZFS,
//!   LVM, dir), a clone on another member than its template's is a full copy
//!   over the network: `cow` is false and a notice says so. On a shared pool
//!   (Ceph RBD) the copy stays in the same storage.
//! - `--spread`: the clones of each template are dealt round-robin over the
//!   members that are online and have the clones' pool, in name order starting
//!   with the template's own member (12 clones on 3 members: 4 each, the first
//!   beside the template). Round-robin rather than least loaded: the spread of
//!   one run is even and foreseeable (`-n` shows it), whatever else runs there.

use std::collections::{BTreeMap, BTreeSet};

use golden::cli::notice;
use golden::incus::{ClusterMember, Incus, Scope, StoragePool};
use golden::target::Target;
use golden::{Error, Result};

use crate::input::{NewName, Request};
use crate::options::PlacementChoice;
use crate::plan::Job;
use crate::template::Template;

/// The members each template's clones are dealt over, and how far the deal got.
#[derive(Debug)]
pub struct Placement {
    /// Per template: the members in the order clones are dealt (empty: no cluster).
    deals: Vec<Vec<String>>,
    next: Vec<usize>,
    /// Offline members and what the cluster says of them.
    pub offline: BTreeMap<String, String>,
}

/// What placement needs to know of one template.
pub struct Of<'a> {
    pub name: &'a str,
    /// Its member (`None` outside a cluster).
    pub member: Option<&'a str>,
    /// The pool its clones go to.
    pub pool: &'a StoragePool,
}

/// Offline members (anything but Online: Offline, Evacuated, Blocked...) and why.
pub fn offline(members: &[ClusterMember]) -> BTreeMap<String, String> {
    members
        .iter()
        .filter(|m| !m.is_online())
        .map(|m| (m.server_name.clone(), m.describe()))
        .collect()
}

impl Placement {
    pub fn new(
        how: &PlacementChoice,
        members: &[ClusterMember],
        templates: &[Of],
        quiet: bool,
    ) -> Result<Placement> {
        let offline = offline(members);
        let names: Vec<&str> = members.iter().map(|m| m.server_name.as_str()).collect();
        if members.is_empty() && *how != PlacementChoice::Beside {
            let opt = if *how == PlacementChoice::Spread {
                "--spread"
            } else {
                "--target"
            };
            return Err(Error::usage(format!(
                "{opt}: the server is not a cluster: its clones have nowhere else to go"
            )));
        }
        let mut deals = Vec::with_capacity(templates.len());
        for t in templates {
            let deal = match how {
                _ if members.is_empty() => Vec::new(),
                PlacementChoice::Beside => t.member.map(str::to_string).into_iter().collect(),
                PlacementChoice::Target(m) => {
                    if !names.contains(&m.as_str()) {
                        return Err(Error::usage(format!(
                            "--target {m}: no such cluster member (members: {})",
                            names.join(", ")
                        )));
                    }
                    if !t.pool.on_member(m) {
                        return Err(Error::usage(format!(
                            "--target {m}: member {m} has no pool {} for the clones of {}",
                            t.pool.name, t.name
                        )));
                    }
                    vec![m.clone()]
                }
                PlacementChoice::Spread => spread_over(t, &names, &offline, quiet)?,
            };
            deals.push(deal);
        }
        Ok(Placement {
            next: vec![0; deals.len()],
            deals,
            offline,
        })
    }

    /// The member of the next clone of template `ti` (`None`: no cluster).
    pub fn next(&mut self, ti: usize) -> Option<String> {
        let deal = &self.deals[ti];
        if deal.is_empty() {
            return None;
        }
        let m = deal[self.next[ti] % deal.len()].clone();
        self.next[ti] += 1;
        Some(m)
    }
}

/// The members a spread deals over: online, with the pool; the template's first.
fn spread_over(
    t: &Of,
    names: &[&str],
    offline: &BTreeMap<String, String>,
    quiet: bool,
) -> Result<Vec<String>> {
    let mut deal: Vec<String> = names
        .iter()
        .filter(|m| t.pool.on_member(m) && !offline.contains_key(**m))
        .map(|m| m.to_string())
        .collect();
    if let Some(i) = t.member.and_then(|m| deal.iter().position(|d| d == m)) {
        deal.rotate_left(i);
    }
    for (m, why) in offline {
        if t.pool.on_member(m) {
            notice(
                quiet,
                format!(
                    "--spread: member {m} is {why}: no clone of {} goes there",
                    t.name
                ),
            );
        }
    }
    if deal.is_empty() {
        return Err(Error::failed(format!(
            "--spread: no member that is online has pool {} for the clones of {}",
            t.pool.name, t.name
        )));
    }
    Ok(deal)
}

/// Is a clone on `member` of a template on `template_member` a copy across
/// members on storage of each member's own — a full copy over the network?
pub fn crosses(template_member: Option<&str>, member: Option<&str>, pool: &StoragePool) -> bool {
    match (template_member, member) {
        (Some(t), Some(m)) => t != m && !pool.is_shared(),
        _ => false,
    }
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

/// Says once per template and member when its clones there are full copies
/// over the network (another member, storage of each member's own).
pub fn say_full_copies(templates: &[Template], jobs: &[Job], seeds: bool, quiet: bool) {
    let mut count: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for j in jobs.iter().filter(|j| j.existing.is_none()) {
        let tpl = &templates[j.template];
        if let Some(m) = j.location.as_deref() {
            if crosses(tpl.location.as_deref(), Some(m), &tpl.pool) {
                *count.entry((j.template, m)).or_default() += 1;
            }
        }
    }
    for ((ti, m), n) in count {
        let tpl = &templates[ti];
        let why = format!(
            "pool {} ({}) is each member's own and {} is on member {}",
            tpl.pool.name,
            tpl.pool.driver,
            tpl.target.name,
            tpl.location.as_deref().unwrap_or_default()
        );
        let msg = if seeds && n > 1 {
            format!(
                "clones of {} on member {m}: the first is a full copy over the network, not \
                 CoW ({why}); {}",
                tpl.target.name,
                match n - 1 {
                    1 => "the other one is a CoW copy of it".to_string(),
                    k => format!("the other {k} are CoW copies of it"),
                }
            )
        } else {
            format!(
                "clones of {} on member {m} are full copies over the network, not CoW ({why})",
                tpl.target.name
            )
        };
        notice(quiet, msg);
    }
}

#[cfg(test)]
mod tests;
