//! `golden-derive`: new instances from `TEMPLATE/pristine`, one or many at once.
//!
//! Everything is checked before the first copy (names, the template, its
//! pristine, static addresses, attached volumes); then the copies run in
//! parallel through the daemon's own copy operation, CoW where the pool allows.

mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use golden::cli::{self, notice, Input};
use golden::incus::{enc, Incus, Scope};
use golden::model::{current_pristine, Provenance};
use golden::name::InstanceRef;
use golden::output::{OutputArgs, Printer};
use golden::record::Record;
use golden::target::{locate, Target, Wanted};
use golden::{Error, Result, Status};
use serde::Serialize;
use serde_json::{json, Value};

use plan::{AddressPlan, Ipv4Choice};

const TOOL: &str = "golden-derive";

/// What to do with custom volumes attached to the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Volumes {
    /// Copy each volume's pristine snapshot to a new volume of the clone's own
    Copy,
    /// Keep the template's volumes attached to every clone (shared data)
    Share,
    /// Remove the volume devices from the clones
    Drop,
}

#[derive(Debug, Parser)]
#[command(
    name = "golden-derive",
    version,
    about = "Create instances from a golden's pristine snapshot",
    long_about = "Create one or many instances NEW from TEMPLATE/pristine, in parallel, \
        through the daemon's own copy (CoW on btrfs, ZFS and thin LVM). The clones stay \
        on the template's pool unless -s is given; a copy that cannot share blocks says \
        so on stderr and in the cow column. Each clone records where it came from in \
        user.golden.* config keys, which golden-ls counts as derived and stale.\n\n\
        Without NEW (or with -), the new names are read from stdin: bare names, or records \
        with a `new` (or `instance`) field; without TEMPLATE too, records need `template` \
        and `new` fields (and may carry `project`)."
)]
pub struct Args {
    /// The golden to derive from ([REMOTE:]NAME)
    #[arg(value_name = "TEMPLATE")]
    pub template: Option<String>,
    /// Names of the new instances; none or `-`: read stdin
    #[arg(value_name = "NEW")]
    pub new: Vec<String>,
    /// The template's project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Create the clones in this project (default: the template's)
    #[arg(long, value_name = "PROJECT")]
    pub target_project: Option<String>,
    /// Storage pool for the clones (default: the template's, which allows CoW)
    #[arg(short = 's', long = "storage", value_name = "POOL")]
    pub storage: Option<String>,
    /// Copies run at once
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Start each clone once made
    #[arg(long)]
    pub start: bool,
    /// Config for the clones (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Profiles for the clones instead of the template's (repeatable)
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// A NEW name that exists and came from this template is reported, not an error
    #[arg(long)]
    pub skip_existing: bool,
    /// Static IPv4 address for the clone (one clone), or `auto`: the next free one of its network
    #[arg(long, value_name = "ADDR|auto", conflicts_with = "dhcp")]
    pub ipv4: Option<String>,
    /// Drop the template's static addresses from the clones
    #[arg(long)]
    pub dhcp: bool,
    /// What to do with custom volumes attached to the template
    #[arg(long, value_enum, value_name = "HOW")]
    pub volumes: Option<Volumes>,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One clone made, skipped, or (with -n) planned.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    pub project: String,
    pub instance: String,
    /// `project/template/snapshot` it was copied from.
    pub source: String,
    pub pool: String,
    pub driver: String,
    pub cow: bool,
    /// `Stopped`, `Running`, `skipped` (exists, same template) or `planned` (-n).
    pub status: String,
    /// created_at of the pristine it came from.
    pub created_at: String,
    pub ipv4: Option<String>,
}

pub const COLUMNS: &[&str] = &[
    "project",
    "instance",
    "source",
    "pool",
    "driver",
    "cow",
    "status",
    "created_at",
    "ipv4",
];

pub fn command() -> clap::Command {
    Args::command()
}

/// A template, read once, with what every clone of it needs.
struct Template {
    target: Target,
    kind: String,
    snapshot: String,
    created_at: String,
    pool: String,
    location: Option<String>,
    expanded_devices: BTreeMap<String, BTreeMap<String, String>>,
    volumes_project: String,
    /// Where its clones go (the same for all of them: kept here, not per clone).
    clone_project: String,
    clone_pool: String,
    clone_driver: String,
    cow: bool,
}

/// One clone to make.
struct Job {
    template: usize,
    name: String,
    ipv4: Option<String>,
    devices: BTreeMap<String, Value>,
    /// For --volumes copy.
    volume_copies: Vec<plan::VolumeCopy>,
    skip: bool,
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let mut printer = Printer::stdout(&args.output, COLUMNS)?;
    let config = parse_config(&args.config)?;
    let ipv4 = args.ipv4.as_deref().map(Ipv4Choice::parse).transpose()?;
    if let Some(p) = &args.target_project {
        golden::name::check_project_name(p)?;
    }

    // 1. Every (template, new name) pair, all names checked.
    let (template_wanted, pairs) = pairs(&args)?;
    if matches!(ipv4, Some(Ipv4Choice::Fixed(_))) && pairs.len() > 1 {
        return Err(Error::usage(format!(
            "--ipv4 ADDR gives one address to {} clones; use --ipv4 auto or --dhcp",
            pairs.len()
        )));
    }

    // 2. Templates, located and read once each.
    let mut templates = Vec::new();
    for t in locate(template_wanted)? {
        templates.push(read_template(t, &args)?);
    }

    // 3. Pools, existing names, addresses: one plan for every clone.
    let incus = templates[0].target.incus();
    let pools = incus.pools()?;
    let mut existing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut jobs: Vec<Job> = Vec::with_capacity(pairs.len());
    let mut failures: Vec<Error> = Vec::new();
    let mut addresses = match ipv4 {
        Some(Ipv4Choice::Auto) => Some(AddressPlan::read(&incus, &templates)?),
        _ => None,
    };
    // Each new name once per project, and the target project real, before any notice.
    {
        let mut seen = BTreeSet::new();
        for pair in &pairs {
            let project = args
                .target_project
                .as_deref()
                .unwrap_or(&templates[pair.template].target.project);
            if !seen.insert((project, pair.new.as_str())) {
                return Err(Error::usage(format!("{} is named twice", pair.new)));
            }
        }
    }
    if let Some(tp) = &args.target_project {
        if !incus.project_exists(tp)? {
            return Err(Error::usage(format!("project not found: {tp}")));
        }
    }
    // Where each template's clones go, and whether they can share blocks.
    for tpl in templates.iter_mut() {
        tpl.clone_project = args
            .target_project
            .clone()
            .unwrap_or_else(|| tpl.target.project.clone());
        tpl.clone_pool = args.storage.clone().unwrap_or_else(|| tpl.pool.clone());
        let p = pools
            .iter()
            .find(|p| p.name == tpl.clone_pool)
            .ok_or_else(|| Error::usage(format!("storage pool not found: {}", tpl.clone_pool)))?;
        tpl.clone_driver = p.driver.clone();
        tpl.cow =
            tpl.clone_pool == tpl.pool && golden::model::pool_shares_blocks(&p.driver, &p.config);
    }
    for Pair { template: ti, new } in pairs {
        let tpl = &templates[ti];
        let project = &tpl.clone_project;
        if !existing.contains_key(project) {
            let names = incus
                .instance_urls(&Scope::Project(project.clone()))?
                .into_iter()
                .map(|u| u.name)
                .collect();
            existing.insert(project.clone(), names);
        }
        let mut skip = false;
        if existing[project].contains(&new) {
            if args.skip_existing && came_from(&incus, project, &new, tpl)? {
                skip = true;
            } else {
                let hint = if args.skip_existing {
                    " (and it was not derived from this template)"
                } else {
                    ""
                };
                failures.push(Error::failed(format!(
                    "{new}: already exists in project {project}{hint}"
                )));
                continue;
            }
        }
        let address = match (&ipv4, addresses.as_mut()) {
            (Some(Ipv4Choice::Fixed(a)), _) => Some(a.to_string()),
            (Some(Ipv4Choice::Auto), Some(plan)) if !skip => Some(plan.next(ti)?.to_string()),
            _ => None,
        };
        let (devices, volume_copies) = plan::devices(
            &tpl.expanded_devices,
            &new,
            &args,
            address.as_deref(),
            &tpl.clone_pool,
            args.storage.is_some(),
        );
        jobs.push(Job {
            template: ti,
            name: new,
            ipv4: address,
            devices,
            volume_copies,
            skip,
        });
    }

    // Said once per template, and only if a copy will be made.
    for (i, tpl) in templates.iter().enumerate() {
        if !jobs.iter().any(|j| j.template == i && !j.skip) {
            continue;
        }
        if !tpl.cow {
            let why = if tpl.clone_pool != tpl.pool {
                format!(
                    "pool {} is not the template's ({})",
                    tpl.clone_pool, tpl.pool
                )
            } else {
                format!(
                    "pool {} (driver {}) does not share blocks",
                    tpl.clone_pool, tpl.clone_driver
                )
            };
            notice(
                TOOL,
                args.run.quiet,
                format!(
                    "clones of {} are full copies, not CoW: {why}",
                    tpl.target.name
                ),
            );
        }
    }

    // 4. The copies, -j at a time; records printed as each ends.
    let mut status = Status::Done;
    for f in &failures {
        cli::report(TOOL, f);
        status = Status::Partial;
    }
    if args.run.fail_fast && !failures.is_empty() {
        printer.finish()?;
        return Ok(status);
    }
    let bar = golden::progress::bar(jobs.len() as u64, "deriving", args.run.quiet);
    // Ctrl-C: the copies under way finish and are printed, no new one starts.
    cli::stop_on_interrupt();
    let next = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Bounded: workers wait for the printer rather than pile records up.
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<Derived>)>(64);
    let outcome: Result<()> = std::thread::scope(|s| {
        for _ in 0..args.jobs.min(jobs.len().max(1) as u16) {
            let tx = tx.clone();
            let (jobs, templates, next, stop, args, config, started) =
                (&jobs, &templates, &next, &stop, &args, &config, &started);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) || cli::interrupted() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                started.fetch_add(1, Ordering::SeqCst);
                let r = derive_one(job, &templates[job.template], args, config);
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            bar.inc(1);
            match r {
                Ok(rec) => bar.suspend(|| printer.print(&rec))?,
                Err(e) => {
                    bar.suspend(|| cli::report(TOOL, &e.context(&jobs[i].name)));
                    status = Status::Partial;
                    if args.run.fail_fast {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    outcome?;
    printer.finish()?;
    let not_started = jobs.len() - started.load(Ordering::SeqCst).min(jobs.len());
    if cli::interrupted() && not_started > 0 {
        return Err(cli::interrupted_error(not_started));
    }
    Ok(status)
}

/// One clone to make: which template, which new name.
struct Pair {
    template: usize,
    new: String,
}

/// The templates and (template, new name) pairs from arguments or stdin, every
/// new name checked as it is read. Only the name is kept of each record, so a
/// long input costs a few bytes a line.
fn pairs(args: &Args) -> Result<(Vec<Wanted>, Vec<Pair>)> {
    let mut templates: Vec<Wanted> = Vec::new();
    let mut template_index = |name: &str, project: Option<&str>| -> Result<usize> {
        let instance = InstanceRef::parse(name)?;
        let project = args.project.clone().or(project.map(str::to_string));
        if let Some(p) = &project {
            golden::name::check_project_name(p)?;
        }
        if let Some(i) = templates
            .iter()
            .position(|t| t.instance == instance && t.project == project)
        {
            return Ok(i);
        }
        templates.push(Wanted {
            instance,
            project,
            record: Record::named(0, name),
        });
        Ok(templates.len() - 1)
    };
    let mut out = Vec::new();
    match &args.template {
        Some(t) if !(args.new.is_empty() || args.new == ["-"]) => {
            if args.new.iter().any(|n| n == "-") {
                return Err(Error::usage("'-' (read stdin) must be the only NEW"));
            }
            let ti = template_index(t, None)?;
            for n in &args.new {
                out.push(Pair {
                    template: ti,
                    new: new_name(n, t)?,
                });
            }
        }
        t => {
            let Input::Stdin(records) = cli::input(&[], "NEW names")? else {
                unreachable!()
            };
            for r in records {
                let r = r?;
                let at = |e: Error| e.context(format!("stdin line {}", r.line));
                let template = match t {
                    Some(t) => t.as_str(),
                    None => r.require("template")?,
                };
                let ti = template_index(template, r.get("project").filter(|_| t.is_none()))
                    .map_err(at)?;
                let new = match (r.get("new"), t) {
                    (Some(n), _) => n,
                    (None, Some(_)) => r.require("instance")?,
                    (None, None) => r.require("new")?,
                };
                out.push(Pair {
                    template: ti,
                    new: new_name(new, template).map_err(at)?,
                });
            }
            if out.is_empty() {
                return Err(Error::usage("no NEW names on stdin"));
            }
        }
    }
    Ok((templates, out))
}

/// A NEW name, checked; `REMOTE:` is allowed if it is the template's own, since
/// copies are made by the template's server.
fn new_name(new: &str, template: &str) -> Result<String> {
    let (template_remote, _) = golden::name::split_remote(template)?;
    let new_ref = InstanceRef::parse(new)?;
    match &new_ref.remote {
        Some(r) if Some(r) != template_remote.as_ref() => Err(Error::usage(format!(
            "{new}: a clone is made on its template's server ({}), not on remote {r}",
            template_remote.as_deref().unwrap_or("the default remote")
        ))),
        _ => Ok(new_ref.name),
    }
}

fn parse_config(items: &[String]) -> Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(Error::usage(format!("-c {kv:?}: expected KEY=VALUE"))),
        })
        .collect()
}

/// Reads a template and checks it can be derived from with these options.
fn read_template(t: Target, args: &Args) -> Result<Template> {
    let incus = t.incus();
    let inst = incus.instance(&t.project, &t.name)?;
    let (snapshot, created_at) = t.pristine()?;
    let statics = plan::static_nics(&inst.expanded_devices);
    if !statics.is_empty() && args.ipv4.is_none() && !args.dhcp {
        return Err(Error::usage(format!(
            "{} has static addresses ({}) that every clone would copy, and the clone would then \
             keep the template from starting: give --ipv4 ADDR (one clone), --ipv4 auto (next \
             free address of the network) or --dhcp (drop the static address)",
            t.name,
            statics.join(", ")
        )));
    }
    let volumes = inst.custom_volumes();
    if !volumes.is_empty() && args.volumes.is_none() {
        let list: Vec<String> = volumes
            .iter()
            .map(|(d, p, v)| format!("{d}: {p}/{v}"))
            .collect();
        return Err(Error::usage(format!(
            "{} has custom volumes attached ({}) that clones would share: choose --volumes copy \
             (a copy of each for every clone), --volumes share (keep sharing) or --volumes drop",
            t.name,
            list.join(", ")
        )));
    }
    let volumes_project = if volumes.is_empty() {
        String::new()
    } else {
        incus.project(&t.project)?.volumes_project().to_string()
    };
    if args.volumes == Some(Volumes::Copy) {
        for (_, pool, vol) in &volumes {
            let vs = golden::incus::SnapshotsOf::volume(&incus, &volumes_project, pool, vol);
            let has = golden::swap::Snapshots::list(&vs)?
                .iter()
                .any(|s| s.name == golden::model::PRISTINE);
            if !has {
                return Err(Error::usage(format!(
                    "volume {vol} of {} has no pristine snapshot: run `golden-create {}` first",
                    t.name, t.name
                )));
            }
        }
    }
    Ok(Template {
        kind: inst.kind.clone(),
        pool: inst.root_pool().unwrap_or("").to_string(),
        location: inst.member().map(str::to_string),
        expanded_devices: inst.expanded_devices.clone(),
        snapshot,
        created_at,
        volumes_project,
        target: t,
        clone_project: String::new(),
        clone_pool: String::new(),
        clone_driver: String::new(),
        cow: false,
    })
}

/// Was `name` derived from this template (so a rerun may skip it)?
fn came_from(incus: &Incus, project: &str, name: &str, tpl: &Template) -> Result<bool> {
    let inst = incus.instance(project, name)?;
    Ok(Provenance::of(&inst.config)
        .is_some_and(|p| p.project == tpl.target.project && p.template == tpl.target.name))
}

fn derive_one(
    job: &Job,
    tpl: &Template,
    args: &Args,
    extra: &BTreeMap<String, String>,
) -> Result<Derived> {
    let record = |status: &str, created_at: &str, snapshot: &str| Derived {
        project: tpl.clone_project.clone(),
        instance: job.name.clone(),
        source: format!("{}/{}/{}", tpl.target.project, tpl.target.name, snapshot),
        pool: tpl.clone_pool.clone(),
        driver: tpl.clone_driver.clone(),
        cow: tpl.cow,
        status: status.to_string(),
        created_at: created_at.to_string(),
        ipv4: job.ipv4.clone(),
    };
    if job.skip {
        return Ok(record("skipped", "", &tpl.snapshot));
    }
    if args.run.dry_run {
        return Ok(record("planned", &tpl.created_at, &tpl.snapshot));
    }
    let incus = tpl.target.incus();
    let mut made_volumes = Vec::new();
    let result = (|| {
        for plan::VolumeCopy {
            pool,
            volume: vol,
            new_volume: new_vol,
            ..
        } in &job.volume_copies
        {
            let body = json!({
                "name": new_vol,
                "type": "custom",
                "source": { "type": "copy", "name": format!("{vol}/{}", golden::model::PRISTINE), "pool": pool },
            });
            incus
                .create_volume(pool, &tpl.volumes_project, &body)
                .map_err(|e| e.context(format!("copying volume {vol} to {new_vol}")))?;
            made_volumes.push((pool.clone(), new_vol.clone()));
        }
        let mut snapshot = tpl.snapshot.clone();
        let mut created_at = tpl.created_at.clone();
        let copy = |snapshot: &str, created_at: &str| {
            let body = copy_body(job, tpl, snapshot, created_at, args, extra);
            // In a cluster, stay beside the template: a copy across members is never CoW.
            incus.create_instance(&tpl.clone_project, tpl.location.as_deref(), &body)
        };
        // golden-create may rename the snapshot under us: look again and retry,
        // a few times, as long as the pristine we would copy has changed.
        let mut attempts = 0;
        while let Err(e) = copy(&snapshot, &created_at) {
            attempts += 1;
            let snaps = incus.snapshots(&tpl.target.project, &tpl.target.name)?;
            match current_pristine(
                snaps
                    .iter()
                    .map(|s| (s.name.as_str(), s.created_at.as_str())),
            ) {
                Some((n, c))
                    if attempts < 5
                        && (n != snapshot
                            || c != created_at
                            || !snaps.iter().any(|s| s.name == snapshot)) =>
                {
                    snapshot = n.to_string();
                    created_at = c.to_string();
                }
                _ => {
                    return Err(already_exists(
                        e.context(format!("copying {}/{}", tpl.target.name, snapshot)),
                        &tpl.clone_project,
                    ))
                }
            }
        }
        Ok((snapshot, created_at))
    })();
    let (snapshot, created_at) = match result {
        Ok(r) => r,
        Err(e) => {
            for (pool, v) in made_volumes {
                let _ = incus.send(
                    "DELETE",
                    &format!(
                        "/1.0/storage-pools/{}/volumes/custom/{}?project={}",
                        enc(&pool),
                        enc(&v),
                        enc(&tpl.volumes_project)
                    ),
                    None,
                );
            }
            return Err(e);
        }
    };
    let mut status = "Stopped";
    if args.start {
        incus.set_state(&tpl.clone_project, &job.name, "start", None, false)?;
        status = "Running";
    }
    Ok(record(status, &created_at, &snapshot))
}

/// The daemon's words for a name taken meanwhile (by a concurrent run) are a
/// database constraint; say it as the user would.
fn already_exists(e: Error, project: &str) -> Error {
    let m = e.to_string();
    let taken = [
        "UNIQUE constraint failed",
        "already exists",
        "busy running a \"create\" operation",
    ];
    if taken.iter().any(|t| m.contains(t)) {
        Error::failed(format!(
            "already exists in project {project} (made meanwhile by someone else)"
        ))
    } else {
        e
    }
}

fn copy_body(
    job: &Job,
    tpl: &Template,
    snapshot: &str,
    created_at: &str,
    args: &Args,
    extra: &BTreeMap<String, String>,
) -> Value {
    let mut config: serde_json::Map<String, Value> = extra
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    config.insert(
        golden::model::KEY_PROJECT.into(),
        tpl.target.project.clone().into(),
    );
    config.insert(
        golden::model::KEY_TEMPLATE.into(),
        tpl.target.name.clone().into(),
    );
    config.insert(golden::model::KEY_CREATED_AT.into(), created_at.into());
    let mut body = json!({
        "name": job.name,
        "type": tpl.kind,
        "source": {
            "type": "copy",
            "source": format!("{}/{}", tpl.target.name, snapshot),
            "project": tpl.target.project,
        },
        "config": config,
        "devices": job.devices,
    });
    if !args.profiles.is_empty() {
        body["profiles"] = json!(args.profiles);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_may_carry_only_the_template_remote() {
        assert_eq!(new_name("lab-1", "lab-reference").unwrap(), "lab-1");
        assert_eq!(new_name("lo:lab-1", "lo:lab-reference").unwrap(), "lab-1");
        assert_eq!(new_name("lab-1", "lo:lab-reference").unwrap(), "lab-1");
        let e = new_name("other:lab-1", "lo:lab-reference").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("template's server (lo)"), "{e}");
        assert_eq!(
            new_name("lo:lab-1", "lab-reference")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(new_name("bad name", "t").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn config_pairs_need_a_key_and_an_equal_sign() {
        let c = parse_config(&[
            "user.owner=alice".into(),
            "limits.cpu=2".into(),
            "user.empty=".into(),
        ])
        .unwrap();
        assert_eq!(c["user.owner"], "alice");
        assert_eq!(c["user.empty"], "");
        for bad in ["novalue", "=x"] {
            assert_eq!(
                parse_config(&[bad.into()]).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }
}
