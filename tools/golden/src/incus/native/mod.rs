//! The Incus REST API spoken directly: HTTP/1.1 over the daemon's unix socket or over
//! HTTPS, for an [`Endpoint`] that [`super::config`] resolved from the user's own client
//! configuration. No `incus` binary is needed.
//!
//! - HTTP is [`hyper`]'s HTTP/1.1 client connection, TLS is [`rustls`] (through
//!   `tokio-rustls`), driven by a private single-threaded tokio runtime behind a blocking
//!   API: [`Native`] is `Send + Sync` and may be used from several threads at once.
//! - One connection per request, as the incus client does (it disables keep-alive).
//! - **Timeouts**: every request, connection and TLS handshake included, ends within the
//!   timeout given to [`Native::connect`] (for an operation's `wait`, that timeout plus the
//!   seconds asked for): a daemon that accepts but never answers is an
//!   [`Error::Unreachable`] naming the request, never a hang. A missing socket, a refused
//!   connection, a bad certificate are `Unreachable` too, naming the path or address.
//! - **Answers**: a `sync` envelope gives its `metadata`; an `async` one gives the
//!   operation object and its URL ([`Response::operation`]), to wait on with
//!   [`Native::wait_operation`]; an `error` envelope is [`Error::Incus`] with the daemon's
//!   message — or, through the `try_` methods, an [`ApiError`] that keeps the HTTP status
//!   (404 not found, 412 an `If-Match` that no longer matches...).
//! - **TLS** (an HTTPS remote): TLS 1.3 only (1.2 too with `INCUS_INSECURE_TLS`); our
//!   client certificate; the server is accepted when its certificate is exactly the one
//!   pinned in `servercerts/<remote>.crt` (byte for byte: a self-signed Incus certificate
//!   is no root for a standard verifier), else when it chains to the remote's CA
//!   (`client.ca`, PKI mode) or, without one, to the system's roots with the host name
//!   checked — as incus, which adds the pinned certificate to those roots. The handshake
//!   signature is always checked against the presented certificate.
//! - Like `incus query`, a request carries no `project=` of its own: the path says it.
//!
//! The parts: `answer` (what the daemon sent back, read as JSON or bytes),
//! `exchange` (one request on a new connection, within the timeout), `target` (where
//! a connection goes), `tls` (the client configuration and the server check),
//! `operation` (waiting for an async answer's operation).

mod answer;
mod exchange;
mod operation;
mod target;
mod tls;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::ClientConfig;
use serde_json::Value;

pub use answer::{ApiError, RawResponse, Response};
use exchange::Body;
use target::Target;
use tls::tls_config;

use super::config::Endpoint;
use crate::error::{Error, Result};

/// A client for one remote.
pub struct Native {
    remote: String,
    target: Target,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Native")
            .field("remote", &self.remote)
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Native {
    /// A client for `endpoint`; every request ends within `timeout`. With several
    /// addresses, the first that answers `GET /1.0` is kept (as the incus client
    /// tries them); with one, nothing is sent yet.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Native> {
        let tls = match &endpoint.tls {
            Some(files) => Some(Arc::new(tls_config(&endpoint.remote, files)?)),
            None => None,
        };
        let targets = endpoint
            .addrs
            .iter()
            .map(Target::from_address)
            .collect::<Result<Vec<_>>>()?;
        let Some(first) = targets.first().cloned() else {
            return Err(Error::Usage(format!(
                "remote {} has no address",
                endpoint.remote
            )));
        };
        if tls.is_none() && targets.iter().any(|t| matches!(t, Target::Https { .. })) {
            return Err(Error::Usage(format!(
                "remote {}: an HTTPS address without TLS certificates",
                endpoint.remote
            )));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Failed(format!("cannot start the Incus client: {e}")))?;
        let mut native = Native {
            remote: endpoint.remote.clone(),
            target: first,
            tls,
            timeout,
            rt,
        };
        if targets.len() == 1 {
            return Ok(native);
        }
        let mut failures = Vec::new();
        for target in targets {
            native.target = target;
            match native.request("GET", "/1.0", None, &[]) {
                Err(Error::Unreachable(m)) => failures.push(m),
                // Any answer, even a refusal, is a daemon there.
                _ => return Ok(native),
            }
        }
        Err(Error::Unreachable(format!(
            "cannot reach remote {} at any of its addresses: {}",
            endpoint.remote,
            failures.join("; ")
        )))
    }

    /// The remote's name.
    pub fn remote(&self) -> &str {
        &self.remote
    }

    /// Where requests go: "unix socket PATH" or the remote's URL.
    pub fn address(&self) -> String {
        self.target.to_string()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A JSON request; `body` is sent as `application/json`. An error envelope is
    /// [`Error::Incus`] (see [`Native::try_request`] to keep its status).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response> {
        Ok(self.try_request(method, path, body, headers)??)
    }

    /// As [`Native::request`], with the daemon's refusal as a value.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<std::result::Result<Response, ApiError>> {
        self.json_exchange(method, path, body, headers, self.timeout)
    }

    /// A request whose body (and answer) are bytes, such as the files API:
    /// `GET`/`POST /1.0/instances/NAME/files?path=P` with `X-Incus-uid`,
    /// `X-Incus-gid`, `X-Incus-mode`, `X-Incus-type` headers. The body is sent as
    /// `application/octet-stream` unless `headers` give a `Content-Type`.
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse> {
        Ok(self.try_request_bytes(method, path, body, headers)??)
    }

    /// As [`Native::request_bytes`], with the daemon's refusal as a value.
    pub fn try_request_bytes(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<std::result::Result<RawResponse, ApiError>> {
        let body = body.map(|b| Body {
            bytes: Bytes::copy_from_slice(b),
            content_type: "application/octet-stream",
        });
        let answer = self.exchange(method, path, body, headers, self.timeout)?;
        Ok(answer.into_raw())
    }

    /// A JSON exchange within `timeout`: the client's, or more for an operation's wait.
    fn json_exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<std::result::Result<Response, ApiError>> {
        let body = body.map(|v| Body {
            bytes: Bytes::from(v.to_string()),
            content_type: "application/json",
        });
        let answer = self.exchange(method, path, body, headers, timeout)?;
        answer.into_response(&format!("{method} {path}"))
    }
}
