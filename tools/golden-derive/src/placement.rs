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

use std::collections::BTreeMap;

use golden::cli::notice;
use golden::incus::{ClusterMember, StoragePool};
use golden::{Error, Result};

use crate::offline::offline;
use crate::options::PlacementChoice;

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

impl Placement {
    pub fn new(
        how: &PlacementChoice,
        members: &[ClusterMember],
        templates: &[Of],
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
                PlacementChoice::Spread => spread_over(t, &names, &offline)?,
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
fn spread_over(t: &Of, names: &[&str], offline: &BTreeMap<String, String>) -> Result<Vec<String>> {
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
            notice(format!(
                "--spread: member {m} is {why}: no clone of {} goes there",
                t.name
            ));
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

#[cfg(test)]
mod tests;
