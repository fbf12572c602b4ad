//! Which instances a run is about: names from arguments or stdin records,
//! checked, then located in their Incus project.

use std::collections::{BTreeMap, BTreeSet};

use crate::cli::Input;
use crate::error::{Error, Result};
use crate::incus::{Incus, Scope};
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

/// An instance located in its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub remote: Option<String>,
    pub project: String,
    pub name: String,
    pub record: Record,
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
}

impl Target {
    /// A failure about this instance, with the cluster member it is on named
    /// when that member is offline (the daemon's own words never name it:
    /// "Server isn't ready yet", "Missing event connection with target cluster
    /// member").
    pub fn on_offline_member(&self, e: Error) -> Error {
        if matches!(e, Error::Usage(_) | Error::Interrupted(_)) {
            return e;
        }
        match self.incus().offline_member_of(&self.project, &self.name) {
            Some((m, why)) => Error::Failed(format!(
                "{} is on cluster member {m}, which is {why}: {e}",
                self.name
            )),
            None => e,
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

/// Finds each wanted instance's project, in one listing call per remote.
/// A name missing, or found in more than one project when none was given, is a
/// usage error: nothing is done for any of them.
pub fn locate(wanted: Vec<Wanted>) -> Result<Vec<Target>> {
    let remotes: BTreeSet<Option<String>> =
        wanted.iter().map(|w| w.instance.remote.clone()).collect();
    let mut where_is: BTreeMap<(Option<String>, String), Vec<String>> = BTreeMap::new();
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
        let urls = match incus.instance_urls(&scope) {
            Ok(u) => u,
            Err(e) => {
                if let Scope::Project(p) = &scope {
                    if !incus.project_exists(p)? {
                        return Err(Error::usage(format!("project not found: {p}")));
                    }
                }
                return Err(e);
            }
        };
        for u in urls {
            where_is
                .entry((remote.clone(), u.name))
                .or_default()
                .push(u.project);
        }
    }
    wanted
        .into_iter()
        .map(|w| {
            let key = (w.instance.remote.clone(), w.instance.name.clone());
            let found = where_is.get(&key).cloned().unwrap_or_default();
            let project = match (&w.project, found.as_slice()) {
                (Some(p), f) if f.contains(p) => p.clone(),
                (Some(p), _) => {
                    // Incus lists nothing for an unknown project: say which it is.
                    if !Incus::new(w.instance.remote.clone()).project_exists(p)? {
                        return Err(Error::usage(format!("project not found: {p}")));
                    }
                    return Err(Error::usage(format!(
                        "no instance {} in project {p} (check with `incus list --all-projects`)",
                        w.instance
                    )));
                }
                (None, [one]) => one.clone(),
                (None, []) => {
                    return Err(Error::usage(format!(
                        "no instance {} in any project (check with `incus list --all-projects`)",
                        w.instance
                    )))
                }
                (None, many) => {
                    return Err(Error::usage(format!(
                        "instance {} exists in projects {}: choose one with --project",
                        w.instance,
                        many.join(", ")
                    )))
                }
            };
            Ok(Target {
                remote: w.instance.remote,
                project,
                name: w.instance.name,
                record: w.record,
            })
        })
        .collect()
}
