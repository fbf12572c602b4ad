//! Phase 1: everything checked before the first image is made: each golden's
//! alias (filled from its record), its pristine, the project whose image
//! store takes the image, and its attached volumes (left out of the image).

use std::collections::BTreeSet;

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

/// A job for each golden; an alias given to two images is refused.
pub fn plan(targets: Vec<Target>, alias: &str) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let mut aliases = BTreeSet::new();
    for t in targets {
        let mut fields = t.record.clone();
        fields.fields.insert("instance".into(), t.name.clone());
        fields.fields.insert("project".into(), t.project.clone());
        let alias = expand_template(alias, &fields)?;
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
    Ok(jobs)
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
