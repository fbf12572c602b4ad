//! Which unix socket a `unix:` address means, by the incus client's rules.

use std::path::{Path, PathBuf};

use super::{Address, Env};

/// The socket of a unix address (`given`: its path, possibly empty) and the project
/// the incus client would switch to (`user-<euid>` for the `incus-user` socket).
pub(super) fn socket_path(given: &str, env: &Env) -> (Address, Option<String>) {
    if !given.is_empty() {
        return (
            Address::Unix {
                path: PathBuf::from(given),
                origin: "the remote's address".to_string(),
            },
            None,
        );
    }
    if let Some(sock) = env.var("INCUS_SOCKET") {
        return (
            Address::Unix {
                path: PathBuf::from(sock),
                origin: "INCUS_SOCKET".to_string(),
            },
            None,
        );
    }
    let (dir, origin) = match env.var("INCUS_DIR") {
        Some(d) => (PathBuf::from(d), "INCUS_DIR"),
        None if std::fs::symlink_metadata(env.run_dir.join("unix.socket")).is_ok() => {
            (env.run_dir.clone(), "the packaged daemon's run directory")
        }
        None => (env.var_dir.clone(), "the default daemon directory"),
    };
    let path = dir.join("unix.socket");
    let user = dir.join("unix.socket.user");
    if !writable(&path) && writable(&user) {
        return (
            Address::Unix {
                path: user,
                origin: format!(
                    "{origin}: the incus-user socket, as {} is not writable",
                    path.display()
                ),
            },
            Some(format!("user-{}", env.euid)),
        );
    }
    (
        Address::Unix {
            path,
            origin: origin.to_string(),
        },
        None,
    )
}

/// `access(path, W_OK)`, as Go's `util.PathIsWritable`.
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}
