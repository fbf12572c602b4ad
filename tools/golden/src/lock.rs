//! One `golden-create` at a time per instance, on this machine.
//!
//! Two runs on the same instance would each take the other's temporary snapshot
//! for a leftover. A lock file held for the whole run makes the second wait
//! for the first: both end, one `pristine` remains. The lock is released by the
//! kernel when the process ends, even killed, so it never goes stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        // Instance names hold no '.': the suffix keeps this apart from any instance's lock.
        let name = file_name(remote, project, network).replace(".lock", ".network.lock");
        let (file, path) = open(&name)?;
        take(&file, &path, true, waiting)?;
        Ok(NetworkLock { _file: file })
    }
}

fn lock_dir() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("golden-locks")
}

/// A file name for (remote, project, instance), safe whatever the project name holds.
pub(crate) fn file_name(remote: Option<&str>, project: &str, instance: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '%'
                }
            })
            .collect()
    };
    format!(
        "{}+{}+{}.lock",
        clean(remote.unwrap_or("local")),
        clean(project),
        clean(instance)
    )
}

/// Opens (making it if need be) the lock file `name` of the lock directory.
/// Each holder opens its own: a lock belongs to an open file, so two threads
/// sharing one file would share one lock.
pub(crate) fn open(name: &str) -> Result<(File, PathBuf)> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::failed(format!("lock directory {}: {e}", dir.display())))?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::failed(format!("lock file {}: {e}", path.display())))?;
    Ok((file, path))
}

/// Takes `file`'s lock, exclusive or shared, calling `waiting` once if it must wait.
pub(crate) fn take(
    file: &File,
    path: &Path,
    exclusive: bool,
    waiting: impl FnOnce(),
) -> Result<()> {
    let tried = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match tried {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            waiting();
            if exclusive {
                file.lock()?
            } else {
                file.lock_shared()?
            }
            Ok(())
        }
        Err(TryLockError::Error(e)) => {
            Err(Error::failed(format!("locking {}: {e}", path.display())))
        }
    }
}

impl InstanceLock {
    /// Takes the lock, calling `waiting` once if another run holds it.
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        instance: &str,
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        let (file, path) = open(&file_name(remote, project, instance))?;
        take(&file, &path, true, waiting)?;
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
    }

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let first = InstanceLock::acquire(
            None,
            "unit-test",
            &format!("t{}", std::process::id()),
            || {},
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let mut waited = false;
            let _second = InstanceLock::acquire(
                None,
                "unit-test",
                &format!("t{}", std::process::id()),
                || waited = true,
            )
            .unwrap();
            tx.send(waited).unwrap();
        });
        // The second cannot have it while the first is held.
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(200))
            .is_err());
        drop(first);
        assert!(
            rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap(),
            "it said it waited"
        );
        waiter.join().unwrap();
    }
}
