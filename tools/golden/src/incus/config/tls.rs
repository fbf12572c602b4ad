//! The certificates of an HTTPS remote, read from the configuration directory.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Config, Env, Remote};
use crate::error::{Error, Result};

impl Config {
    /// The certificates of an HTTPS remote (`Err(reason)`: not usable natively).
    pub(super) fn tls_files(
        &self,
        r: &Remote,
        env: &Env,
    ) -> Result<std::result::Result<TlsFiles, String>> {
        let name = &r.name;
        let Some(dir) = &self.dir else {
            return Err(Error::Usage(format!(
                "remote {name}: no incus client configuration directory (set HOME or \
                 INCUS_CONF) to hold its client certificate"
            )));
        };
        let per_remote = dir.join("clientcerts");
        let (crt, key, ca) = if per_remote.join(format!("{name}.crt")).exists()
            && per_remote.join(format!("{name}.key")).exists()
        {
            (
                per_remote.join(format!("{name}.crt")),
                per_remote.join(format!("{name}.key")),
                per_remote.join(format!("{name}.ca")),
            )
        } else {
            (
                dir.join("client.crt"),
                dir.join("client.key"),
                dir.join("client.ca"),
            )
        };
        let client_cert = Pem::read_optional(&crt)?;
        let client_key = Pem::read_optional(&key)?;
        let (Some(client_cert), Some(client_key)) = (client_cert, client_key) else {
            return Err(Error::Usage(format!(
                "remote {name}: missing TLS client certificate and key ({} and {}); \
                 add the remote with `incus remote add`",
                crt.display(),
                key.display()
            )));
        };
        if client_key.is_protected() {
            return Ok(Err(format!(
                "its client key {} is password-protected (incus asks for the password; \
                 the native client does not)",
                key.display()
            )));
        }
        let servercerts = if r.global {
            self.global_dir.join("servercerts")
        } else {
            dir.join("servercerts")
        };
        Ok(Ok(TlsFiles {
            client_cert,
            client_key,
            ca: Pem::read_optional(&ca)?,
            server_cert: Pem::read_optional(&servercerts.join(format!("{name}.crt")))?,
            allow_tls12: env.var("INCUS_INSECURE_TLS").is_some_and(is_true),
        }))
    }
}

/// Go's `util.IsTrue` / `IsFalseOrEmpty` negation, as `INCUS_INSECURE_TLS` is read.
fn is_true(v: &str) -> bool {
    !matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

/// The TLS material of an HTTPS remote, read from the configuration directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub client_cert: Pem,
    pub client_key: Pem,
    /// `client.ca` / `clientcerts/<remote>.ca`: the CA of a PKI-mode server.
    pub ca: Option<Pem>,
    /// `servercerts/<remote>.crt`: the server certificate pinned by `incus remote add`.
    pub server_cert: Option<Pem>,
    /// `INCUS_INSECURE_TLS`: TLS 1.2 allowed as well as 1.3.
    pub allow_tls12: bool,
}

/// A PEM file's path and content.
#[derive(Clone, PartialEq, Eq)]
pub struct Pem {
    pub path: PathBuf,
    pub data: Vec<u8>,
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the content: it may be a private key.
        write!(f, "Pem({}, {} bytes)", self.path.display(), self.data.len())
    }
}

impl Pem {
    /// The file's content; `None` when it does not exist or is empty.
    fn read_optional(path: &Path) -> Result<Option<Pem>> {
        match std::fs::read(path) {
            Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(data) => Ok(Some(Pem {
                path: path.to_path_buf(),
                data,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Usage(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// A private key the incus client would ask a password for.
    fn is_protected(&self) -> bool {
        let text = String::from_utf8_lossy(&self.data);
        text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("Proc-Type: 4,ENCRYPTED")
    }
}
