//! One `golden-create` at a time per instance, on this machine.
//!
//! Two runs on the same instance would each take the other's `pristine-next`
//! for a leftover. A lock file held for the whole run makes the second wait
//! for the first: both end, one `pristine` remains. The lock is released by the
//! kernel when the process ends, even killed, so it never goes stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Held while the value lives.
pub struct InstanceLock {
    _file: File,
}

fn lock_dir() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    base.join("golden-locks")
}

/// A file name for (remote, project, instance), safe whatever the project name holds.
fn file_name(remote: Option<&str>, project: &str, instance: &str) -> String {
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

impl InstanceLock {
    /// Takes the lock, calling `waiting` once if another run holds it.
    pub fn acquire(
        remote: Option<&str>,
        project: &str,
        instance: &str,
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        let dir = lock_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::failed(format!("lock directory {}: {e}", dir.display())))?;
        let path = dir.join(file_name(remote, project, instance));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::failed(format!("lock file {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                waiting();
                file.lock()?;
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::failed(format!("locking {}: {e}", path.display())))
            }
        }
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
