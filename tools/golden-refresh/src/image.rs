//! The image a rebuild starts from: one per template pristine and clone
//! project, made from the pristine snapshot without compression (it is only
//! ever unpacked by this daemon: made in seconds, and on btrfs or ZFS the
//! first rebuild unpacks it once, the others are CoW copies of that). It has
//! no alias; properties say whose pristine it is, and it is removed at the
//! end of a run once no clone of that template in that project needs it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use golden::cli::notice;
use golden::incus::{Incus, PublishRequest, Scope};
use golden::model::{
    Provenance, IMAGE_CREATED_AT as CREATED_AT, IMAGE_FOR_PROJECT, IMAGE_TEMPLATE as TEMPLATE,
    IMAGE_TEMPLATE_UUID as TEMPLATE_UUID, KEY_REFRESH_FROM,
};
use golden::readers::{NoNewSnapshot, Shared};
use golden::target::Target;
use golden::Result;

use crate::plan::Job;

/// (remote, clone project, template uuid)
type Place = (Option<String>, String, String);

/// The images of a run, made once each.
#[derive(Default)]
pub struct Images {
    /// (place, pristine created_at) -> fingerprint. Held while one is made:
    /// the clones of one pristine wait for the one image.
    made: Mutex<BTreeMap<(Place, String), String>>,
    /// Where images were used, with the template: cleaned at the end.
    used: Mutex<BTreeMap<Place, Target>>,
    /// `--generation`: rebuild from that generation, not the current pristine.
    generation: Option<u64>,
}

impl Images {
    pub fn of_generation(generation: Option<u64>) -> Self {
        Images {
            generation,
            ..Default::default()
        }
    }

    /// The image of `job`'s template's current pristine, in the clone's
    /// project: found, or made. Returns its fingerprint and the pristine's
    /// `created_at` (read again under the template's readers' lock).
    pub fn for_job(&self, job: &Job) -> Result<(String, String)> {
        let t = &job.template;
        let place: Place = (
            t.remote.clone(),
            job.clone.project.clone(),
            job.template_uuid.clone(),
        );
        let mut made = self.made.lock().expect("images");
        self.used
            .lock()
            .expect("images")
            .insert(place.clone(), t.clone());
        // Held while the image is read: a golden-create waits to rename it.
        let _held = Shared::acquire(t.remote.as_deref(), &t.project, &t.name)?;
        let (snapshot, created_at) = t.source(self.generation)?;
        if let Some(fp) = made.get(&(place.clone(), created_at.clone())) {
            return Ok((fp.clone(), created_at));
        }
        let incus = t.incus();
        let found = incus
            .images(&job.clone.project)?
            .into_iter()
            .find(|i| {
                i.properties.get(TEMPLATE_UUID) == Some(&job.template_uuid)
                    && i.properties.get(CREATED_AT) == Some(&created_at)
            })
            .map(|i| i.fingerprint);
        let fp = match found {
            Some(fp) => fp,
            None => {
                let _no_new = NoNewSnapshot::acquire(t.remote.as_deref(), &t.project, &t.name)?;
                notice(format!(
                    "making an image of {}'s pristine ({created_at}) to rebuild from",
                    t.name
                ));
                publish(&incus, job, &snapshot, &created_at)?
            }
        };
        made.insert((place, created_at.clone()), fp.clone());
        Ok((fp, created_at))
    }

    /// Removes the images no clone needs any more: those of an older
    /// pristine, and the current one once no clone of the template in that
    /// project is stale or half refreshed. Failures are notices.
    pub fn clean(&self) {
        let used = std::mem::take(&mut *self.used.lock().expect("images"));
        for ((_, project, uuid), template) in used {
            if let Err(e) = remove_unneeded(&template.incus(), Some(&template), &project, &uuid) {
                notice(format!(
                    "the images made to rebuild from were not all removed: {e}"
                ));
            }
        }
    }
}

fn publish(incus: &Incus, job: &Job, snapshot: &str, created_at: &str) -> Result<String> {
    let t = &job.template;
    let mut req = PublishRequest::from_snapshot(&t.project, &t.name, snapshot);
    req.compression = Some("none".into());
    req.properties = BTreeMap::from([
        (
            "description".to_string(),
            format!(
                "golden-refresh: {}/{} pristine of {created_at}",
                t.project, t.name
            ),
        ),
        (TEMPLATE.to_string(), format!("{}/{}", t.project, t.name)),
        (TEMPLATE_UUID.to_string(), job.template_uuid.clone()),
        (CREATED_AT.to_string(), created_at.to_string()),
        (IMAGE_FOR_PROJECT.to_string(), job.clone.project.clone()),
    ]);
    let made = incus
        .publish_image(&job.clone.project, &req)
        .and_then(|op| op.wait())
        .map_err(|e| e.context(format!("making an image of {}'s pristine", t.name)))?;
    Ok(made.fingerprint)
}

/// Removes the refresh images of the template `uuid` in `project` that no
/// clone there needs: those of an older pristine, and the current one once no
/// clone of it is stale or half refreshed. `template`: None when it is gone
/// (no clone can be refreshed from its images any more).
pub fn remove_unneeded(
    incus: &Incus,
    template: Option<&Target>,
    project: &str,
    uuid: &str,
) -> Result<()> {
    let current = template.and_then(|t| t.pristine().ok()).map(|(_, c)| c);
    let still_needed = incus
        .instances(&Scope::Project(project.to_string()))?
        .iter()
        .any(|i| {
            let Some(p) = Provenance::of(&i.config) else {
                return false;
            };
            let underway = i
                .config
                .get(KEY_REFRESH_FROM)
                .is_some_and(|v| !v.is_empty());
            p.template_uuid == Some(uuid) && (underway || current.as_deref() != Some(p.created_at))
        });
    let mine: BTreeSet<(String, String)> = incus
        .images(project)?
        .into_iter()
        .filter(|i| i.properties.get(TEMPLATE_UUID).map(String::as_str) == Some(uuid))
        .map(|i| {
            let created = i.properties.get(CREATED_AT).cloned().unwrap_or_default();
            (i.fingerprint, created)
        })
        .collect();
    for (fp, created) in mine {
        if still_needed && current.as_deref() == Some(created.as_str()) {
            continue;
        }
        incus.delete_image(project, &fp)?;
    }
    Ok(())
}
