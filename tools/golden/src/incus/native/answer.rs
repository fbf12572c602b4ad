//! What the daemon answered: a [`Response`] read from its JSON envelope, a
//! [`RawResponse`] of bytes (the files API), or its refusal as an [`ApiError`].

use bytes::Bytes;
use hyper::http::{header, HeaderMap};
use serde_json::Value;

use crate::error::{Error, Origin, Result};

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

/// The daemon said no: its message and the HTTP status. Converts into
/// [`Error::Incus`], status kept (its kind read by `crate::incus::Kind::of`).
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
        crate::incus::kind::refusal(Origin::Request(e.status), e.message).into()
    }
}

/// What one exchange brought back, before it is read as JSON or bytes.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
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

    pub(super) fn into_response(
        self,
        what: &str,
    ) -> Result<std::result::Result<Response, ApiError>> {
        let etag = self.etag();
        let v: Value = match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(_) if self.status >= 400 => return Ok(Err(self.api_error())),
            Err(e) => {
                return Err(Error::Failed(format!(
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

    pub(super) fn into_raw(self) -> std::result::Result<RawResponse, ApiError> {
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
