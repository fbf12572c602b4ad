//! Phase 1: everything checked before the first image is made: each golden's
//! alias (filled from its record), its pristine, the project whose image
//! store takes the image, and its attached volumes (left out of the image).

use std::collections::BTreeSet;

use golden::model::KEY_RENEWS;
use golden::record::expand_template;
use golden::target::Target;
use golden::{Error, Result};

use crate::options::check_alias;

/// One golden to publish.
pub struct Job {
    pub target: Target,
    pub alias: String,
    pub created_at: String,
    pub image_project: String,
    pub volumes: usize,
}

/// What is done for one golden named.
pub enum Planned {
    Publish(Job),
    /// On a cluster member that is not online: nothing can be read of it.
    /// Its record fails alone, naming the member ([`Target::reachable`]);
    /// the others go on.
    Offline(Target),
}

impl Planned {
    pub fn target(&self) -> &Target {
        match self {
            Planned::Publish(j) => &j.target,
            Planned::Offline(t) => t,
        }
    }
}

/// A job for each golden; an alias given to two images is refused (one on
/// a member that is down too: the run is refused whatever the member does).
pub fn plan(
    targets: Vec<Target>,
    alias: &str,
    allow_revoked: bool,
    generation: Option<u64>,
) -> Result<Vec<Planned>> {
    let mut jobs = Vec::new();
    let mut aliases = BTreeSet::new();
    for t in targets {
        let mut fields = t.record.clone();
        fields.fields.insert("instance".into(), t.name.clone());
        fields.fields.insert("project".into(), t.project.clone());
        let alias = expand_template(alias, &fields)?;
        check_alias(&alias)?;
        let incus = t.incus();
        // Nothing is read of one on a member that is down but its project.
        let reachable = t.offline_member().is_none();
        let created_at = if reachable {
            t.source(generation)?.1
        } else {
            String::new()
        };
        let image_project = incus.project(&t.project)?.images_project().to_string();
        if !aliases.insert((t.remote.clone(), image_project.clone(), alias.clone())) {
            return Err(Error::usage(format!(
                "alias {alias} would be given to two images"
            )));
        }
        if !reachable {
            jobs.push(Planned::Offline(t));
            continue;
        }
        let inst = incus.instance(&t.project, &t.name)?;
        judge_pristine(&incus, &t, &inst, allow_revoked, generation)?;
        let volumes = inst.custom_volumes().len();
        jobs.push(Planned::Publish(Job {
            target: t,
            alias,
            created_at,
            image_project,
            volumes,
        }));
    }
    Ok(jobs)
}

/// A pristine whose generation is revoked is refused (unless allowed).
/// Instances launched from the image get an identity of their own only if
/// the pristine holds golden-create's identity templates: said, with -n too,
/// when it does not (a pristine taken by hand, or by an older golden-create).
fn judge_pristine(
    incus: &golden::incus::Incus,
    t: &Target,
    inst: &golden::incus::Instance,
    allow_revoked: bool,
    generation: Option<u64>,
) -> Result<()> {
    // Read without the readers' lock (that is taken to make the image): a
    // create may rename the snapshot that stood for pristine in between (the
    // stress test caught `pristine.golden-next` gone): read again from the new
    // pristine, as the image itself is.
    let (_, snapshot) = golden::pristine::ride_over_swaps(
        t.source(generation)?,
        |a, b| a == b,
        || t.source(generation),
        |(snapshot, _)| incus.instance_snapshot(&t.project, &t.name, snapshot),
    )?;
    let config = snapshot.config;
    golden::generations::judge_revoked(&t.name, &inst.config, &config, allow_revoked)?;
    if inst.kind != "container" {
        return Ok(());
    }
    if config.get(KEY_RENEWS).is_none_or(|r| r.is_empty()) {
        golden::cli::notice(format!(
            "{}: its pristine has no identity templates: instances launched from the image \
             will share its machine-id and SSH host keys; run `golden-create {}` first to \
             give them their own",
            t.name, t.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use golden::record::{expand_template, Origin, Record};

    #[test]
    fn alias_templates_take_fields_from_the_record() {
        let mut r = Record::named(Origin::Stdin(1), "pro-dev");
        r.fields.insert("project".into(), "pro".into());
        assert_eq!(
            expand_template("golden-{instance}", &r).unwrap(),
            "golden-pro-dev"
        );
    }
}
