//! What derive does when a clone's identity reset fails: the clone goes, or
//! the user is told how to remove it (the reset itself is
//! `golden::identity::reset`).

use golden::{Error, Result};

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
