//! Where a connection goes: a unix socket, or an HTTPS host and port with the
//! `Host` header, the base URL's path and the name the server certificate must carry.

use std::path::PathBuf;

use hyper::http::Uri;
use rustls::pki_types::ServerName;

use crate::error::{Error, Result};
use crate::incus::config::Address;

#[derive(Debug, Clone)]
pub(super) enum Target {
    Unix {
        path: PathBuf,
        origin: String,
    },
    Https {
        /// The remote's base URL, as configured.
        url: String,
        /// Host to connect to (no brackets around an IPv6 address) and port.
        host: String,
        port: u16,
        /// The `Host` header.
        authority: String,
        /// A path the base URL carries, prepended to every request's.
        prefix: String,
        name: ServerName<'static>,
    },
}

impl Target {
    pub(super) fn from_address(addr: &Address) -> Result<Target> {
        match addr {
            Address::Unix { path, origin } => Ok(Target::Unix {
                path: path.clone(),
                origin: origin.clone(),
            }),
            Address::Https(url) => {
                let bad = |why: &str| Error::Usage(format!("bad remote address {url}: {why}"));
                let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
                if uri.scheme_str() != Some("https") {
                    return Err(bad("not https://"));
                }
                let authority = uri.authority().ok_or_else(|| bad("no host"))?;
                let host = authority
                    .host()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string();
                let name = ServerName::try_from(host.clone()).map_err(|e| bad(&e.to_string()))?;
                Ok(Target::Https {
                    url: url.clone(),
                    port: authority.port_u16().unwrap_or(443),
                    authority: authority.as_str().to_string(),
                    prefix: uri.path().trim_end_matches('/').to_string(),
                    host,
                    name,
                })
            }
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix { path, .. } => write!(f, "unix socket {}", path.display()),
            Target::Https { url, .. } => f.write_str(url),
        }
    }
}
