//! One HTTP exchange: the request built, a new connection (unix socket, or TCP then
//! TLS), the whole answer read, all of it within a timeout; failures to connect are
//! [`Error::Unreachable`] naming the socket or the address.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::http::{header, HeaderName, HeaderValue, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::answer::Answer;
use super::target::Target;
use super::Native;
use crate::error::{Error, Result};
use crate::incus::config::LOCAL;

const USER_AGENT: &str = concat!("golden/", env!("CARGO_PKG_VERSION"));

/// A body to send, and its type unless the caller's headers say it.
pub(super) struct Body {
    pub(super) bytes: Bytes,
    pub(super) content_type: &'static str,
}

impl Native {
    /// One HTTP exchange on a new connection, all of it within `timeout`.
    pub(super) fn exchange(
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
            Target::Unix { path, .. } if self.remote == LOCAL => {
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
