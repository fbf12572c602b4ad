//! Lock files, on this machine: one `golden-create` at a time per instance,
//! one `--ipv4` allocation at a time per network, and (in `readers`) the lock
//! where a golden's readers and its swap meet.
//!
//! Two creates of one instance would each take the other's temporary snapshot
//! for a leftover. A lock file held for the whole run makes the second wait
//! for the first: both end, one `pristine` remains. A lock is released by the
//! kernel when the process ends, even killed, so it never goes stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// How long a run waits for another to release the lock (GOLDEN_LOCK_TIMEOUT).
const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// How long a run waits for another's lock, here or in Incus (GOLDEN_LOCK_TIMEOUT).
pub fn wait() -> Duration {
    std::env::var("GOLDEN_LOCK_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WAIT)
}

/// Held while the value lives.
pub struct InstanceLock {
    _file: File,
}

/// One `--ipv4` allocation at a time per network, on this machine: held from
/// reading the addresses in use until the clones holding the new ones exist.
pub struct NetworkLock {
    _file: File,
}

impl NetworkLock {
    /// Takes the lock of `network` (as seen from `project`: the project whose
    /// networks it uses), calling `waiting` once if another run holds it.
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        network: &str,
        waiting: impl FnOnce(&Path),
    ) -> Result<Self> {
        // '.' is encoded in the name: the suffix keeps this apart from any instance's lock.
        let name = file_name(remote, project, network).replace(".lock", ".network.lock");
        let (file, path) = open(&name)?;
        take(&file, &path, true, wait(), waiting, || {
            format!("another run giving addresses on network {network}")
        })?;
        Ok(NetworkLock { _file: file })
    }
}

/// A directory of this user's only: `$XDG_RUNTIME_DIR/golden-locks` (a private
/// per-user directory already), else `$TMPDIR/golden-locks-UID` — never one
/// name shared by all users, which another could create first or plant.
fn lock_dir() -> Result<PathBuf> {
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("golden-locks"),
        None => std::env::temp_dir().join(format!("golden-locks-{uid}")),
    };
    private_dir(&dir, uid)?;
    Ok(dir)
}

/// Makes `dir` (mode 0700) or checks the one there: a real directory, not a
/// symlink, owned by `uid`, that no one else may enter.
fn private_dir(dir: &Path, uid: u32) -> Result<()> {
    let unsafe_dir = |why: String| {
        Error::failed(format!(
            "lock directory {}: {why}; remove it, or set XDG_RUNTIME_DIR to a private directory",
            dir.display()
        ))
    };
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unsafe_dir(e.to_string())),
    }
    // lstat: a symlink is refused, never followed.
    let meta = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if !meta.file_type().is_dir() {
        return Err(unsafe_dir("not a directory (a symlink?)".into()));
    }
    if meta.uid() != uid {
        return Err(unsafe_dir(format!(
            "owned by uid {}, not by you ({uid})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        // Ours, made loose by hand: make it private again.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| unsafe_dir(e.to_string()))?;
    }
    Ok(())
}

/// A file name for (remote, project, instance), safe whatever the project name
/// holds, and one-to-one: percent-encoded, so no two names meet.
pub(crate) fn file_name(remote: Option<&str>, project: &str, instance: &str) -> String {
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');
    let clean = |s: &str| utf8_percent_encode(s, KEEP).to_string();
    format!(
        "{}+{}+{}.lock",
        clean(remote.unwrap_or("local")),
        clean(project),
        clean(instance)
    )
}

/// Opens (making it if need be) the lock file `name` of this user's lock
/// directory. Each holder opens its own: a lock belongs to an open file, so
/// two threads sharing one file would share one lock.
pub(crate) fn open(name: &str) -> Result<(File, PathBuf)> {
    open_in(&lock_dir()?, name)
}

fn open_in(dir: &Path, name: &str) -> Result<(File, PathBuf)> {
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        // A symlink planted at the lock's name is never followed.
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::failed(format!("lock file {}: {e}", path.display())))?;
    Ok((file, path))
}

/// Takes `file`'s lock, exclusive or shared, calling `waiting` once if it must
/// wait; gives up after `wait`, saying who holds it (`who`).
pub(crate) fn take(
    file: &File,
    path: &Path,
    exclusive: bool,
    wait: Duration,
    waiting: impl FnOnce(&Path),
    who: impl FnOnce() -> String,
) -> Result<()> {
    let mut waiting = Some(waiting);
    let deadline = Instant::now() + wait;
    loop {
        let tried = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match tried {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {
                if let Some(w) = waiting.take() {
                    w(path);
                }
                if Instant::now() >= deadline {
                    return Err(Error::failed(format!(
                        "{} still holds {} after {} s; try again later",
                        who(),
                        path.display(),
                        wait.as_secs()
                    )));
                }
                // std offers no blocking lock with a deadline: look again shortly.
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::failed(format!("locking {}: {e}", path.display())))
            }
        }
    }
}

impl InstanceLock {
    /// Takes the lock, calling `waiting` (with the lock file) once if another
    /// run holds it; gives up after GOLDEN_LOCK_TIMEOUT seconds (default 600).
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        instance: &str,
        waiting: impl FnOnce(&Path),
    ) -> Result<Self> {
        Self::acquire_in(&lock_dir()?, remote, project, instance, wait(), waiting)
    }

    fn acquire_in(
        dir: &Path,
        remote: Option<&str>,
        project: &str,
        instance: &str,
        wait: Duration,
        waiting: impl FnOnce(&Path),
    ) -> Result<Self> {
        let (file, path) = open_in(dir, &file_name(remote, project, instance))?;
        take(&file, &path, true, wait, waiting, || {
            format!("another golden-create of {instance} (project {project})")
        })?;
        Ok(InstanceLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_keep_apart_what_differs_and_hold_no_path() {
        assert_eq!(
            file_name(None, "lab", "lab-reference"),
            "local+lab+lab-reference.lock"
        );
        assert_ne!(
            file_name(Some("a"), "p", "x"),
            file_name(Some("b"), "p", "x")
        );
        assert!(!file_name(None, "../etc", "x").contains('/'));
        assert_ne!(file_name(None, "a.b", "x"), file_name(None, "a,b", "x"));
    }

    fn private_tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_second_holder_waits_for_the_first_and_can_time_out() {
        let base = private_tmp();
        let dir = base.path().to_path_buf();
        let take = |wait_ms: u64, said: &std::sync::mpsc::Sender<PathBuf>| {
            let said = said.clone();
            InstanceLock::acquire_in(
                &dir,
                None,
                "unit-test",
                "x",
                Duration::from_millis(wait_ms),
                move |p| said.send(p.to_path_buf()).unwrap(),
            )
        };
        let (said, heard) = std::sync::mpsc::channel();
        let first = take(0, &said).unwrap();
        assert!(heard.try_recv().is_err(), "the first did not wait");
        // Held: a second one with no patience gives up, naming the lock file.
        let e = take(0, &said).err().unwrap();
        assert!(e.to_string().contains("still holds"), "{e}");
        assert!(heard
            .try_recv()
            .unwrap()
            .ends_with("local+unit-test+x.lock"));
        drop(first);
        let _second = take(0, &said).unwrap();
    }

    #[test]
    fn a_lock_directory_that_is_not_private_is_refused_or_tightened() {
        let base = private_tmp();
        let uid = unsafe { libc::geteuid() };
        // A symlink planted where the directory goes: refused, not followed.
        let target = base.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        let planted = base.path().join("planted");
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        let e = private_dir(&planted, uid).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        // Someone else's: refused.
        let e = private_dir(&target, uid + 1).unwrap_err();
        assert!(e.to_string().contains("not by you"), "{e}");
        // Ours but open to others: made 0700.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&target, uid).unwrap();
        let mode = std::fs::metadata(&target).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // A new one is made 0700.
        let fresh = base.path().join("fresh");
        private_dir(&fresh, uid).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_symlink_at_the_lock_file_is_never_followed() {
        let base = private_tmp();
        let victim = base.path().join("victim");
        let lock = base.path().join(file_name(None, "p", "i"));
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let e = InstanceLock::acquire_in(base.path(), None, "p", "i", Duration::ZERO, |_| {})
            .err()
            .unwrap();
        assert!(e.to_string().contains("lock file"), "{e}");
        assert!(!victim.exists(), "the symlink's target was created");
    }
}
