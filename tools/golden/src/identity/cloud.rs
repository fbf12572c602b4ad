//! cloud-init's record of which instance a root belongs to, carried by a
//! refresh from the clone's old root into the new one.
//!
//! cloud-init runs at every boot and compares the instance-id its datasource
//! gives (the NoCloud seed Incus renders from an image's templates at create
//! and copy, or another datasource's) with the one it recorded at the last
//! boot (`data/instance-id`); per-instance modules run again for an id whose
//! semaphores (`instances/ID/sem`) are not there. A root rebuilt from the
//! pristine holds the template's seed and record (or none, after a
//! `cloud-init clean`): without the clone's own, cloud-init takes the clone
//! for a new instance at its next boot and makes new SSH host keys (and sets
//! the hostname the template's seed names). So the clone's seed, its record,
//! the semaphores and the directory of its current instance are carried,
//! exactly as they were; the rest of `/var/lib/cloud` (the admin's
//! `scripts/`, the template's other instances) is the template's.

use super::Files;
use crate::incus::{FileKind, InstanceFile, Perms};
use crate::Result;

pub const CLOUD_DIR: &str = "/var/lib/cloud";

/// What of `/var/lib/cloud` is the instance's record (besides the directory
/// of its current instance).
const RECORD: &[&str] = &["seed", "data", "sem", "instance"];

/// Makes the new root's cloud-init record the old root's. Returns whether
/// there was one to carry: both roots hold `/var/lib/cloud` (a template
/// without cloud-init any more gets none of its state).
pub fn carry(old: &dyn Files, new: &dyn Files) -> Result<bool> {
    let is_dir =
        |f: &Option<InstanceFile>| f.as_ref().is_some_and(|d| d.kind == FileKind::Directory);
    let old_dir = old.read(CLOUD_DIR)?;
    if !is_dir(&old_dir) || !is_dir(&new.read(CLOUD_DIR)?) {
        return Ok(false);
    }
    let entries = &old_dir.expect("a directory").entries;
    for name in RECORD {
        let path = format!("{CLOUD_DIR}/{name}");
        let was = if entries.iter().any(|e| e == name) {
            old.read(&path)?
        } else {
            None
        };
        mirror(old, new, &path, was, new.read(&path)?)?;
    }
    if let Some(id) = current_instance(old)? {
        let dir = format!("{CLOUD_DIR}/instances");
        if new.read(&dir)?.is_none() {
            new.make_dir(&dir, root_dir())?;
        }
        let path = format!("{dir}/{id}");
        let was = old.read(&path)?;
        mirror(old, new, &path, was, new.read(&path)?)?;
    }
    Ok(true)
}

/// The id of the instance cloud-init last booted as: what `data/instance-id`
/// says, or else the directory the `instance` link names. Only a plain name
/// (one path component) is taken.
fn current_instance(files: &dyn Files) -> Result<Option<String>> {
    let recorded = files
        .read(&format!("{CLOUD_DIR}/data/instance-id"))?
        .filter(InstanceFile::is_file)
        .map(|f| f.text().trim().to_string());
    let linked = || -> Result<Option<String>> {
        Ok(files
            .read(&format!("{CLOUD_DIR}/instance"))?
            .filter(|f| f.kind == FileKind::Symlink)
            .and_then(|f| {
                f.text()
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .map(String::from)
            }))
    };
    let id = match recorded {
        Some(id) => Some(id),
        None => linked()?,
    };
    Ok(id.filter(|id| !id.is_empty() && id != "." && id != ".." && !id.contains('/')))
}

/// Makes `path` in `new` what `was` (read from `old`) is, recursively: files
/// with their owner and mode, directories, symlinks; `None` removes it.
/// `now` is what `new` holds there.
fn mirror(
    old: &dyn Files,
    new: &dyn Files,
    path: &str,
    was: Option<InstanceFile>,
    now: Option<InstanceFile>,
) -> Result<()> {
    let Some(was) = was else {
        if let Some(now) = now {
            remove(new, path, &now)?;
        }
        return Ok(());
    };
    let same_kind = now.as_ref().is_some_and(|n| n.kind == was.kind);
    if let Some(n) = now.as_ref().filter(|_| !same_kind) {
        remove(new, path, n)?;
    }
    let now = now.filter(|_| same_kind);
    match was.kind {
        FileKind::File => {
            let unchanged = now.as_ref().is_some_and(|n| {
                (n.content.as_slice(), n.uid, n.gid, n.mode)
                    == (was.content.as_slice(), was.uid, was.gid, was.mode)
            });
            if !unchanged {
                new.replace(path, &was.content, perms(&was), now.as_ref())?;
            }
        }
        FileKind::Symlink => {
            if now.as_ref().is_none_or(|n| n.content != was.content) {
                if now.is_some() {
                    new.delete(path)?;
                }
                new.make_symlink(path, &was.text())?;
            }
        }
        FileKind::Directory => {
            let made = now.is_none();
            if made {
                new.make_dir(path, perms(&was))?;
            }
            for name in &was.entries {
                let child = format!("{path}/{name}");
                let there = if made { None } else { new.read(&child)? };
                mirror(old, new, &child, old.read(&child)?, there)?;
            }
            if let Some(now) = now {
                for name in now.entries.iter().filter(|n| !was.entries.contains(n)) {
                    let child = format!("{path}/{name}");
                    if let Some(f) = new.read(&child)? {
                        remove(new, &child, &f)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Removes `path` (what `f` is) from `files`, a directory with what it holds.
fn remove(files: &dyn Files, path: &str, f: &InstanceFile) -> Result<()> {
    if f.kind == FileKind::Directory {
        for name in &f.entries {
            let child = format!("{path}/{name}");
            if let Some(c) = files.read(&child)? {
                remove(files, &child, &c)?;
            }
        }
    }
    files.delete(path)?;
    Ok(())
}

fn perms(f: &InstanceFile) -> Perms {
    Perms {
        uid: f.uid,
        gid: f.gid,
        mode: f.mode,
    }
}

fn root_dir() -> Perms {
    Perms {
        uid: 0,
        gid: 0,
        mode: 0o755,
    }
}
