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

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::config::{Address, Endpoint, Pem, TlsFiles};
use crate::error::{Error, Result};

const USER_AGENT: &str = concat!("golden/", env!("CARGO_PKG_VERSION"));

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

#[derive(Debug, Clone)]
enum Target {
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
    fn from_address(addr: &Address) -> Result<Target> {
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

/// A successful answer of the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The HTTP status (200, 201, 202...).
    pub status: u16,
    /// The `ETag` header, to send back as `If-Match`.
    pub etag: Option<String>,
    /// A sync answer's `metadata`; for an async one, the operation object.
    pub body: Value,
    /// An async answer's operation URL (`/1.0/operations/UUID`).
    pub operation: Option<String>,
}

/// A successful answer whose body is not JSON (the files API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub etag: Option<String>,
    /// Every header, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header `name` (any case), e.g. `X-Incus-mode` of a file read.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The daemon said no: its message and the HTTP status, for callers that tell one
/// refusal from another. Converts into [`Error::Incus`] with the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// An `If-Match` ETag that no longer matches: someone changed it in between.
    pub fn is_precondition_failed(&self) -> bool {
        self.status == 412
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::Incus(e.message)
    }
}

/// What one exchange brought back, before it is read as JSON or bytes.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn etag(&self) -> Option<String> {
        self.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The error of a refusal: the envelope's message, or the HTTP status.
    fn api_error(&self) -> ApiError {
        let v: Option<Value> = serde_json::from_slice(&self.body).ok();
        let message = v
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&self.body);
                let text = text.trim();
                let reason = hyper::http::StatusCode::from_u16(self.status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                if text.is_empty() || text.len() > 200 {
                    format!("HTTP {} {reason}", self.status)
                } else {
                    format!("HTTP {} {reason}: {text}", self.status)
                }
            });
        let status = match self.status {
            200..=299 => v
                .as_ref()
                .and_then(|v| v.get("error_code"))
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(self.status),
            s => s,
        };
        ApiError { status, message }
    }

    fn into_response(self, what: &str) -> Result<std::result::Result<Response, ApiError>> {
        let etag = self.etag();
        let v: Value = match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(_) if self.status >= 400 => return Ok(Err(self.api_error())),
            Err(e) => {
                return Err(Error::Incus(format!(
                    "unreadable answer from Incus to {what} (HTTP {}): {e}",
                    self.status
                )))
            }
        };
        match v.get("type").and_then(Value::as_str) {
            Some("error") => Ok(Err(self.api_error())),
            _ if self.status >= 400 => Ok(Err(self.api_error())),
            Some("sync") | Some("async") => {
                let operation = v
                    .get("operation")
                    .and_then(Value::as_str)
                    .filter(|o| !o.is_empty() && v["type"] == "async")
                    .map(str::to_string);
                let mut v = v;
                Ok(Ok(Response {
                    status: self.status,
                    etag,
                    body: v
                        .get_mut("metadata")
                        .map(Value::take)
                        .unwrap_or(Value::Null),
                    operation,
                }))
            }
            // Not an envelope: the JSON as it is.
            _ => Ok(Ok(Response {
                status: self.status,
                etag,
                body: v,
                operation: None,
            })),
        }
    }

    fn into_raw(self) -> std::result::Result<RawResponse, ApiError> {
        if self.status >= 400 {
            return Err(self.api_error());
        }
        let etag = self.etag();
        let headers = self
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(RawResponse {
            status: self.status,
            etag,
            headers,
            body: self.body.to_vec(),
        })
    }
}

/// A body to send, and its type unless the caller's headers say it.
struct Body {
    bytes: Bytes,
    content_type: &'static str,
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

    /// Waits up to `timeout_secs` for an operation (its URL `/1.0/operations/ID[?...]`
    /// or its ID) through `GET /1.0/operations/ID/wait?timeout=N`. `Ok(None)`: still
    /// running; `Ok(Some(op))`: succeeded, the operation object (its `metadata` holds
    /// what it made); a failed or cancelled operation is [`Error::Incus`] with its `err`.
    pub fn wait_operation(&self, operation: &str, timeout_secs: u64) -> Result<Option<Value>> {
        let path = wait_path(operation, timeout_secs)?;
        let patience = self.timeout + Duration::from_secs(timeout_secs);
        let op = self.json_exchange("GET", &path, None, &[], patience)??.body;
        operation_outcome(op)
    }

    /// Sends a request and, when it starts an operation, waits for its end (in waits
    /// of the client's timeout each): the operation's `metadata`, or a sync answer's.
    pub fn run(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value> {
        let resp = self.request(method, path, body, headers)?;
        let Some(op) = resp.operation else {
            return Ok(resp.body);
        };
        let chunk = self.timeout.as_secs().max(1);
        loop {
            if let Some(mut done) = self.wait_operation(&op, chunk)? {
                return Ok(done
                    .get_mut("metadata")
                    .map(Value::take)
                    .unwrap_or(Value::Null));
            }
        }
    }

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

    /// One HTTP exchange on a new connection, all of it within `timeout`.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Answer> {
        let request = self.build(method, path, body, headers)?;
        let what = format!("{method} {path}");
        self.rt.block_on(async {
            match tokio::time::timeout(timeout, self.send(request, &what)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Unreachable(format!(
                    "{} did not answer {what} within {} s; check it with `incus info`",
                    self.daemon(),
                    secs(timeout)
                ))),
            }
        })
    }

    fn build(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> Result<Request<Full<Bytes>>> {
        let bad = |why: String| Error::Failed(format!("bad request {method} {path}: {why}"));
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| bad(e.to_string()))?;
        if !path.starts_with('/') {
            return Err(bad("the path must start with /".into()));
        }
        let (uri, host) = match &self.target {
            Target::Unix { .. } => (path.to_string(), "unix.socket"),
            Target::Https {
                prefix, authority, ..
            } => (format!("{prefix}{path}"), authority.as_str()),
        };
        let uri: Uri = uri
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))?;
        let mut req = Request::builder().method(method).uri(uri);
        let map = req.headers_mut().expect("a fresh request builder");
        map.insert(
            header::HOST,
            HeaderValue::from_str(host).map_err(|e| bad(e.to_string()))?,
        );
        map.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if let Some(b) = &body {
            map.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(b.content_type),
            );
        }
        for (k, v) in headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(format!("{k}: {e}")))?;
            let value = HeaderValue::from_str(v).map_err(|e| bad(format!("{k}: {e}")))?;
            map.insert(name, value);
        }
        let bytes = body.map(|b| b.bytes).unwrap_or_default();
        req.body(Full::new(bytes)).map_err(|e| bad(e.to_string()))
    }

    /// "Incus at unix socket PATH" / "remote lo (https://...)".
    fn daemon(&self) -> String {
        match &self.target {
            Target::Unix { path, .. } if self.remote == super::config::LOCAL => {
                format!("Incus at unix socket {}", path.display())
            }
            t => format!("remote {} ({t})", self.remote),
        }
    }

    async fn send(&self, request: Request<Full<Bytes>>, what: &str) -> Result<Answer> {
        let broke = |e: hyper::Error| {
            Error::Unreachable(format!("{} broke off {what}: {e}", self.daemon()))
        };
        match &self.target {
            Target::Unix { path, origin } => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| unix_error(path, origin, e))?;
                drive(stream, request).await.map_err(broke)
            }
            Target::Https {
                host,
                port,
                name,
                url,
                ..
            } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| {
                        Error::Unreachable(format!(
                            "cannot reach remote {} at {url}: {e}",
                            self.remote
                        ))
                    })?;
                let _ = tcp.set_nodelay(true);
                let config = self
                    .tls
                    .clone()
                    .expect("TLS configured for an HTTPS address");
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.tls_error(url, e))?;
                drive(tls, request).await.map_err(broke)
            }
        }
    }

    fn tls_error(&self, url: &str, e: std::io::Error) -> Error {
        let rustls_error = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(o)))) =
            rustls_error
        {
            if let Some(refused) = o.downcast_ref::<Refused>() {
                return Error::Unreachable(format!(
                    "refusing remote {} at {url}: {refused}",
                    self.remote
                ));
            }
        }
        let why = match rustls_error {
            Some(r) => r.to_string(),
            None => e.to_string(),
        };
        Error::Unreachable(format!(
            "TLS with remote {} at {url} failed: {why}",
            self.remote
        ))
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", d.as_secs())
    } else {
        format!("{s:.1}")
    }
}

fn unix_error(path: &std::path::Path, origin: &str, e: std::io::Error) -> Error {
    use std::io::ErrorKind::*;
    let p = path.display();
    let msg = match e.kind() {
        NotFound => format!(
            "no socket at {p} (from {origin}): is the Incus daemon running? check it with `incus info`"
        ),
        ConnectionRefused => format!(
            "nothing listens on {p} (from {origin}): is the Incus daemon running? check it with `incus info`"
        ),
        PermissionDenied => {
            format!("no permission to use {p} (from {origin}): are you in the incus-admin group?")
        }
        _ => format!("cannot connect to {p} (from {origin}): {e}"),
    };
    Error::Unreachable(format!("cannot reach Incus: {msg}"))
}

/// Sends `request` on a new HTTP/1.1 connection over `io` and reads the whole answer,
/// driving the connection in the same task (no task is spawned).
async fn drive<S>(io: S, request: Request<Full<Bytes>>) -> std::result::Result<Answer, hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake(TokioIo::new(io)).await?;
    let exchange = async move {
        let resp = sender.send_request(request).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    };
    let mut exchange = pin!(exchange);
    let mut conn = pin!(conn);
    let mut conn_done = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = exchange.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if !conn_done {
            if let Poll::Ready(r) = conn.as_mut().poll(cx) {
                conn_done = true;
                if let Err(e) = r {
                    return Poll::Ready(Err(e));
                }
                // Closed cleanly: what it delivered is for the exchange to read.
                return exchange.as_mut().poll(cx);
            }
        }
        Poll::Pending
    })
    .await
}

/// `/1.0/operations/ID/wait?timeout=N`, keeping the operation URL's query (`project=`).
fn wait_path(operation: &str, timeout_secs: u64) -> Result<String> {
    let op = operation.trim();
    let (path, query) = op.split_once('?').unwrap_or((op, ""));
    let id = path.strip_prefix("/1.0/operations/").unwrap_or(path);
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Incus(format!("not an operation: {operation:?}")));
    }
    let mut p = format!("/1.0/operations/{id}/wait?timeout={timeout_secs}");
    if !query.is_empty() {
        p.push('&');
        p.push_str(query);
    }
    Ok(p)
}

/// An operation object's outcome: running, done, or its error.
fn operation_outcome(op: Value) -> Result<Option<Value>> {
    let code = op.get("status_code").and_then(Value::as_u64);
    match code {
        Some(c) if c < 200 => Ok(None),
        Some(200) => Ok(Some(op)),
        Some(_) => {
            let err = op
                .get("err")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .or_else(|| op.get("status").and_then(Value::as_str))
                .unwrap_or("the operation failed");
            Err(Error::Incus(err.to_string()))
        }
        None => Err(Error::Incus(format!(
            "unexpected answer from Incus to an operation wait: {op}"
        ))),
    }
}

/// The rustls client configuration of an HTTPS remote.
fn tls_config(remote: &str, files: &TlsFiles) -> Result<ClientConfig> {
    let bad = |pem: &Pem, why: String| {
        Error::Usage(format!("remote {remote}: {}: {why}", pem.path.display()))
    };
    let certs = |pem: &Pem| -> Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_slice_iter(&pem.data)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(pem, format!("not a PEM certificate ({e})")))?;
        if certs.is_empty() {
            return Err(bad(pem, "no certificate in it".into()));
        }
        Ok(certs)
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&files.client_cert)?;
    let key = PrivateKeyDer::from_pem_slice(&files.client_key.data)
        .map_err(|e| bad(&files.client_key, format!("not a PEM private key ({e})")))?;
    let pinned = match &files.server_cert {
        Some(pem) => Some((certs(pem)?.swap_remove(0), pem.path.clone())),
        None => None,
    };
    let ca = match &files.ca {
        Some(pem) => {
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(certs(pem)?);
            if added == 0 {
                return Err(bad(pem, "no usable CA certificate in it".into()));
            }
            Some((Arc::new(store), pem.path.clone()))
        }
        None => None,
    };
    let verifier = Arc::new(Verifier {
        remote: remote.to_string(),
        pinned,
        ca,
        standard: OnceLock::new(),
        provider: provider.clone(),
    });
    let versions: &[&rustls::SupportedProtocolVersion] = if files.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::Failed(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            bad(
                &files.client_key,
                format!("does not go with {}: {e}", files.client_cert.path.display()),
            )
        })?;
    Ok(config)
}

/// Why a server certificate was refused (carried through rustls to the error).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The server check of an HTTPS remote: the pinned certificate exactly, else a
/// standard chain check (the remote's CA, or the system roots).
#[derive(Debug)]
struct Verifier {
    remote: String,
    pinned: Option<(CertificateDer<'static>, PathBuf)>,
    ca: Option<(Arc<RootCertStore>, PathBuf)>,
    /// Built on first need: loading the system roots costs a few milliseconds.
    standard: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, String>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    fn standard(&self) -> std::result::Result<Arc<WebPkiServerVerifier>, String> {
        self.standard
            .get_or_init(|| {
                let roots = match &self.ca {
                    Some((store, _)) => store.clone(),
                    None => {
                        let found = rustls_native_certs::load_native_certs();
                        let mut store = RootCertStore::empty();
                        store.add_parsable_certificates(found.certs);
                        if store.is_empty() {
                            return Err("no system root certificate found".to_string());
                        }
                        Arc::new(store)
                    }
                };
                WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some((pinned, _)) = &self.pinned {
            if end_entity.as_ref() == pinned.as_ref() {
                return Ok(ServerCertVerified::assertion());
            }
        }
        let why = match self.standard() {
            Ok(v) => match v.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(ok) => return Ok(ok),
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                    "signed by no authority we trust".to_string()
                }
                Err(rustls::Error::InvalidCertificate(e)) => e.to_string(),
                Err(e) => e.to_string(),
            },
            Err(e) => e,
        };
        let message = match (&self.pinned, &self.ca) {
            (Some((_, path)), _) => format!(
                "its certificate is not the one pinned in {}; if the server was \
                 reinstalled, check its fingerprint and add the remote again",
                path.display()
            ),
            (None, Some((_, path))) => format!(
                "its certificate is not signed by the CA of {} ({why})",
                path.display()
            ),
            (None, None) => format!(
                "its certificate is not trusted ({why}) and none is pinned for remote {} \
                 (servercerts/{}.crt); add the remote with `incus remote add`",
                self.remote, self.remote
            ),
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(Refused(message))),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::sync::Mutex;
    use std::thread::JoinHandle;
    use std::time::Instant;

    use serde_json::json;

    const T: Duration = Duration::from_secs(5);

    /// An HTTP/1.1 answer as a daemon sends it.
    fn http(status: u16, headers: &[(&str, &str)], body: &str) -> String {
        let reason = hyper::http::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap_or("");
        let mut s = format!("HTTP/1.1 {status} {reason}\r\n");
        for (k, v) in headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        s
    }

    fn sync(metadata: Value) -> String {
        http(
            200,
            &[("Content-Type", "application/json"), ("ETag", "\"e1\"")],
            &json!({"type": "sync", "status": "Success", "status_code": 200,
                    "operation": "", "error_code": 0, "error": "", "metadata": metadata})
            .to_string(),
        )
    }

    fn error(status: u16, message: &str) -> String {
        http(
            status,
            &[("Content-Type", "application/json")],
            &json!({"type": "error", "status": "", "status_code": 0, "operation": "",
                    "error_code": status, "error": message, "metadata": null})
            .to_string(),
        )
    }

    fn operation(id: &str, code: u64, err: &str) -> Value {
        json!({"id": id, "class": "task", "status_code": code,
               "status": if code == 200 { "Success" } else if code < 200 { "Running" } else { "Failure" },
               "err": err, "metadata": {"fingerprint": "abc"}})
    }

    fn accepted(id: &str) -> String {
        http(
            202,
            &[
                ("Content-Type", "application/json"),
                ("Location", "/1.0/operations/x"),
            ],
            &json!({"type": "async", "status": "Operation created", "status_code": 100,
                    "operation": format!("/1.0/operations/{id}?project=p"), "error_code": 0,
                    "error": "", "metadata": operation(id, 103, "")})
            .to_string(),
        )
    }

    /// Reads one HTTP request (headers, then Content-Length bytes of body).
    fn read_request(s: &mut impl Read) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte)? == 0 {
                return Ok(buf);
            }
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_lowercase();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse::<usize>().unwrap())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        s.read_exact(&mut body)?;
        buf.extend(body);
        Ok(buf)
    }

    /// A daemon on a unix socket that answers each connection with the next answer.
    struct Fake {
        _dir: tempfile::TempDir,
        path: PathBuf,
        seen: Arc<Mutex<Vec<Vec<u8>>>>,
        thread: Option<JoinHandle<()>>,
    }

    impl Fake {
        fn new(answers: Vec<String>) -> Fake {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("unix.socket");
            let listener = UnixListener::bind(&path).unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let seen2 = seen.clone();
            let thread = std::thread::spawn(move || {
                for answer in answers {
                    let (mut s, _) = listener.accept().unwrap();
                    s.set_read_timeout(Some(T)).unwrap();
                    let req = read_request(&mut s).unwrap();
                    seen2.lock().unwrap().push(req);
                    let _ = s.write_all(answer.as_bytes());
                }
            });
            Fake {
                _dir: dir,
                path,
                seen,
                thread: Some(thread),
            }
        }

        fn endpoint(&self) -> Endpoint {
            unix_endpoint(&self.path)
        }

        fn client(&self) -> Native {
            Native::connect(&self.endpoint(), T).unwrap()
        }

        /// The requests received so far, as text.
        fn requests(&mut self) -> Vec<String> {
            if let Some(t) = self.thread.take() {
                t.join().unwrap();
            }
            self.seen
                .lock()
                .unwrap()
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect()
        }
    }

    fn unix_endpoint(path: &std::path::Path) -> Endpoint {
        Endpoint {
            remote: "local".into(),
            project: None,
            addrs: vec![Address::Unix {
                path: path.to_path_buf(),
                origin: "the test".into(),
            }],
            tls: None,
        }
    }

    #[test]
    fn native_is_shared_across_threads() {
        fn check<X: Send + Sync>() {}
        check::<Native>();
    }

    #[test]
    fn several_threads_share_one_client() {
        let n = 8;
        let mut fake = Fake::new((0..n).map(|i| sync(json!({ "i": i }))).collect());
        let c = fake.client();
        let got: Vec<Value> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..2)
                            .map(|_| c.request("GET", "/1.0", None, &[]).unwrap().body)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(got.len(), n);
        assert_eq!(fake.requests().len(), n);
    }

    #[test]
    fn a_sync_answer_gives_metadata_and_etag() {
        let mut fake = Fake::new(vec![sync(json!({"api_version": "1.0"}))]);
        let r = fake.client().request("GET", "/1.0", None, &[]).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, json!({"api_version": "1.0"}));
        assert_eq!(r.etag.as_deref(), Some("\"e1\""));
        assert_eq!(r.operation, None);
        let req = &fake.requests()[0];
        assert!(req.starts_with("GET /1.0 HTTP/1.1\r\n"), "{req}");
        let lower = req.to_lowercase();
        assert!(lower.contains("host: unix.socket\r\n"), "{req}");
        assert!(lower.contains("user-agent: golden/"), "{req}");
    }

    #[test]
    fn headers_and_a_json_body_are_sent() {
        let mut fake = Fake::new(vec![sync(json!({}))]);
        fake.client()
            .request(
                "PUT",
                "/1.0/instances/a?project=p",
                Some(&json!({"config": {"k": "v"}})),
                &[("If-Match", "\"e1\"")],
            )
            .unwrap();
        let req = &fake.requests()[0];
        assert!(
            req.starts_with("PUT /1.0/instances/a?project=p HTTP/1.1\r\n"),
            "{req}"
        );
        let lower = req.to_lowercase();
        assert!(lower.contains("if-match: \"e1\"\r\n"), "{req}");
        assert!(
            lower.contains("content-type: application/json\r\n"),
            "{req}"
        );
        assert!(req.ends_with("\r\n\r\n{\"config\":{\"k\":\"v\"}}"), "{req}");
    }

    #[test]
    fn an_error_envelope_is_incus_error_with_its_status() {
        let mut fake = Fake::new(vec![
            error(404, "Instance not found"),
            error(412, "ETag doesn't match: a vs b"),
            error(403, "not authorized"),
        ]);
        let c = fake.client();
        let e = c.request("GET", "/1.0/instances/x", None, &[]).unwrap_err();
        assert!(
            matches!(&e, Error::Incus(m) if m == "Instance not found"),
            "{e:?}"
        );
        let e = c
            .try_request(
                "PUT",
                "/1.0/instances/x",
                Some(&json!({})),
                &[("If-Match", "a")],
            )
            .unwrap()
            .unwrap_err();
        assert!(e.is_precondition_failed() && !e.is_not_found(), "{e:?}");
        assert_eq!(e.message, "ETag doesn't match: a vs b");
        let e = c
            .try_request("GET", "/1.0", None, &[])
            .unwrap()
            .unwrap_err();
        assert_eq!(e.status, 403);
        assert_eq!(fake.requests().len(), 3);
    }

    #[test]
    fn a_refusal_without_json_keeps_its_status() {
        let mut fake = Fake::new(vec![http(502, &[], "bad gateway"), http(404, &[], "")]);
        let c = fake.client();
        let e = c
            .try_request("GET", "/1.0", None, &[])
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (502, "HTTP 502 Bad Gateway: bad gateway")
        );
        let e = c.try_request("GET", "/x", None, &[]).unwrap().unwrap_err();
        assert!(e.is_not_found());
        fake.requests();
    }

    #[test]
    fn an_unreadable_success_is_an_incus_error() {
        let mut fake = Fake::new(vec![http(200, &[], "not json")]);
        let e = fake.client().request("GET", "/1.0", None, &[]).unwrap_err();
        assert!(
            matches!(&e, Error::Incus(m) if m.contains("unreadable answer from Incus to GET /1.0")),
            "{e:?}"
        );
        fake.requests();
    }

    #[test]
    fn an_async_answer_and_its_operation() {
        let id = "5e0b2ea1-1c62-4c11-a6a4-0d1c1b0e6f3a";
        let mut fake = Fake::new(vec![
            accepted(id),
            sync(operation(id, 103, "")),
            sync(operation(id, 200, "")),
            sync(operation(id, 400, "Failed to copy: disk full")),
        ]);
        let c = fake.client();
        let r = c
            .request(
                "POST",
                "/1.0/instances?project=p",
                Some(&json!({"name": "x"})),
                &[],
            )
            .unwrap();
        assert_eq!(r.status, 202);
        let op = r.operation.unwrap();
        assert_eq!(op, format!("/1.0/operations/{id}?project=p"));
        assert_eq!(r.body["id"], id);
        assert_eq!(c.wait_operation(&op, 7).unwrap(), None, "still running");
        let done = c.wait_operation(id, 0).unwrap().unwrap();
        assert_eq!(done["metadata"]["fingerprint"], "abc");
        let e = c.wait_operation(&op, 1).unwrap_err();
        assert!(
            matches!(&e, Error::Incus(m) if m == "Failed to copy: disk full"),
            "{e:?}"
        );
        let reqs = fake.requests();
        assert!(
            reqs[1].starts_with(&format!(
                "GET /1.0/operations/{id}/wait?timeout=7&project=p "
            )),
            "{}",
            reqs[1]
        );
        assert!(
            reqs[2].starts_with(&format!("GET /1.0/operations/{id}/wait?timeout=0 ")),
            "{}",
            reqs[2]
        );
    }

    #[test]
    fn run_waits_for_the_operation_to_end() {
        let id = "op1";
        let mut fake = Fake::new(vec![
            accepted(id),
            sync(operation(id, 103, "")),
            sync(operation(id, 200, "")),
            sync(json!({"name": "x"})),
        ]);
        let c = fake.client();
        let meta = c.run("POST", "/1.0/images", Some(&json!({})), &[]).unwrap();
        assert_eq!(meta, json!({"fingerprint": "abc"}));
        // A sync answer is its metadata.
        assert_eq!(
            c.run("GET", "/1.0/instances/x", None, &[]).unwrap(),
            json!({"name": "x"})
        );
        assert_eq!(fake.requests().len(), 4);
    }

    #[test]
    fn an_operation_id_is_checked() {
        assert_eq!(
            wait_path("abc-1", 3).unwrap(),
            "/1.0/operations/abc-1/wait?timeout=3"
        );
        assert!(wait_path("/1.0/operations/../x", 3).is_err());
        assert!(wait_path("", 3).is_err());
        assert!(wait_path("a b", 3).is_err());
    }

    #[test]
    fn bytes_in_and_out_for_the_files_api() {
        let content = "ssh-ed25519 AAAA\n";
        let mut fake = Fake::new(vec![
            sync(json!({})),
            http(
                200,
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("X-Incus-uid", "0"),
                    ("X-Incus-gid", "0"),
                    ("X-Incus-mode", "0600"),
                    ("X-Incus-type", "file"),
                ],
                content,
            ),
            error(404, "Not found"),
        ]);
        let c = fake.client();
        let r = c
            .request_bytes(
                "POST",
                "/1.0/instances/a/files?path=%2Froot%2Fk&project=p",
                Some(b"\x00\x01secret"),
                &[
                    ("X-Incus-uid", "0"),
                    ("X-Incus-gid", "0"),
                    ("X-Incus-mode", "0600"),
                    ("X-Incus-type", "file"),
                    ("X-Incus-write", "overwrite"),
                ],
            )
            .unwrap();
        assert_eq!(r.status, 200);
        let r = c
            .request_bytes("GET", "/1.0/instances/a/files?path=%2Froot%2Fk", None, &[])
            .unwrap();
        assert_eq!(r.body, content.as_bytes());
        assert_eq!(r.header("x-incus-mode"), Some("0600"));
        assert_eq!(r.header("X-INCUS-TYPE"), Some("file"));
        let e = c
            .try_request_bytes("GET", "/1.0/instances/a/files?path=%2Fnone", None, &[])
            .unwrap()
            .unwrap_err();
        assert!(e.is_not_found());
        let reqs = fake.requests();
        let lower = reqs[0].to_lowercase();
        assert!(
            lower.contains("content-type: application/octet-stream\r\n"),
            "{}",
            reqs[0]
        );
        assert!(lower.contains("x-incus-mode: 0600\r\n"), "{}", reqs[0]);
        assert!(reqs[0].as_bytes().ends_with(b"\r\n\r\n\x00\x01secret"));
    }

    #[test]
    fn a_missing_socket_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing/unix.socket");
        let c = Native::connect(&unix_endpoint(&path), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        let Error::Unreachable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains(&format!("no socket at {}", path.display())),
            "{m}"
        );
        assert!(m.contains("(from the test)"), "{m}");
    }

    #[test]
    fn a_socket_nobody_listens_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unix.socket");
        drop(UnixListener::bind(&path).unwrap());
        let c = Native::connect(&unix_endpoint(&path), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        assert!(
            matches!(&e, Error::Unreachable(m) if m.contains("nothing listens on")),
            "{e:?}"
        );
    }

    #[test]
    fn a_daemon_that_accepts_but_never_answers_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unix.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let holder = std::thread::spawn(move || {
            // Accept and hold the connection, reading nothing back.
            let (s, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_secs(3));
            drop(s);
        });
        let c = Native::connect(&unix_endpoint(&path), Duration::from_millis(400)).unwrap();
        let started = Instant::now();
        let e = c.request("GET", "/1.0/instances", None, &[]).unwrap_err();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(2),
            "{took:?}"
        );
        let Error::Unreachable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("did not answer GET /1.0/instances within 0.4 s"),
            "{m}"
        );
        assert!(m.contains(&path.display().to_string()), "{m}");
        holder.join().unwrap();
    }

    #[test]
    fn a_wait_gets_its_seconds_on_top_of_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unix.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s).unwrap();
            // The daemon holds a wait for its timeout, then answers.
            std::thread::sleep(Duration::from_millis(1200));
            s.write_all(sync(operation("o", 103, "")).as_bytes())
                .unwrap();
        });
        let c = Native::connect(&unix_endpoint(&path), Duration::from_millis(500)).unwrap();
        assert_eq!(c.wait_operation("o", 1).unwrap(), None);
        server.join().unwrap();
    }

    #[test]
    fn a_daemon_that_hangs_up_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unix.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s).unwrap();
            drop(s);
        });
        let c = Native::connect(&unix_endpoint(&path), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        assert!(
            matches!(&e, Error::Unreachable(m) if m.contains("broke off GET /1.0")),
            "{e:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn several_addresses_keep_the_first_that_answers() {
        let dir = tempfile::tempdir().unwrap();
        let mut fake = Fake::new(vec![sync(json!({})), sync(json!({"second": true}))]);
        let mut ep = fake.endpoint();
        ep.addrs.insert(
            0,
            Address::Unix {
                path: dir.path().join("gone.socket"),
                origin: "the test".into(),
            },
        );
        let c = Native::connect(&ep, T).unwrap();
        assert_eq!(c.address(), format!("unix socket {}", fake.path.display()));
        assert_eq!(
            c.request("GET", "/1.0", None, &[]).unwrap().body["second"],
            true
        );
        assert_eq!(fake.requests().len(), 2);
        // None answers: every address is named.
        let mut ep = unix_endpoint(&dir.path().join("a.socket"));
        ep.addrs.push(Address::Unix {
            path: dir.path().join("b.socket"),
            origin: "the test".into(),
        });
        let e = Native::connect(&ep, T).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("a.socket") && m.contains("b.socket"), "{m}");
    }

    #[test]
    fn bad_requests_are_refused_before_sending() {
        let fake = Fake::new(vec![]);
        let c = fake.client();
        assert!(c.request("GET", "1.0", None, &[]).is_err());
        assert!(c.request("GE T", "/1.0", None, &[]).is_err());
        assert!(c
            .request("GET", "/1.0", None, &[("X-Bad", "a\nb")])
            .is_err());
        assert!(c.request("GET", "/1.0 x", None, &[]).is_err());
    }

    // ---- HTTPS, against a TLS server in the test ---------------------------

    const SERVER_CRT: &str = include_str!("testdata/server.crt");
    const SERVER_KEY: &str = include_str!("testdata/server.key");
    const OTHER_CRT: &str = include_str!("testdata/other.crt");
    const CLIENT_CRT: &str = include_str!("testdata/client.crt");
    const CLIENT_KEY: &str = include_str!("testdata/client.key");
    const CA_CRT: &str = include_str!("testdata/ca.crt");
    const PKI_CRT: &str = include_str!("testdata/pki-server.crt");
    const PKI_KEY: &str = include_str!("testdata/pki-server.key");

    fn pem(name: &str, text: &str) -> Pem {
        Pem {
            path: PathBuf::from(format!("/conf/{name}")),
            data: text.as_bytes().to_vec(),
        }
    }

    /// Accepts any client certificate, keeping it for the test to look at.
    #[derive(Debug)]
    struct AnyClient(Arc<CryptoProvider>);

    impl rustls::server::danger::ClientCertVerifier for AnyClient {
        fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
            &[]
        }
        fn verify_client_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: UnixTime,
        ) -> std::result::Result<rustls::server::danger::ClientCertVerified, rustls::Error>
        {
            Ok(rustls::server::danger::ClientCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// What the TLS server saw of one connection.
    #[derive(Debug, Default, Clone)]
    struct Seen {
        client_cert: Option<Vec<u8>>,
        version: Option<rustls::ProtocolVersion>,
        request: String,
        error: Option<String>,
    }

    /// A TLS server on 127.0.0.1 answering `connections` connections with `answer`.
    fn tls_server(
        crt: &str,
        key: &str,
        tls12_only: bool,
        connections: usize,
        answer: String,
    ) -> (u16, JoinHandle<Vec<Seen>>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<_> = CertificateDer::pem_slice_iter(crt.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(versions)
                .unwrap()
                .with_client_cert_verifier(Arc::new(AnyClient(provider)))
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..connections {
                let (tcp, _) = listener.accept().unwrap();
                tcp.set_read_timeout(Some(T)).unwrap();
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut s = Seen::default();
                match read_request(&mut tls) {
                    Ok(req) if !req.is_empty() => {
                        s.request = String::from_utf8_lossy(&req).into_owned();
                        s.client_cert = tls
                            .conn
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| c.as_ref().to_vec());
                        s.version = tls.conn.protocol_version();
                        let _ = tls.write_all(answer.as_bytes());
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                    Ok(_) => s.error = Some("closed".into()),
                    Err(e) => s.error = Some(e.to_string()),
                }
                seen.push(s);
            }
            seen
        });
        (port, thread)
    }

    fn https_endpoint(port: u16, pinned: Option<&str>, ca: Option<&str>, tls12: bool) -> Endpoint {
        Endpoint {
            remote: "lo".into(),
            project: None,
            addrs: vec![Address::Https(format!("https://127.0.0.1:{port}"))],
            tls: Some(Box::new(TlsFiles {
                client_cert: pem("client.crt", CLIENT_CRT),
                client_key: pem("client.key", CLIENT_KEY),
                ca: ca.map(|c| pem("client.ca", c)),
                server_cert: pinned.map(|p| pem("servercerts/lo.crt", p)),
                allow_tls12: tls12,
            })),
        }
    }

    fn der(pem_text: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem_text.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn https_with_the_pinned_certificate_and_our_client_certificate() {
        let (port, server) = tls_server(
            SERVER_CRT,
            SERVER_KEY,
            false,
            1,
            sync(json!({"auth": "trusted"})),
        );
        let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
        let r = c.request("GET", "/1.0", None, &[]).unwrap();
        assert_eq!(r.body["auth"], "trusted");
        let seen = server.join().unwrap();
        assert_eq!(
            seen[0].client_cert.as_deref(),
            Some(der(CLIENT_CRT).as_slice())
        );
        assert_eq!(seen[0].version, Some(rustls::ProtocolVersion::TLSv1_3));
        assert!(
            seen[0]
                .request
                .to_lowercase()
                .contains(&format!("host: 127.0.0.1:{port}\r\n")),
            "{}",
            seen[0].request
        );
    }

    #[test]
    fn https_refuses_a_server_that_is_not_the_pinned_one() {
        let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
        let c = Native::connect(&https_endpoint(port, Some(OTHER_CRT), None, false), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        let Error::Unreachable(m) = &e else {
            panic!("{e:?}")
        };
        assert!(
            m.starts_with(&format!("refusing remote lo at https://127.0.0.1:{port}: its certificate is not the one pinned in /conf/servercerts/lo.crt")),
            "{m}"
        );
        assert!(!m.contains('\n'), "{m}");
        assert!(server.join().unwrap()[0].error.is_some());
    }

    #[test]
    fn https_without_a_pinned_certificate_needs_a_trusted_one() {
        let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
        let c = Native::connect(&https_endpoint(port, None, None, false), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("its certificate is not trusted"), "{m}");
        assert!(m.contains("servercerts/lo.crt"), "{m}");
        server.join().unwrap();
    }

    #[test]
    fn https_with_the_remote_ca_in_pki_mode() {
        let (port, server) = tls_server(PKI_CRT, PKI_KEY, false, 2, sync(json!({})));
        // Signed by the CA, nothing pinned.
        let c = Native::connect(&https_endpoint(port, None, Some(CA_CRT), false), T).unwrap();
        c.request("GET", "/1.0", None, &[]).unwrap();
        // A stale pin does not refuse a server the CA vouches for (incus adds the
        // pinned certificate to the roots; it does not replace them).
        let c = Native::connect(
            &https_endpoint(port, Some(OTHER_CRT), Some(CA_CRT), false),
            T,
        )
        .unwrap();
        c.request("GET", "/1.0", None, &[]).unwrap();
        server.join().unwrap();
        // A CA that did not sign it: refused, naming the CA file.
        let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
        let c = Native::connect(&https_endpoint(port, None, Some(CA_CRT), false), T).unwrap();
        let m = c.request("GET", "/1.0", None, &[]).unwrap_err().to_string();
        assert!(m.contains("not signed by the CA of /conf/client.ca"), "{m}");
        server.join().unwrap();
    }

    #[test]
    fn https_is_tls13_unless_insecure_tls_allows_tls12() {
        let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, true, 2, sync(json!({})));
        let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
        let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
        assert!(
            matches!(&e, Error::Unreachable(m) if m.starts_with("TLS with remote lo at")),
            "{e:?}"
        );
        let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, true), T).unwrap();
        c.request("GET", "/1.0", None, &[]).unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen[1].version, Some(rustls::ProtocolVersion::TLSv1_2));
    }

    #[test]
    fn https_to_nothing_and_bad_files() {
        // A port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
        let m = c.request("GET", "/1.0", None, &[]).unwrap_err().to_string();
        assert!(
            m.starts_with(&format!(
                "cannot reach remote lo at https://127.0.0.1:{port}: "
            )),
            "{m}"
        );
        // A key that is not the certificate's.
        let mut ep = https_endpoint(port, None, None, false);
        ep.tls.as_mut().unwrap().client_key = pem("client.key", SERVER_KEY);
        let e = Native::connect(&ep, T).unwrap_err();
        assert!(
            matches!(&e, Error::Usage(m) if m.contains("/conf/client.key")),
            "{e:?}"
        );
        // Not PEM at all.
        let mut ep = https_endpoint(port, None, None, false);
        ep.tls.as_mut().unwrap().client_cert = pem("client.crt", "junk");
        let e = Native::connect(&ep, T).unwrap_err();
        assert!(e.to_string().contains("/conf/client.crt"), "{e}");
    }

    #[test]
    fn https_addresses_are_parsed() {
        let t = Target::from_address(&Address::Https("https://[::1]:9443/base".into())).unwrap();
        let Target::Https {
            host,
            port,
            authority,
            prefix,
            ..
        } = t
        else {
            panic!()
        };
        assert_eq!(
            (host.as_str(), port, authority.as_str(), prefix.as_str()),
            ("::1", 9443, "[::1]:9443", "/base")
        );
        let t = Target::from_address(&Address::Https("https://h.example".into())).unwrap();
        assert!(matches!(t, Target::Https { port: 443, .. }));
        assert!(Target::from_address(&Address::Https("http://h".into())).is_err());
    }
}
