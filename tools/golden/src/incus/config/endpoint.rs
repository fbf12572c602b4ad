//! How to reach the remote chosen: its addresses and certificates as an [`Endpoint`],
//! or why the native client does not speak it ([`Unsupported`]).

use std::fmt;
use std::path::PathBuf;

use super::proxy::proxy_for;
use super::socket::socket_path;
use super::{Config, Env, Resolution, TlsFiles, Unsupported, LOCAL};
use crate::error::{Error, Result};

impl Config {
    /// How to reach `remote` (`None`: the default remote).
    pub fn endpoint(&self, remote: Option<&str>, env: &Env) -> Result<Resolution> {
        let name = remote.unwrap_or(&self.default_remote);
        let Some(r) = self.remotes.get(name) else {
            let from = if remote.is_none() && env.var("INCUS_REMOTE").is_some() {
                " (named by INCUS_REMOTE)"
            } else if remote.is_none() {
                " (the default-remote of the configuration)"
            } else {
                ""
            };
            let file = match &self.file {
                Some(f) => format!("remotes of {}", f.display()),
                None => "remotes of the incus client configuration".to_string(),
            };
            return Err(Error::Usage(format!(
                "unknown remote {name}{from}: not among the {file}; see `incus remote list`"
            )));
        };
        // `fallback`: could `incus query` reach it? Not an image server: incus
        // refuses those too ("The remote isn't a private server").
        let unsupported = |reason: String, fallback: bool| {
            Ok(Resolution::Unsupported(Unsupported {
                remote: name.to_string(),
                reason,
                fallback,
            }))
        };
        if r.public {
            return unsupported(
                "it is a public image server, not an instance server".into(),
                false,
            );
        }
        if r.protocol != "incus" {
            return unsupported(
                format!(
                    "it speaks the {} protocol (an image server), not the Incus API",
                    r.protocol
                ),
                false,
            );
        }
        match r.auth_type.as_str() {
            "" | "tls" => {}
            "oidc" => {
                return unsupported(
                    "it authenticates with OIDC, which the native client does not speak".into(),
                    true,
                )
            }
            other => {
                return unsupported(
                    format!("its auth_type {other} is not spoken by the native client"),
                    true,
                )
            }
        }
        if r.addrs.is_empty() {
            return Err(Error::Usage(format!(
                "remote {name} has no address in the incus client configuration"
            )));
        }
        let mut addrs = Vec::new();
        let mut project = r.project.clone().filter(|p| p != "default");
        for addr in &r.addrs {
            if let Some(rest) = addr.strip_prefix("unix:") {
                let given = rest.strip_prefix("//").unwrap_or(rest);
                let (sock, user_project) = socket_path(given, env);
                if project.is_none() {
                    project = user_project;
                }
                addrs.push(sock);
            } else if addr.starts_with("https://") {
                if let Some(proxy) = proxy_for(addr, env) {
                    return unsupported(
                        format!(
                            "{addr} would go through the HTTPS proxy {proxy} (HTTPS_PROXY), \
                         which the native client does not use"
                        ),
                        true,
                    );
                }
                addrs.push(Address::Https(addr.trim_end_matches('/').to_string()));
            } else {
                return unsupported(
                    format!("its address {addr} is neither unix: nor https://"),
                    true,
                );
            }
        }
        let tls = if addrs.iter().any(|a| matches!(a, Address::Https(_))) {
            match self.tls_files(r, env)? {
                Ok(tls) => Some(Box::new(tls)),
                Err(reason) => return unsupported(reason, true),
            }
        } else {
            None
        };
        Ok(Resolution::Native(Endpoint {
            remote: name.to_string(),
            project,
            addrs,
            tls,
        }))
    }
}

/// How to reach one remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The remote's name (`local` for the built-in one).
    pub remote: String,
    /// The project the incus client's commands use on it (its `project`, or
    /// `user-<euid>` on the incus-user socket). Requests do not add it by themselves.
    pub project: Option<String>,
    /// Its addresses, to be tried in this order.
    pub addrs: Vec<Address>,
    /// The certificates, when an address is HTTPS.
    pub tls: Option<Box<TlsFiles>>,
}

impl Endpoint {
    /// "remote lo, https://10.0.0.1:8443" / "unix socket /run/incus/unix.socket".
    pub fn describe(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(Address::to_string).collect();
        if self.remote == LOCAL {
            addrs.join(", ")
        } else {
            format!("remote {}, {}", self.remote, addrs.join(", "))
        }
    }
}

/// One address of a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A unix socket; `origin` says which rule chose it (for error messages).
    Unix { path: PathBuf, origin: String },
    /// A base URL (`https://host:port`, no trailing slash).
    Https(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix { path, .. } => write!(f, "unix socket {}", path.display()),
            Address::Https(url) => f.write_str(url),
        }
    }
}
