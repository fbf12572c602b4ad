//! Which instances a run is about: names from arguments or stdin records,
//! checked, then located in their Incus project and on their cluster member.

use std::collections::{BTreeMap, BTreeSet};

use crate::cli::Input;
use crate::error::{Error, Result};
use crate::incus::{ClusterMember, Incus, Kind, Scope};
use crate::name::{check_project_name, InstanceRef};
use crate::record::{Origin, Record};

/// An instance the user asked for, before we know its project for sure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub instance: InstanceRef,
    /// From `-p` or the record's `project` field.
    pub project: Option<String>,
    /// The whole input record (empty for an argument), for name templates.
    pub record: Record,
}

/// An instance located in its project, and on its cluster member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub remote: Option<String>,
    pub project: String,
    pub name: String,
    pub record: Record,
    /// The cluster member it is on, as the cluster saw it when located;
    /// `None` outside a cluster (or for an instance found otherwise than by
    /// [`locate`], whose member nobody asked about).
    pub member: Option<Member>,
}

/// A cluster member, as [`locate`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub online: bool,
    /// What the cluster says of it, for messages: `online`, `offline: No
    /// heartbeat for 12s`, `evacuated`...
    pub state: String,
}

impl Target {
    pub fn incus(&self) -> Incus {
        Incus::new(self.remote.clone())
    }

    /// The snapshot standing for its pristine and when it was made; without
    /// one, the error says how to make it.
    pub fn pristine(&self) -> Result<(String, String)> {
        let snaps = self.incus().snapshots(&self.project, &self.name)?;
        crate::swap::pristine_of(&snaps)
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .ok_or_else(|| {
                Error::usage(format!(
                    "{} has no pristine snapshot: run `golden-create {}` first",
                    self.name, self.name
                ))
            })
    }

    /// Generation `n` of this golden: the snapshot `pristine.gN` golden-create
    /// kept, or its pristine when that is generation `n`; its name and
    /// created_at.
    pub fn generation(&self, n: u64) -> Result<(String, String)> {
        let incus = self.incus();
        let snaps = incus.snapshots(&self.project, &self.name)?;
        let kept = crate::model::generation_snapshot(n);
        if let Some(s) = snaps.iter().find(|s| s.name == kept) {
            return Ok((s.name.clone(), s.created_at.clone()));
        }
        let (snapshot, created_at) = self.pristine()?;
        let current = crate::generations::number_in(
            &incus
                .instance_snapshot(&self.project, &self.name, &snapshot)?
                .config,
        );
        if current == n {
            return Ok((snapshot, created_at));
        }
        let all = crate::generations::list(
            snaps
                .iter()
                .map(|s| (s.name.as_str(), s.created_at.as_str())),
            current,
        );
        let numbers: Vec<String> = all.iter().map(|g| g.number.to_string()).collect();
        Err(Error::failed(format!(
            "{}: no generation {n} (kept: {})",
            self.name,
            numbers.join(", ")
        )))
    }

    /// What a reader copies: generation `n` if one is named, else the pristine.
    pub fn source(&self, generation: Option<u64>) -> Result<(String, String)> {
        match generation {
            Some(n) => self.generation(n),
            None => self.pristine(),
        }
    }

    /// Its member, when that member is not online (offline, evacuated,
    /// blocked...): the daemon answers "Server isn't ready yet" or "Missing
    /// event connection with target cluster member" for anything asked of
    /// the instance, words that never name the member.
    pub fn offline_member(&self) -> Option<&Member> {
        self.member.as_ref().filter(|m| !m.online)
    }

    /// Ok when its member can be asked about it; otherwise the failure of
    /// this instance's record alone, naming the member and its state, told
    /// before anything is asked of it (the others of a run go on).
    pub fn reachable(&self) -> Result<()> {
        match self.offline_member() {
            Some(m) => Err(Error::failed(format!(
                "{} is on cluster member {}, which is {}",
                self.name, m.name, m.state
            ))),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.remote {
            write!(f, "{r}:")?;
        }
        write!(f, "{} (project {})", self.name, self.project)
    }
}

/// Reads every name (arguments or stdin records, field `field`) and checks it.
/// A bad name anywhere is an error before anything is done.
pub fn wanted(input: Input, project: Option<&str>, field: &str) -> Result<Vec<Wanted>> {
    if let Some(p) = project {
        check_project_name(p)?;
    }
    let records: Vec<Record> = match input {
        Input::Args(names) => names
            .iter()
            .map(|n| Record::named(Origin::Argument, n))
            .collect(),
        Input::Stdin(records) => records.collect::<Result<_>>()?,
    };
    if records.is_empty() {
        return Err(Error::usage("no instance names on stdin"));
    }
    wanted_from(records, project, field)
}

/// [`wanted`] from records already read (`field` checked by the caller's
/// reading: an argument's record names its instance in `instance`).
pub fn wanted_from(
    records: Vec<Record>,
    project: Option<&str>,
    field: &str,
) -> Result<Vec<Wanted>> {
    records
        .into_iter()
        .map(|r| {
            let name = match r.origin {
                Origin::Argument => r.get("instance").unwrap_or(""),
                Origin::Stdin(_) => r.require(field)?,
            };
            let instance = InstanceRef::parse(name).map_err(|e| r.at(e))?;
            // -p wins over a record's project, as an explicit choice should.
            let project = match project {
                Some(p) => Some(p.to_string()),
                None => r.get("project").map(str::to_string),
            };
            if let Some(p) = &project {
                check_project_name(p).map_err(|e| r.at(e))?;
            }
            Ok(Wanted {
                instance,
                project,
                record: r,
            })
        })
        .collect()
}

/// [`locate`], for a tool that does one thing to each instance: one named
/// twice (the same remote, project and name) is a usage error.
/// The instances a tool is to work on: the NAMEs given, else the records
/// on stdin (`what` names them in the error when there are none), each
/// located once, in the project given or found in any.
pub fn from_names_or_stdin(
    names: &[String],
    project: Option<&str>,
    what: &str,
) -> Result<Vec<Target>> {
    locate_each_once(wanted(
        crate::cli::input(names, what)?,
        project,
        "instance",
    )?)
}

pub fn locate_each_once(wanted: Vec<Wanted>) -> Result<Vec<Target>> {
    let targets = locate(wanted)?;
    let mut seen = BTreeSet::new();
    for t in &targets {
        if !seen.insert((&t.remote, &t.project, &t.name)) {
            return Err(Error::usage(format!("{t} is named twice")));
        }
    }
    Ok(targets)
}

/// Finds each wanted instance's project and cluster member, and whether that
/// member is online, with a fixed number of calls per remote: one listing of
/// instances (`recursion=1`: each carries its `location`; the daemon answers
/// it from its database for a member that is down; dearer than names alone,
/// `recursion=0`, about 0.5 s against 0.03 s for 1000 instances, the price of
/// knowing the members in the same call), and the member list only
/// when a wanted instance is on a cluster member — a standalone server has
/// none to ask about, and the list is what says a member is offline and why
/// (an instance's own status there is just `Error`).
/// A name missing, or found in more than one project when none was given, is a
/// usage error: nothing is done for any of them.
pub fn locate(wanted: Vec<Wanted>) -> Result<Vec<Target>> {
    let remotes: BTreeSet<Option<String>> =
        wanted.iter().map(|w| w.instance.remote.clone()).collect();
    // (remote, name) -> (project, member) of each instance of that name.
    type Found = Vec<(String, Option<String>)>;
    let mut where_is: BTreeMap<(Option<String>, String), Found> = BTreeMap::new();
    for remote in remotes {
        let mine: Vec<&Wanted> = wanted
            .iter()
            .filter(|w| w.instance.remote == remote)
            .collect();
        let projects: BTreeSet<Option<&str>> = mine.iter().map(|w| w.project.as_deref()).collect();
        // One project named for all: list just it (works with per-project rights too).
        let scope = match projects.iter().next() {
            Some(Some(p)) if projects.len() == 1 => Scope::Project(p.to_string()),
            _ => Scope::All,
        };
        let incus = Incus::new(remote.clone());
        let listed = match incus.instances(&scope) {
            Ok(l) => l,
            Err(e) => {
                if let Scope::Project(p) = &scope {
                    if !incus.project_exists(p)? {
                        return Err(Error::usage(format!("project not found: {p}")));
                    }
                }
                return Err(e);
            }
        };
        for i in listed {
            let member = i.member().map(str::to_string);
            where_is
                .entry((remote.clone(), i.name))
                .or_default()
                .push((i.project, member));
        }
    }
    let found = wanted
        .into_iter()
        .map(|w| {
            let key = (w.instance.remote.clone(), w.instance.name.clone());
            let found = where_is.get(&key).cloned().unwrap_or_default();
            let at = match &w.project {
                Some(p) => match found.iter().position(|(q, _)| q == p) {
                    Some(at) => at,
                    None => {
                        // Incus lists nothing for an unknown project: say which it is.
                        if !Incus::new(w.instance.remote.clone()).project_exists(p)? {
                            return Err(Error::usage(format!("project not found: {p}")));
                        }
                        return Err(Error::usage(format!(
                            "no instance {} in project {p} (check with `incus list --all-projects`)",
                            w.instance
                        )));
                    }
                },
                None if found.len() == 1 => 0,
                None if found.is_empty() => {
                    return Err(Error::usage(format!(
                        "no instance {} in any project (check with `incus list --all-projects`)",
                        w.instance
                    )))
                }
                None => {
                    let many: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
                    return Err(Error::usage(format!(
                        "instance {} exists in projects {}: choose one with --project",
                        w.instance,
                        many.join(", ")
                    )));
                }
            };
            let (project, member) = found[at].clone();
            Ok((w, project, member))
        })
        .collect::<Result<Vec<_>>>()?;
    // The member list, once per remote that has a wanted instance on a member.
    let mut members: BTreeMap<Option<String>, BTreeMap<String, ClusterMember>> = BTreeMap::new();
    for (w, _, member) in &found {
        let remote = &w.instance.remote;
        if member.is_some() && !members.contains_key(remote) {
            let listed = match Incus::new(remote.clone()).cluster_members() {
                Ok(m) => m,
                // A client restricted to some projects may not read the
                // cluster: its members are taken for online, as before we
                // knew them (the daemon's error for the instance then stands).
                Err(e) if Kind::of(&e) == Kind::Forbidden => Vec::new(),
                Err(e) => return Err(e),
            };
            let by_name = listed
                .into_iter()
                .map(|m| (m.server_name.clone(), m))
                .collect();
            members.insert(remote.clone(), by_name);
        }
    }
    Ok(found
        .into_iter()
        .map(|(w, project, member)| {
            let member = member.map(|name| match members[&w.instance.remote].get(&name) {
                Some(m) => Member {
                    online: m.is_online(),
                    state: m.describe(),
                    name,
                },
                // Not in the member list (a client that may not read it, a
                // member removed since the listing): nothing says it is down.
                None => Member {
                    online: true,
                    state: "online".into(),
                    name,
                },
            });
            Target {
                remote: w.instance.remote,
                project,
                name: w.instance.name,
                record: w.record,
                member,
            }
        })
        .collect())
}
