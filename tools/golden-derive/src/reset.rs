//! What derive does when a clone's identity reset fails: the clone goes, or
//! the user is told how to remove it (the reset itself is
//! `golden::identity::reset`).

use golden::{Error, Result};

/// The reset of a clone an earlier run copied and was stopped (killed) before
/// resetting: done now if it was never started, else refused.
pub fn finish_pending(
    job: &crate::plan::Job,
    tpl: &crate::template::Template,
    renewals: &crate::renew::Renewals,
    stopped: bool,
) -> Result<String> {
    let (name, project) = (&job.name, &tpl.clone_project);
    if !stopped {
        // Started meanwhile: refused only if it holds identity files to
        // reset (a root without any, busybox's, has nothing of the template's).
        let incus = tpl.target.incus();
        let files = golden::identity::InInstance {
            incus: &incus,
            project,
            name,
        };
        let holds = golden::identity::survey(&files, &tpl.target.name)
            .map_or(true, |s| !s.categories().is_empty());
        if !holds {
            let mark = serde_json::json!({ "config": { golden::model::KEY_IDENTITY: "-" } });
            incus.update_instance(project, name, &mark)?;
            return Ok("-".into());
        }
        return Err(Error::failed(format!(
            "its identity was never reset (a run was stopped between its copy and its reset) \
             and it runs now with the template's: delete it (`incus delete --force {name} \
             --project {project}`) and derive it again"
        )));
    }
    // Its own survey (keyed by the clone): it may hold a seed's files.
    let source = format!("pending:{name}");
    renewals
        .apply(tpl, job.template, name, (&source, &tpl.target.name))
        .map_err(|e| {
            Error::failed(format!(
                "resetting the identity an earlier run left pending failed, and it still holds \
                 the template's: {e}"
            ))
        })
}

/// Removes what an earlier run's copy left when the daemon died under it (see
/// `template::half_made`): a record never started, whose root volume is
/// missing, empty or partial; the clone is then copied again.
pub fn remove_half_made(
    incus: &golden::incus::Incus,
    job: &crate::plan::Job,
    tpl: &crate::template::Template,
) -> Result<()> {
    let (name, project) = (&job.name, &tpl.clone_project);
    golden::cli::notice(format!(
        "{name}: its copy by an earlier run was cut short (the daemon stopped during it): \
         removed, copied again"
    ));
    incus
        .delete_instance(project, name)
        .map_err(|e| e.context(format!("removing the half-made {name}")))
}

/// Removes a clone just made, and the volumes copied for it.
pub fn remove_clone(
    incus: &golden::incus::Incus,
    job: &crate::plan::Job,
    tpl: &crate::template::Template,
) -> Result<()> {
    incus.delete_instance(&tpl.clone_project, &job.name)?;
    for v in &job.volume_copies {
        incus.delete_volume(
            &v.pool,
            &tpl.clone_volumes_project,
            &v.new_volume,
            tpl.volumes_member(),
        )?;
    }
    Ok(())
}

/// A reset that failed, its clone removed (or not: then say how).
pub fn failed(e: Error, removed: Result<()>, project: &str, clone: &str) -> Error {
    match removed {
        Ok(()) => Error::failed(format!(
            "resetting its identity failed, so the clone was removed: {e}"
        )),
        Err(r) => Error::failed(format!(
            "resetting its identity failed ({e}), and removing the clone failed too ({r}): \
             it holds the template's identity; remove it with `incus delete {clone} --project \
             {project}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_reset_says_whether_the_clone_was_removed() {
        let e = failed(Error::failed("no agent"), Ok(()), "p", "c").to_string();
        assert!(
            e.starts_with("resetting its identity failed, so the clone was removed: no agent"),
            "{e}"
        );
        let e = failed(Error::failed("x"), Err(Error::failed("y")), "p", "c");
        assert!(e.to_string().contains("incus delete c --project p"), "{e}");
    }
}
