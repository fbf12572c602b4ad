//! `golden-ls`: list goldens — instances with a `pristine` snapshot — with what a
//! user needs to decide: when pristine was made, whether clones share blocks, how
//! many clones exist and how many are stale.
//!
//! The whole listing takes a fixed number of calls to the daemon, whatever the
//! number of projects and instances: the instances (`recursion=1`, no live state),
//! the storage pools, and one volume listing per pool (which holds every instance
//! snapshot as `instance/snapshot` with its creation time), and the cluster's
//! members (to name one that is offline; a standalone server answers at once
//! that it is not clustered). These run in parallel.

use std::collections::{BTreeMap, BTreeSet};

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::incus::{ClusterMember, Incus, Instance, Scope, StoragePool, StorageVolume};
use golden::model::{current_pristine, pool_shares_blocks, Provenance};
use golden::name::{check_instance_name, check_project_name, split_remote};
use golden::output::{OutputArgs, Printer};
use golden::{Error, Result, Status};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "golden-ls",
    version,
    about = "List golden instances: Incus instances with a pristine snapshot",
    long_about = "List golden instances: Incus instances that have a snapshot named \
        pristine. Without -p, every project is listed. Each golden is shown with when \
        its pristine was made, its storage pool and whether deriving from it shares \
        blocks (cow), how many instances were derived from it and how many of those \
        came from an older pristine (stale). In a cluster, location names its member, \
        clones are counted on every member, and a member that is offline is named in a \
        notice (its instances are listed without their config: clones there are not \
        counted) while the rest is listed.\n\n\
        Output is a table on a terminal and TSV with a header in a pipe, so it feeds \
        golden-create, golden-derive and golden-publish directly."
)]
pub struct Args {
    /// Only these goldens ([REMOTE:]NAME); `REMOTE:` alone lists that remote
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Only this Incus project (default: all projects)
    #[arg(short, long, value_name = "PROJECT")]
    pub project: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One golden, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenRow {
    pub project: String,
    pub instance: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    /// The snapshot standing for pristine (`pristine`, or a leftover of an interrupted swap).
    pub snapshot: String,
    pub created_at: String,
    pub pool: String,
    pub driver: String,
    pub cow: bool,
    /// Custom volumes attached to the golden.
    pub volumes: usize,
    pub derived: usize,
    pub stale: usize,
    pub location: Option<String>,
}

/// Shared with golden-derive, which tells a golden-ls header given as its arguments.
pub const COLUMNS: &[&str] = golden::model::GOLDEN_LS_COLUMNS;

pub fn command() -> clap::Command {
    Args::command()
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    // Everything the user typed is checked before the daemon is asked anything.
    let mut printer = Printer::stdout(&args.output, COLUMNS)?;
    if let Some(p) = &args.project {
        check_project_name(p)?;
    }
    let (remote, wanted) = parse_names(&args.names)?;
    let incus = Incus::new(remote);
    let scope = Scope::from_option(args.project.as_deref());

    // Incus lists nothing (or fails oddly) for an unknown project: ask only then.
    let listing = fetch(&incus, &scope);
    if let Some(p) = &args.project {
        let none_there = listing
            .as_ref()
            .map_or(true, |l| l.instances.iter().all(|i| &i.project != p));
        if none_there && !incus.project_exists(p)? {
            return Err(Error::usage(format!("project not found: {p}")));
        }
    }
    let listing = listing?;
    for m in listing.members.iter().filter(|m| !m.is_online()) {
        say_offline(m, &listing.instances);
    }
    let rows: Vec<GoldenRow> = goldens(&listing)
        .into_iter()
        .filter(|r| args.project.as_ref().is_none_or(|p| &r.project == p))
        .collect();

    let mut status = Status::Done;
    for name in &wanted {
        if !rows.iter().any(|r| &r.instance == name) {
            let exists = listing.instances.iter().any(|i| &i.name == name);
            let why = if exists {
                format!("{name}: not a golden (no pristine snapshot); make it one with `golden-create {name}`")
            } else {
                format!(
                    "{name}: no such instance{}",
                    in_project(args.project.as_deref())
                )
            };
            golden::cli::report(&Error::failed(why));
            status = Status::Partial;
        }
    }
    for row in rows
        .iter()
        .filter(|r| wanted.is_empty() || wanted.contains(&r.instance))
    {
        printer.print(row)?;
    }
    printer.finish()?;
    Ok(status)
}

/// A cluster member that is not online: its instances come from the cluster's
/// database alone (status Error, no config), so what they say is not known.
fn say_offline(m: &ClusterMember, instances: &[Instance]) {
    let on_it = instances
        .iter()
        .filter(|i| i.member() == Some(m.server_name.as_str()))
        .count();
    let why = match m.message.as_str() {
        "" => String::new(),
        msg => format!(" ({msg})"),
    };
    golden::cli::notice(
        false,
        format!(
            "cluster member {} is {}{why}: its {on_it} instances are listed without their \
             config or pool, and clones on it are not counted in derived and stale",
            m.server_name,
            m.status.to_lowercase()
        ),
    );
}

fn in_project(p: Option<&str>) -> String {
    p.map(|p| format!(" in project {p}")).unwrap_or_default()
}

/// Splits the NAME arguments into one remote and the instance names wanted.
fn parse_names(names: &[String]) -> Result<(Option<String>, BTreeSet<String>)> {
    let mut remotes = BTreeSet::new();
    let mut wanted = BTreeSet::new();
    for n in names {
        let (remote, name) = split_remote(n)?;
        remotes.insert(remote);
        if !name.is_empty() {
            check_instance_name(name)?;
            wanted.insert(name.to_string());
        } else if !n.ends_with(':') {
            check_instance_name(name)?;
        }
    }
    if remotes.len() > 1 {
        return Err(Error::usage("names from more than one remote in one call"));
    }
    Ok((remotes.into_iter().next().flatten(), wanted))
}

/// What the daemon tells us, in a fixed number of calls.
#[derive(Debug, Default)]
pub struct Listing {
    pub instances: Vec<Instance>,
    pub pools: Vec<StoragePool>,
    /// Instance volumes (and their snapshots) of each pool.
    pub volumes: BTreeMap<String, Vec<StorageVolume>>,
    /// The cluster's members (none outside a cluster).
    pub members: Vec<ClusterMember>,
}

/// Asks for the instances and, at the same time, the pools and their volumes.
///
/// Clones are counted wherever they are: with one project asked for, the
/// instances of every project are listed (one call all the same), unless this
/// client may not list them, and then those of the project alone.
pub fn fetch(incus: &Incus, scope: &Scope) -> Result<Listing> {
    std::thread::scope(|s| {
        let instances = s.spawn(|| match scope {
            Scope::All => incus.instances(scope),
            Scope::Project(_) => incus
                .instances(&Scope::All)
                .or_else(|_| incus.instances(scope)),
        });
        let members = s.spawn(|| incus.cluster_members());
        let mut instances = Some(instances);
        let mut listed = None;
        let pools = match incus.pools() {
            Ok(p) => p,
            // A certificate restricted to some projects may not list the pools,
            // only read those its instances use: find them from the instances.
            Err(e) if e.to_string().contains("restricted") => {
                let all = instances
                    .take()
                    .expect("not joined yet")
                    .join()
                    .expect("instance listing thread")?;
                let names: BTreeSet<&str> = all
                    .iter()
                    .flat_map(|i| {
                        let vols: Vec<&str> = i.custom_volumes().iter().map(|v| v.1).collect();
                        i.root_pool().into_iter().chain(vols)
                    })
                    .collect();
                let pools = names
                    .iter()
                    .map(|n| incus.pool(n))
                    .collect::<Result<Vec<_>>>()?;
                listed = Some(all);
                pools
            }
            Err(e) => return Err(e),
        };
        let volume_calls: Vec<_> = pools
            .iter()
            .map(|p| {
                let name = p.name.clone();
                (
                    p.name.clone(),
                    s.spawn(move || incus.instance_volumes(&name, scope)),
                )
            })
            .collect();
        let mut volumes = BTreeMap::new();
        for (pool, call) in volume_calls {
            volumes.insert(pool, call.join().expect("volume listing thread")?);
        }
        let instances = match (listed, instances) {
            (Some(all), _) => all,
            (None, Some(call)) => call.join().expect("instance listing thread")?,
            (None, None) => unreachable!("the instances are joined once"),
        };
        // Who is offline is a notice: a listing that cannot tell still lists.
        let members = members
            .join()
            .expect("member listing thread")
            .unwrap_or_default();
        Ok(Listing {
            instances,
            pools,
            volumes,
            members,
        })
    })
}

/// A snapshot as the pool listing gives it: name, created_at, no expiry.
type SnapshotRow<'a> = (&'a str, &'a str, Option<&'a str>);

/// The goldens among the instances, with their clone counts; sorted by project and name.
pub fn goldens(listing: &Listing) -> Vec<GoldenRow> {
    // (project, instance) -> its snapshots (name, created_at), from the pool listings
    // (which give no expiry: the swap's temporary snapshots are told by name).
    let mut snapshots: BTreeMap<(&str, &str), Vec<SnapshotRow>> = BTreeMap::new();
    for vols in listing.volumes.values() {
        for v in vols {
            if let Some((inst, snap)) = v.name.split_once('/') {
                snapshots
                    .entry((v.project.as_str(), inst))
                    .or_default()
                    .push((snap, v.created_at.as_str(), None));
            }
        }
    }
    let pristine_of = |project: &str, name: &str| {
        snapshots
            .get(&(project, name))
            .and_then(|s| current_pristine(s.iter().copied()))
    };
    // A clone names its template by volatile.uuid too, which a rename keeps.
    let by_uuid: BTreeMap<&str, (&str, &str)> = listing
        .instances
        .iter()
        .filter_map(|i| {
            let u = i.config.get("volatile.uuid")?;
            Some((u.as_str(), (i.project.as_str(), i.name.as_str())))
        })
        .collect();
    // (template project, template) -> (derived, stale)
    let mut clones: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for i in &listing.instances {
        if let Some(p) = Provenance::of(&i.config) {
            let template = p
                .template_uuid
                .and_then(|u| by_uuid.get(u).copied())
                .unwrap_or((p.project, p.template));
            let current = pristine_of(template.0, template.1).map(|(_, c)| c);
            let entry = clones.entry(template).or_default();
            entry.0 += 1;
            if current.is_some_and(|c| c != p.created_at) {
                entry.1 += 1;
            }
        }
    }
    let mut rows: Vec<GoldenRow> = listing
        .instances
        .iter()
        .filter_map(|i| {
            let (snap, created) = pristine_of(&i.project, &i.name)?;
            let pool_name = i.root_pool().unwrap_or("");
            let pool = listing.pools.iter().find(|p| p.name == pool_name);
            let driver = pool.map(|p| p.driver.clone()).unwrap_or_default();
            let volumes = i.custom_volumes();
            // A golden shares blocks with its clones only if every disk it carries does.
            let cow = pool.is_some_and(|p| pool_shares_blocks(&p.driver, &p.config))
                && volumes.iter().all(|(_, vp, _)| {
                    listing
                        .pools
                        .iter()
                        .find(|p| p.name == *vp)
                        .is_some_and(|p| pool_shares_blocks(&p.driver, &p.config))
                });
            let (derived, stale) = clones
                .get(&(i.project.as_str(), i.name.as_str()))
                .copied()
                .unwrap_or_default();
            Some(GoldenRow {
                project: i.project.clone(),
                instance: i.name.clone(),
                kind: i.kind.clone(),
                status: i.status.clone(),
                snapshot: snap.to_string(),
                created_at: created.to_string(),
                pool: pool_name.to_string(),
                driver,
                cow,
                volumes: volumes.len(),
                derived,
                stale,
                location: i.member().map(str::to_string),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.project, &a.instance).cmp(&(&b.project, &b.instance)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(project: &str, name: &str, pool: &str, config: serde_json::Value) -> Instance {
        serde_json::from_value(json!({
            "name": name, "project": project, "type": "container", "status": "Stopped",
            "location": "none", "config": config,
            "expanded_devices": {"root": {"type": "disk", "path": "/", "pool": pool}}
        }))
        .unwrap()
    }

    fn vol(project: &str, name: &str, created: &str) -> StorageVolume {
        serde_json::from_value(
            json!({"name": name, "project": project, "type": "container", "created_at": created}),
        )
        .unwrap()
    }

    fn pool(name: &str, driver: &str) -> StoragePool {
        serde_json::from_value(json!({"name": name, "driver": driver})).unwrap()
    }

    fn prov(project: &str, template: &str, created: &str) -> serde_json::Value {
        json!({"user.golden.project": project, "user.golden.template": template, "user.golden.created_at": created})
    }

    fn listing() -> Listing {
        Listing {
            instances: vec![
                instance("pro", "pro-dev", "fast", json!({})),
                instance("pro", "pro-alice", "fast", prov("pro", "pro-dev", "T1")),
                instance("pro", "pro-bob", "fast", prov("pro", "pro-dev", "T2")),
                instance("lab", "lab-reference", "slow", json!({})),
                instance("lab", "plain", "slow", json!({})),
            ],
            pools: vec![pool("fast", "btrfs"), pool("slow", "dir")],
            members: Vec::new(),
            volumes: BTreeMap::from([
                (
                    "fast".to_string(),
                    vec![
                        vol("pro", "pro-dev", "T0"),
                        vol("pro", "pro-dev/snap0", "T0"),
                        vol("pro", "pro-dev/pristine", "T2"),
                        vol("pro", "pro-alice", "T3"),
                    ],
                ),
                (
                    "slow".to_string(),
                    vec![
                        vol("lab", "lab-reference/pristine.golden-next", "T5"),
                        vol("lab", "lab-reference/pristine.golden-old", "T4"),
                        vol("lab", "plain/snap0", "T1"),
                    ],
                ),
            ]),
        }
    }

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rows = goldens(&listing());
        assert_eq!(golden::output::fields_of(&rows[0]), COLUMNS);
    }

    #[test]
    fn only_instances_with_pristine_are_goldens_sorted_by_project() {
        let rows = goldens(&listing());
        let names: Vec<_> = rows
            .iter()
            .map(|r| (r.project.as_str(), r.instance.as_str()))
            .collect();
        assert_eq!(names, [("lab", "lab-reference"), ("pro", "pro-dev")]);
    }

    #[test]
    fn derived_and_stale_count_clones_by_their_pristine() {
        let rows = goldens(&listing());
        let dev = rows.iter().find(|r| r.instance == "pro-dev").unwrap();
        assert_eq!((dev.derived, dev.stale), (2, 1));
        assert_eq!(dev.created_at, "T2");
        assert_eq!(dev.snapshot, "pristine");
        assert!(dev.cow);
        assert_eq!(dev.driver, "btrfs");
    }

    #[test]
    fn a_renamed_template_keeps_its_clones_by_uuid() {
        let mut l = listing();
        // pro-dev was renamed pro-base; its clones still name pro-dev, and its uuid.
        let dev = l
            .instances
            .iter_mut()
            .find(|i| i.name == "pro-dev")
            .unwrap();
        dev.name = "pro-base".into();
        dev.config.insert("volatile.uuid".into(), "U1".into());
        for v in l.volumes.get_mut("fast").unwrap() {
            v.name = v.name.replace("pro-dev", "pro-base");
        }
        for c in l.instances.iter_mut().filter(|i| i.name != "pro-base") {
            if c.config.contains_key("user.golden.template") {
                c.config
                    .insert("user.golden.template_uuid".into(), "U1".into());
            }
        }
        let rows = goldens(&l);
        let base = rows.iter().find(|r| r.instance == "pro-base").unwrap();
        assert_eq!((base.derived, base.stale), (2, 1));
    }

    #[test]
    fn interrupted_swap_still_lists_the_golden_with_its_newest_snapshot() {
        let rows = goldens(&listing());
        let lab = rows.iter().find(|r| r.instance == "lab-reference").unwrap();
        assert_eq!(
            (lab.snapshot.as_str(), lab.created_at.as_str()),
            ("pristine.golden-next", "T5")
        );
        assert!(!lab.cow);
        assert_eq!(lab.location, None);
    }

    #[test]
    fn a_virtual_machine_golden_is_listed_like_a_container() {
        // VMs cannot run on the test machines: their API answers are covered here.
        let mut l = listing();
        let mut vm = instance("pro", "vm-tpl", "fast", json!({}));
        vm.kind = "virtual-machine".into();
        l.instances.push(vm);
        let mut snap = vol("pro", "vm-tpl/pristine", "T9");
        snap.kind = "virtual-machine".into();
        l.volumes.get_mut("fast").unwrap().push(snap);
        let rows = goldens(&l);
        let row = rows.iter().find(|r| r.instance == "vm-tpl").unwrap();
        assert_eq!(
            (row.kind.as_str(), row.created_at.as_str(), row.cow),
            ("virtual-machine", "T9", true)
        );
    }

    #[test]
    fn custom_volumes_are_counted_and_a_dir_volume_makes_cow_false() {
        let mut l = listing();
        let mut i = instance("pro", "with-data", "fast", json!({}));
        i.expanded_devices.insert(
            "data".into(),
            BTreeMap::from([
                ("type".to_string(), "disk".to_string()),
                ("path".to_string(), "/data".to_string()),
                ("pool".to_string(), "slow".to_string()),
                ("source".to_string(), "vol".to_string()),
            ]),
        );
        l.instances.push(i);
        l.volumes
            .get_mut("fast")
            .unwrap()
            .push(vol("pro", "with-data/pristine", "T7"));
        let rows = goldens(&l);
        let row = rows.iter().find(|r| r.instance == "with-data").unwrap();
        assert_eq!(row.volumes, 1);
        assert!(!row.cow, "root on btrfs, but its volume is on dir");
    }

    #[test]
    fn names_split_into_one_remote_and_checked_names() {
        let (r, w) = parse_names(&["lo:".into(), "lo:pro-dev".into()]).unwrap();
        assert_eq!(r.as_deref(), Some("lo"));
        assert_eq!(w.into_iter().collect::<Vec<_>>(), ["pro-dev"]);
        assert!(parse_names(&["a:x".into(), "b:y".into()]).is_err());
        assert_eq!(
            parse_names(&["bad/name".into()]).unwrap_err().exit_code(),
            2
        );
        assert_eq!(parse_names(&["".into()]).unwrap_err().exit_code(), 2);
    }
}
