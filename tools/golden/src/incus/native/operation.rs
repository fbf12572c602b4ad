//! An async answer's operation, waited for: `GET /1.0/operations/ID/wait`, with the
//! wait's own seconds on top of the client's timeout.

use std::time::Duration;

use serde_json::Value;

use super::Native;
use crate::error::{Error, Origin, Result};
use crate::incus::kind::refusal;

impl Native {
    /// Waits up to `timeout_secs` for an operation (its URL `/1.0/operations/ID[?...]`
    /// or its ID) through `GET /1.0/operations/ID/wait?timeout=N`. `Ok(None)`: still
    /// running; `Ok(Some(op))`: succeeded, the operation object (its `metadata` holds
    /// what it made); a failed or cancelled operation is [`Error::Incus`] with its `err`
    /// and its metadata (what it made before failing).
    ///
    /// Incus 6.0.4 answers a wait that did not see the operation succeed with an
    /// error instead of the operation: the operation's `err` without its metadata
    /// when it failed, "context deadline exceeded" when the wait's seconds ran out
    /// first. The operation itself, which the daemon keeps a few seconds after its
    /// end, says which: it is read then, and only when it cannot be is the wait's
    /// error returned.
    pub fn wait_operation(&self, operation: &str, timeout_secs: u64) -> Result<Option<Value>> {
        let path = wait_path(operation, timeout_secs)?;
        let patience = self.timeout + Duration::from_secs(timeout_secs);
        match self.json_exchange("GET", &path, None, &[], patience)? {
            Ok(answer) => operation_outcome(answer.body),
            Err(refused) => {
                let path = operation_path(operation)?;
                match self.json_exchange("GET", &path, None, &[], self.timeout)? {
                    Ok(answer) => operation_outcome(answer.body),
                    Err(_) => Err(refused.into()),
                }
            }
        }
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
}

/// An operation's URL or ID, checked: its ID and the URL's query (`project=`).
fn operation_id(operation: &str) -> Result<(&str, &str)> {
    let op = operation.trim();
    let (path, query) = op.split_once('?').unwrap_or((op, ""));
    let id = path.strip_prefix("/1.0/operations/").unwrap_or(path);
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::Failed(format!("not an operation: {operation:?}")));
    }
    Ok((id, query))
}

/// `/1.0/operations/ID/wait?timeout=N`, keeping the operation URL's query (`project=`).
pub(super) fn wait_path(operation: &str, timeout_secs: u64) -> Result<String> {
    let (id, query) = operation_id(operation)?;
    let mut p = format!("/1.0/operations/{id}/wait?timeout={timeout_secs}");
    if !query.is_empty() {
        p.push('&');
        p.push_str(query);
    }
    Ok(p)
}

/// `/1.0/operations/ID`, keeping the operation URL's query.
pub(super) fn operation_path(operation: &str) -> Result<String> {
    let (id, query) = operation_id(operation)?;
    Ok(match query {
        "" => format!("/1.0/operations/{id}"),
        q => format!("/1.0/operations/{id}?{q}"),
    })
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
            let metadata = op.get("metadata").cloned().unwrap_or(Value::Null);
            Err(refusal(Origin::Operation, err)
                .with_metadata(metadata)
                .into())
        }
        None => Err(Error::Failed(format!(
            "unexpected answer from Incus to an operation wait: {op}"
        ))),
    }
}
