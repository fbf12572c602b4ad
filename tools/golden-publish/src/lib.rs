//! `golden-publish`: turn a golden's `pristine` into a reusable Incus image with an alias.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use golden::batch;
use golden::cli::{input, notice};
use golden::incus::{NewImage, PublishRequest};
use golden::output::{OutputArgs, Printer};
use golden::readers::{NoNewSnapshot, Shared};
use golden::record::expand_template;
use golden::target::{locate, wanted, Target};
use golden::{Error, Result, Status};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "golden-publish",
    version,
    about = "Publish a golden's pristine snapshot as an Incus image with an alias",
    long_about = "Publish NAME/pristine as an Incus image, through the daemon's own image \
        operation, and point ALIAS at it. Image properties record where it came from \
        (golden.project, golden.instance, golden.created_at). An alias that already names an \
        image is refused unless --replace: then the new image is made first, the alias moved \
        to it, and the old image deleted if no other alias names it.\n\n\
        The alias may hold {field} parts filled from each record, such as 'golden-{instance}', \
        so `golden-ls | golden-publish --alias 'golden-{instance}'` publishes every golden. \
        An image holds the root disk only: attached custom volumes are not part of it."
)]
pub struct Args {
    /// Goldens to publish ([REMOTE:]NAME); none or `-`: read stdin
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Alias of the image; {field} is filled from the record (e.g. golden-{instance})
    #[arg(short = 'a', long, value_name = "ALIAS", required = true)]
    pub alias: String,
    /// The Incus project (default: found across all projects)
    #[arg(short, long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Move an alias that already names an image to the new one
    #[arg(long)]
    pub replace: bool,
    /// Make the image public (others may download it without trust)
    #[arg(long)]
    pub public: bool,
    /// When the image expires: a duration from now (30d, 12h) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    #[command(flatten)]
    pub run: golden::cli::RunArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One image published (or, with -n, to be published).
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub project: String,
    pub instance: String,
    pub alias: String,
    pub fingerprint: String,
    pub size: Option<u64>,
    /// The image the alias named before (--replace); empty if none.
    pub replaced: String,
    /// The project whose image store holds it (`default` for a project without features.images).
    pub image_project: String,
    /// created_at of the pristine it was made from.
    pub created_at: String,
    /// Attached custom volumes left out of the image.
    pub volumes_left_out: usize,
}

pub const COLUMNS: &[&str] = &[
    "project",
    "instance",
    "alias",
    "fingerprint",
    "size",
    "replaced",
    "image_project",
    "created_at",
    "volumes_left_out",
];

pub fn command() -> clap::Command {
    Args::command()
}

/// Everything checked before the first image is made.
struct Job {
    target: Target,
    alias: String,
    created_at: String,
    image_project: String,
    volumes: usize,
}

pub fn run(matches: &ArgMatches) -> Result<Status> {
    let args = Args::from_arg_matches(matches).map_err(|e| Error::usage(e.to_string()))?;
    let printer = Printer::stdout(&args.output, COLUMNS)?;
    let expires = args.expires.as_deref().map(parse_expiry).transpose()?;
    let targets = locate(wanted(
        input(&args.names, "golden")?,
        args.project.as_deref(),
        "instance",
    )?)?;

    let mut jobs = Vec::new();
    let mut aliases = BTreeSet::new();
    for t in targets {
        let mut fields = t.record.clone();
        fields.fields.insert("instance".into(), t.name.clone());
        fields.fields.insert("project".into(), t.project.clone());
        let alias = expand_template(&args.alias, &fields)?;
        check_alias(&alias)?;
        let incus = t.incus();
        let (_, created_at) = t.pristine().map_err(|e| t.on_offline_member(e))?;
        let image_project = incus.project(&t.project)?.images_project().to_string();
        if !aliases.insert((t.remote.clone(), image_project.clone(), alias.clone())) {
            return Err(Error::usage(format!(
                "alias {alias} would be given to two images"
            )));
        }
        let volumes = incus.instance(&t.project, &t.name)?.custom_volumes().len();
        jobs.push(Job {
            target: t,
            alias,
            created_at,
            image_project,
            volumes,
        });
    }

    let opts = batch::Options {
        jobs: 1,
        fail_fast: args.run.fail_fast,
        progress: None,
    };
    batch::run(
        &jobs,
        opts,
        printer,
        |job| job.target.name.clone(),
        |job| {
            publish_one(job, &args, expires.as_deref()).map_err(|e| job.target.on_offline_member(e))
        },
    )
}

/// Incus takes most text as an alias; refuse what the incus client would read
/// as something else (an option, a remote) or what cannot be typed back.
fn check_alias(alias: &str) -> Result<()> {
    let bad = alias.is_empty()
        || alias.starts_with('-')
        || alias.contains(':')
        || alias.len() > 255
        || alias.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(Error::usage(format!("invalid image alias {alias:?}")))
    } else {
        Ok(())
    }
}

/// `30d`, `12h` from now, or an RFC 3339 time with any offset (what
/// `date -Iseconds` prints), as Incus wants it: UTC, to the second.
fn parse_expiry(s: &str) -> Result<String> {
    if let Ok(d) = humantime::parse_duration(s) {
        let when = SystemTime::now() + d;
        return Ok(humantime::format_rfc3339_seconds(when).to_string());
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .map_err(|_| {
            Error::usage(format!(
                "--expires {s:?}: not a duration (30d) nor an RFC 3339 time (2027-01-31T00:00:00Z)"
            ))
        })
}

fn publish_one(job: &Job, args: &Args, expires: Option<&str>) -> Result<Published> {
    let t = &job.target;
    let incus = t.incus();
    let existing = incus.image_alias(&t.project, &job.alias)?;
    if let Some(a) = &existing {
        if !args.replace {
            return Err(Error::failed(format!(
                "alias {} already names image {} (--replace moves it to the new image)",
                job.alias,
                short(&a.target)
            )));
        }
    }
    let mut rec = Published {
        project: t.project.clone(),
        instance: t.name.clone(),
        alias: job.alias.clone(),
        fingerprint: String::new(),
        size: None,
        replaced: existing
            .as_ref()
            .map(|a| a.target.clone())
            .unwrap_or_default(),
        image_project: job.image_project.clone(),
        created_at: job.created_at.clone(),
        volumes_left_out: job.volumes,
    };
    if job.volumes > 0 {
        notice(format!("{}: {} attached custom volume(s) are not part of the image (it holds the root disk only)", t.name, job.volumes),
        );
    }
    if args.run.dry_run {
        return Ok(rec);
    }
    // Held while the image is made: a golden-create waits to rename the
    // snapshot being read (see golden::readers). The pristine is read again
    // under it: a create may have swapped it since the plan.
    let _held = Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?;
    let _no_new = NoNewSnapshot::acquire(t.remote.as_deref(), &t.project, &t.name)?;
    // One on another machine (not held off by our lock) may swap it while
    // the image is made: then it is made again from the new one.
    let make = |(snapshot, created_at): &(String, String)| {
        make_image(t, &request(job, args, expires, snapshot, created_at))
    };
    let ((_, created_at), made) =
        golden::pristine::ride_over_swaps(t.pristine()?, |a, b| a == b, || t.pristine(), make)?;
    rec.created_at = created_at;
    rec.fingerprint = made.fingerprint;
    rec.size = made.size;

    let pointed = match &existing {
        Some(old) => incus.move_alias(&t.project, old, &rec.fingerprint),
        None => incus.create_alias(
            &t.project,
            &job.alias,
            &rec.fingerprint,
            &format!("golden {}", t.name),
        ),
    };
    if let Err(e) = pointed {
        // Leave nothing behind that no alias names.
        let _ = incus.delete_image(&t.project, &rec.fingerprint);
        return Err(e.context(format!("pointing alias {} at the new image", job.alias)));
    }
    if let Some(old) = &existing {
        if old.target != rec.fingerprint {
            let img = incus.image(&t.project, &old.target)?;
            if img.aliases.is_empty() {
                incus.delete_image(&t.project, &old.target)?;
            } else {
                notice(format!(
                    "kept image {}: other aliases name it",
                    short(&old.target)
                ));
            }
        }
    }
    Ok(rec)
}

/// The image of `snapshot`, with the properties that say where it came from.
fn request(
    job: &Job,
    args: &Args,
    expires: Option<&str>,
    snapshot: &str,
    created_at: &str,
) -> PublishRequest {
    let t = &job.target;
    let mut req = PublishRequest::from_snapshot(&t.project, &t.name, snapshot);
    req.public = args.public;
    req.expires_at = expires.map(str::to_string);
    req.properties = BTreeMap::from([
        (
            "description".to_string(),
            format!("golden {} ({}) pristine of {created_at}", t.name, t.project),
        ),
        ("golden.project".to_string(), t.project.clone()),
        ("golden.instance".to_string(), t.name.clone()),
        ("golden.created_at".to_string(), created_at.to_string()),
    ]);
    req
}

/// Runs the image operation, drawing its progress ("publishing NAME N%") on a terminal.
fn make_image(t: &Target, req: &PublishRequest) -> Result<NewImage> {
    let op = t
        .incus()
        .publish_image(&t.project, req)
        .map_err(|e| e.context(format!("publishing {}", t.name)))?;
    let bar = golden::term::percent(&format!("publishing {}", t.name));
    let made = match bar.is_hidden() {
        true => op.wait(),
        false => op.wait_with_progress(|p| bar.set_position(p)),
    };
    bar.finish_and_clear();
    made.map_err(|e| e.context(format!("publishing {}", t.name)))
}

fn short(fp: &str) -> &str {
    &fp[..fp.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use golden::record::Record;

    #[test]
    fn columns_are_the_record_fields_in_order() {
        let rec = Published {
            project: "p".into(),
            instance: "i".into(),
            alias: "a".into(),
            fingerprint: String::new(),
            size: None,
            replaced: String::new(),
            image_project: "default".into(),
            created_at: String::new(),
            volumes_left_out: 0,
        };
        assert_eq!(golden::output::fields_of(&rec), COLUMNS);
    }

    #[test]
    fn aliases_that_incus_would_misread_are_refused() {
        for ok in ["golden-pro", "golden/pro-dev", "lab.v2"] {
            assert!(check_alias(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "remote:alias", "a b", "a\tb"] {
            assert_eq!(check_alias(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn expiry_is_a_duration_or_a_time() {
        let t = parse_expiry("2030-01-31T00:00:00Z").unwrap();
        assert_eq!(t, "2030-01-31T00:00:00Z");
        // `date -Iseconds` gives an offset: the same instant, in UTC.
        let t = parse_expiry("2030-01-31T00:00:00+02:00").unwrap();
        assert_eq!(t, "2030-01-30T22:00:00Z");
        assert_eq!(parse_expiry("2030-01-31").unwrap_err().exit_code(), 2);
        let in_a_day = parse_expiry("1d").unwrap();
        assert!(in_a_day > humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        assert_eq!(parse_expiry("soon").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn alias_templates_take_fields_from_the_record() {
        let mut r = Record::named(golden::record::Origin::Stdin(1), "pro-dev");
        r.fields.insert("project".into(), "pro".into());
        assert_eq!(
            expand_template("golden-{instance}", &r).unwrap(),
            "golden-pro-dev"
        );
    }
}
