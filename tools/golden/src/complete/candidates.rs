//! The value completers the tools attach to their arguments
//! (`#[arg(add = golden::complete::goldens())]`): what each lists, asked of
//! the daemon through the client's typed methods, within the budget.
//!
//! A name completes from the remote it names (`lab:we<TAB>`), else from the
//! default remote, with the remotes themselves offered as `REMOTE:`, as
//! `incus` completes instance names; in `--project`'s project if given, else
//! in every project. The other values (projects, pools, members, aliases)
//! come from the remote of the names already given, else the default one.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use super::context::{self, Context};
use super::{remaining, within_budget};
use crate::error::Result;
use crate::incus::{Incus, Kind, Scope};
use crate::model::{current_pristine, Provenance};
use crate::name::check_remote_name;

/// Which instances a name argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// Any instance (golden-create makes goldens of them).
    Instances,
    /// Containers (golden-identity reads and renews theirs).
    Containers,
    /// Instances with a pristine.
    Goldens,
    /// Instances derived from a golden (golden-refresh).
    Clones,
}

/// Instance names, for golden-create.
pub fn instances() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| names(cur, Names::Instances))
}

/// Container names, for golden-identity.
pub fn containers() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| names(cur, Names::Containers))
}

/// Golden names: instances that have a pristine.
pub fn goldens() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| names(cur, Names::Goldens))
}

/// Clone names: instances derived from a golden.
pub fn clones() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| names(cur, Names::Clones))
}

/// Project names.
pub fn projects() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| {
        values(cur, |incus, _| {
            Ok(incus
                .project_names()?
                .into_iter()
                .map(|p| (p, None))
                .collect())
        })
    })
}

/// Storage pool names (their driver as the description).
pub fn pools() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| {
        values(cur, |incus, _| {
            Ok(incus
                .pools()?
                .into_iter()
                .map(|p| (p.name, Some(p.driver)))
                .collect())
        })
    })
}

/// Cluster member names (their state as the description).
pub fn members() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| {
        values(cur, |incus, _| {
            Ok(incus
                .cluster_members()?
                .into_iter()
                .map(|m| {
                    let state = m.describe();
                    (m.server_name, Some(state))
                })
                .collect())
        })
    })
}

/// Image aliases of the project the image will be in: `--project`'s, else
/// that of the first name given (when one project holds it), else `default`.
pub fn aliases() -> ArgValueCompleter {
    ArgValueCompleter::new(|cur: &OsStr| {
        values(cur, |incus, ctx| {
            let project = match &ctx.project {
                Some(p) => p.clone(),
                None => project_of_first_name(incus, ctx)?.unwrap_or_else(|| "default".into()),
            };
            Ok(incus
                .image_aliases(&project)?
                .into_iter()
                .map(|a| {
                    let short: String = a.target.chars().take(12).collect();
                    (a.name, Some(short))
                })
                .collect())
        })
    })
}

/// A value and its description.
type Found = Vec<(String, Option<String>)>;

/// The candidates `list` finds on the remote of the names given, those that
/// begin with `current`.
fn values(
    current: &OsStr,
    list: impl FnOnce(&Incus, &Context) -> Result<Found> + Send + 'static,
) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let ctx = context::read();
    let found = within_budget(move || {
        let incus = Incus::brief(ctx.remote.clone(), remaining());
        list(&incus, &ctx).unwrap_or_default()
    });
    found
        .into_iter()
        .filter(|(v, _)| v.starts_with(current))
        .map(|(v, help)| CompletionCandidate::new(v).help(help.map(Into::into)))
        .collect()
}

/// Names of the kind wanted that begin with `current` (`REMOTE:` and all),
/// and the remotes that do when it names none.
fn names(current: &OsStr, which: Names) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let (remote, prefix) = match current.split_once(':') {
        Some((r, _)) if check_remote_name(r).is_err() => return Vec::new(),
        Some((r, rest)) => (Some(r.to_string()), rest.to_string()),
        None => (None, current.to_string()),
    };
    let project = context::read().project;
    let asked = remote.clone();
    let found = within_budget(move || {
        let incus = Incus::brief(asked, remaining());
        let listed = list_names(&incus, project.as_deref(), which).unwrap_or_default();
        listed.into_iter().collect::<Vec<_>>()
    });
    let mut out: Vec<CompletionCandidate> = found
        .into_iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, projects)| {
            let value = match &remote {
                Some(r) => format!("{r}:{name}"),
                None => name,
            };
            let help = match projects.len() {
                1 => format!("project {}", projects[0]),
                _ => format!("projects {}", projects.join(", ")),
            };
            CompletionCandidate::new(value).help(Some(help.into()))
        })
        .collect();
    if remote.is_none() {
        out.extend(
            Incus::remotes()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.starts_with(current))
                .map(|r| CompletionCandidate::new(format!("{r}:")).help(Some("remote".into()))),
        );
    }
    out
}

/// Each name of the kind wanted, with the projects holding one of that name.
fn list_names(
    incus: &Incus,
    project: Option<&str>,
    which: Names,
) -> Result<BTreeMap<String, Vec<String>>> {
    let scope = Scope::from_option(project);
    let pairs: Vec<(String, String)> = match which {
        Names::Instances => incus
            .instance_urls(&scope)?
            .into_iter()
            .map(|u| (u.name, u.project))
            .collect(),
        Names::Containers => incus
            .instances(&scope)?
            .into_iter()
            .filter(|i| i.kind == "container")
            .map(|i| (i.name, i.project))
            .collect(),
        Names::Clones => incus
            .instances(&scope)?
            .into_iter()
            .filter(|i| Provenance::of(&i.config).is_some())
            .map(|i| (i.name, i.project))
            .collect(),
        Names::Goldens => golden_names(incus, &scope)?,
    };
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, project) in pairs {
        let projects = by_name.entry(name).or_default();
        if !projects.contains(&project) {
            projects.push(project);
        }
    }
    Ok(by_name)
}

/// (name, project) of every golden in `scope`: as golden-ls finds them, from
/// each pool's instance volumes (one call a pool, in parallel), which list
/// every snapshot with its instance.
fn golden_names(incus: &Incus, scope: &Scope) -> Result<Vec<(String, String)>> {
    let pools: BTreeSet<String> = match incus.pools() {
        Ok(p) => p.into_iter().map(|p| p.name).collect(),
        // A client restricted to some projects may not list the pools: those
        // its instances use.
        Err(e) if Kind::of(&e) == Kind::Forbidden => incus
            .instances(scope)?
            .iter()
            .filter_map(|i| i.root_pool().map(str::to_string))
            .collect(),
        Err(e) => return Err(e),
    };
    let listed = std::thread::scope(|s| {
        let calls: Vec<_> = pools
            .iter()
            .map(|p| s.spawn(move || incus.instance_volumes(p, scope)))
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("volume listing thread"))
            .collect::<Result<Vec<_>>>()
    })?;
    // (project, instance) -> its snapshots (name, created_at)
    let mut snapshots: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for v in listed.into_iter().flatten() {
        if let Some((instance, snap)) = v.name.split_once('/') {
            snapshots
                .entry((v.project.clone(), instance.to_string()))
                .or_default()
                .push((snap.to_string(), v.created_at.clone()));
        }
    }
    Ok(snapshots
        .into_iter()
        .filter(|(_, snaps)| {
            current_pristine(snaps.iter().map(|(n, c)| (n.as_str(), c.as_str(), None))).is_some()
        })
        .map(|((project, name), _)| (name, project))
        .collect())
}

/// The project of the first name given, when one project holds it.
fn project_of_first_name(incus: &Incus, ctx: &Context) -> Result<Option<String>> {
    let Some(first) = ctx.names.first() else {
        return Ok(None);
    };
    let name = first.split_once(':').map_or(first.as_str(), |(_, n)| n);
    let holders: Vec<String> = incus
        .instance_urls(&Scope::All)?
        .into_iter()
        .filter(|u| u.name == name)
        .map(|u| u.project)
        .collect();
    Ok(match &holders[..] {
        [one] => Some(one.clone()),
        _ => None,
    })
}
