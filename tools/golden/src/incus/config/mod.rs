//! Where the Incus daemon is and how to reach it, read from the user's own client
//! configuration by the rules of the `incus` client itself (`shared/cliconfig` and
//! `client/connection.go` of lxc/incus, 6.0 LTS up to 7.x).
//!
//! [`resolve`] is a pure function of an [`Env`] (the variables, the user's and the
//! system's directories) and of the files those name, so every rule below is unit-tested
//! on throwaway directories. What it gives is either an [`Endpoint`] that the native
//! client ([`super::native`]) speaks, or an [`Unsupported`] value naming the remote and
//! why, for the caller to fall back to `incus query` or to fail with one line.
//!
//! # The rules
//!
//! - **Client configuration directory**: `INCUS_CONF`; else `$XDG_CONFIG_HOME/incus` when
//!   `XDG_CONFIG_HOME` is an absolute path (incus ≥ 7.x, through Go's `os.UserConfigDir`),
//!   except that an existing legacy `~/.config/incus` is used while the XDG one does not
//!   exist (the newer client moves it there on its next run; 6.0 reads it there); else
//!   `~/.config/incus`, the home being `HOME` or else the user's home from the password
//!   database. `$VAR` in the resulting path are expanded, as `os.ExpandEnv` does.
//! - **`config.yml`** there: `default-remote` and `remotes`, each remote with `addr` (several
//!   addresses comma-separated, tried in turn from `last_working_address`, as incus ≥ 7.x
//!   does; 6.0 takes the value as one address), `protocol` (default `incus`), `auth_type`
//!   (default `tls`), `project`, `public`. No file: the client's defaults (`local` and the
//!   public `images`) — incus writes exactly these on its first run.
//! - **Global remotes**: `$INCUS_GLOBAL_CONF/config.yml` (default `/etc/incus/config.yml`)
//!   adds the remotes the user file lacks (the user's entry wins on a name clash); its
//!   `default-remote` is ignored; the server certificate of a global remote is read from
//!   the global `servercerts/`. (Incus reads the global file only once the user file exists,
//!   which it writes on its first run; here it is read in both cases.)
//! - **`local`** is always the built-in unix-socket remote; only the `project` of a `local`
//!   entry in the file is kept.
//! - **Which remote**: the one named, else `INCUS_REMOTE`, else `default-remote`, else
//!   `local`. A name that is none of the remotes is bad input (exit 2).
//! - **Unix socket** of a remote whose address is `unix:PATH` / `unix://PATH`: PATH if
//!   given; else `INCUS_SOCKET`; else `$INCUS_DIR/unix.socket`; else
//!   `/run/incus/unix.socket` if it exists; else `/var/lib/incus/unix.socket`.
//!   **`unix.socket.user`**: when neither `INCUS_SOCKET` nor an explicit path is given and
//!   `unix.socket` of that directory is not writable by us while `unix.socket.user` is,
//!   the user socket of `incus-user` is used, as the incus client does; the endpoint's
//!   project is then `user-<euid>` (what the incus client's commands use; like
//!   `incus query`, the native client adds no project to a path by itself).
//! - **HTTPS**: the client certificate `clientcerts/<remote>.crt` + `.key` (with
//!   `clientcerts/<remote>.ca`) when both exist, else `client.crt` + `client.key` (with
//!   `client.ca`); none is an error (the remote cannot be used). The server certificate
//!   pinned in `servercerts/<remote>.crt` when present; the CA (`.ca`) or the system roots
//!   otherwise (see [`super::native`] for how each is checked). TLS 1.3 only, unless
//!   `INCUS_INSECURE_TLS` is true (then TLS 1.2 is allowed too, as with incus).
//!
//! # Not spoken natively ([`Unsupported`])
//!
//! A public remote, a protocol other than `incus` (simplestreams, oci: image servers),
//! `auth_type: oidc` (or any other than `tls`), an address neither `unix:` nor `https://`,
//! a password-protected client key (incus asks for its password), and an HTTPS proxy from
//! `HTTPS_PROXY`/`https_proxy` that applies to the remote's host (`NO_PROXY`, localhost and
//! loopback exempt, as the incus client decides).
//! [`Unsupported::fallback`] says whether `incus query` could reach it (all but the image
//! servers, which incus refuses as instance servers too); [`Unsupported::into_error`] is
//! the one-line error (exit 2) for a caller that does not fall back.
//!
//! The parts, in the order [`resolve`] meets them: `env` (what is read from the
//! process), `file` (where `config.yml` is and what it may say), `remotes` (the user's
//! and the global remotes with the built-in ones), `endpoint` (the remote chosen, and
//! why it may not be spoken), `socket` (which unix socket), `proxy` (whether an HTTPS
//! proxy applies), `tls` (the certificates of an HTTPS remote).

mod endpoint;
mod env;
mod file;
mod proxy;
mod remotes;
mod socket;
mod tls;

#[cfg(test)]
mod tests;

use std::fmt;

pub use endpoint::{Address, Endpoint};
pub use env::Env;
pub use file::config_dir;
pub use remotes::{Config, Remote};
pub use tls::{Pem, TlsFiles};

use crate::error::{Error, Result};

/// The built-in remote on the local unix socket.
pub const LOCAL: &str = "local";

/// Reads the configuration and resolves `remote` (`None`: the default remote).
pub fn resolve(remote: Option<&str>, env: &Env) -> Result<Resolution> {
    Config::load(env)?.endpoint(remote, env)
}

/// What [`resolve`] found.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// The native client speaks it.
    Native(Endpoint),
    /// It does not: fall back to `incus query`, or fail with [`Unsupported::into_error`].
    Unsupported(Unsupported),
}

/// A remote the native client does not speak, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub remote: String,
    pub reason: String,
    /// Could `incus query` reach it (OIDC, a password-protected key, a proxy...)?
    /// `false` for an image server, which incus refuses as an instance server too.
    pub fallback: bool,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "remote {}: {}", self.remote, self.reason)
    }
}

impl Unsupported {
    /// The one-line error for a caller that does not fall back (exit 2: nothing done).
    pub fn into_error(self) -> Error {
        Error::Usage(self.to_string())
    }
}
