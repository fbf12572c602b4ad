//! The listing: every container of the scope read, so that a shared identity
//! is found whichever instance holds the other copy; the NAMEd ones (or all)
//! printed.

use std::collections::BTreeSet;

use golden::identity::{seen, shared, InInstance, Seen};
use golden::incus::{Incus, Scope};
use golden::output::{col, Column, Printer};
use golden::target::from_names_or_stdin;
use golden::{Error, Result, Status};
use serde::Serialize;

use crate::Args;

/// One container's identity.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub project: String,
    pub instance: String,
    pub status: String,
    /// `-` when it holds none (empty, `uninitialized`, absent).
    pub machine_id: String,
    /// SHA256 fingerprints, comma-separated; `-` for none.
    pub host_keys: String,
    /// The other instances (PROJECT/NAME) holding its machine-id or one of
    /// its host keys; `-` for none.
    pub shares: String,
}

/// The columns, in order. On a narrow terminal the table keeps which
/// instance and which others share its identity (the answer it is asked
/// for: never left out); the host keys (a list of long fingerprints) go
/// first, then status, then the machine-id.
pub const COLUMNS: &[Column] = &[
    col("project", 1),
    col("instance", 0),
    col("status", 3),
    col("machine_id", 2),
    col("host_keys", 3),
    col("shares", 0),
];

pub fn run(args: &Args, mut printer: Printer<std::io::Stdout>) -> Result<Status> {
    // The NAMEd ones, located; none: all.
    let named: Option<Vec<(Option<String>, String, String)>> = if args.names.is_empty() {
        None
    } else {
        let targets = from_names_or_stdin(&args.names, args.project.as_deref(), "instance")?;
        Some(
            targets
                .into_iter()
                .map(|t| (t.remote, t.project, t.name))
                .collect(),
        )
    };
    let remotes: BTreeSet<Option<String>> =
        named.iter().flatten().map(|(r, _, _)| r.clone()).collect();
    if remotes.len() > 1 {
        return Err(Error::usage(
            "instances of more than one remote: list one remote at a time",
        ));
    }
    let incus = Incus::new(remotes.into_iter().next().flatten());
    let scope = Scope::from_option(args.project.as_deref());
    let all: Vec<_> = incus
        .instances(&scope)?
        .into_iter()
        .filter(|i| i.kind == "container")
        .collect();
    let seen_all = read_all(&incus, &all)?;
    let shares = shared(&seen_all);
    let dash = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(",")
        }
    };
    for (k, i) in all.iter().enumerate() {
        let wanted = named.as_ref().is_none_or(|n| {
            n.iter()
                .any(|(_, p, name)| *p == i.project && *name == i.name)
        });
        if !wanted || (args.shared && shares[k].is_empty()) {
            continue;
        }
        let others = shares[k]
            .iter()
            .map(|&j| format!("{}/{}", all[j].project, all[j].name))
            .collect();
        printer.print(&Identity {
            project: i.project.clone(),
            instance: i.name.clone(),
            status: i.status.clone(),
            machine_id: seen_all[k].machine_id.clone().unwrap_or_else(|| "-".into()),
            host_keys: dash(seen_all[k].host_keys.clone()),
            shares: dash(others),
        })?;
    }
    printer.finish()?;
    Ok(Status::Done)
}

/// Every container's identity, four at a time: each is a few files-API
/// requests the daemon serves in parallel.
fn read_all(incus: &Incus, all: &[golden::incus::Instance]) -> Result<Vec<Seen>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Seen>>>> =
        all.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..golden::batch::workers(all.len(), 4) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(i) = all.get(k) else { break };
                let files = InInstance {
                    incus,
                    project: &i.project,
                    name: &i.name,
                };
                let read = seen(&files)
                    .map_err(|e| e.context(format!("reading {}'s identity files", i.name)));
                *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every container read")
        })
        .collect()
}
