//! Operations: the daemon's long-running work, waited for or watched.
//!
//! A method that starts one returns an [`Operation`], as Incus's own Go
//! client does: a handle to wait on, with its progress, whose result is what
//! the operation made, read in one place (the method that started it).

use serde_json::Value;
use std::collections::BTreeMap;

use super::client::enc;
use super::Incus;
use crate::error::{Error, Result};

/// How long one wait for an operation lasts when nobody watches it.
const UNWATCHED_WAIT_SECS: u64 = 600;

/// How an operation's outcome (its metadata, or its error) becomes its result.
type Outcome<T> = Box<dyn FnOnce(&Incus, Result<Value>) -> Result<T> + Send>;

/// An operation under way on the daemon, and what it will have made.
#[must_use = "an operation runs on the daemon: wait for it"]
pub struct Operation<T> {
    incus: Incus,
    id: String,
    outcome: Outcome<T>,
}

impl<T> std::fmt::Debug for Operation<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").field("id", &self.id).finish()
    }
}

impl<T> Operation<T> {
    /// The operation `id`, whose outcome `outcome` reads as its result.
    pub(super) fn new(
        incus: &Incus,
        id: String,
        outcome: impl FnOnce(&Incus, Result<Value>) -> Result<T> + Send + 'static,
    ) -> Self {
        Operation {
            incus: incus.clone(),
            id,
            outcome: Box::new(outcome),
        }
    }

    /// The daemon's id of it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for its end: what it made, or its error.
    pub fn wait(self) -> Result<T> {
        let done = loop {
            match self.incus.wait(&self.id, UNWATCHED_WAIT_SECS) {
                Ok(None) => continue,
                Ok(Some(meta)) => break Ok(meta),
                Err(e) => break Err(e),
            }
        };
        (self.outcome)(&self.incus, done)
    }

    /// Waits for its end, telling `progress` each second how far it has got
    /// in percent, when the daemon says so (image packing does).
    pub fn wait_with_progress(self, mut progress: impl FnMut(u64)) -> Result<T> {
        let done = loop {
            match self.incus.wait(&self.id, 1) {
                Ok(None) => {
                    if let Some(p) = self.incus.operation_percent(&self.id) {
                        progress(p);
                    }
                }
                Ok(Some(meta)) => break Ok(meta),
                Err(e) => break Err(e),
            }
        };
        (self.outcome)(&self.incus, done)
    }
}

impl Incus {
    /// Starts an operation without waiting; returns its id.
    pub(super) fn start(&self, method: &str, path: &str, body: &Value) -> Result<String> {
        let op = self.send(method, path, Some(body))?;
        op.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::Failed(format!("no operation returned for {method} {path}")))
    }

    /// How far an operation has got, in percent, when it says so (image packing does).
    fn operation_percent(&self, id: &str) -> Option<u64> {
        let op: Value = self.get(&format!("/1.0/operations/{}", enc(id))).ok()?;
        op["metadata"]["progress"]["percent"]
            .as_str()
            .and_then(|p| p.parse().ok())
    }

    /// Waits (up to `secs` each) for operations still running on an instance,
    /// such as those a killed run left behind, so we never race them.
    pub fn wait_instance_operations(&self, project: &str, name: &str, secs: u64) -> Result<()> {
        // A daemon that has run nothing for a while has no operation at all, and
        // answers an empty listing: `list` reads it as such.
        let ops: BTreeMap<String, Vec<Value>> = self
            .list(&format!(
                "/1.0/operations?recursion=1&project={}",
                enc(project)
            ))
            .map_err(|e| e.context("listing operations"))?;
        let prefix = format!("/1.0/instances/{}", enc(name));
        for op in ops.get("running").into_iter().flatten() {
            if let (true, Some(id)) = (touches(op, &prefix), op["id"].as_str()) {
                // Its own outcome is not ours to report: only that it is over.
                let _ = self.wait(id, secs);
            }
        }
        Ok(())
    }
}

/// Does the operation name the instance at `prefix` (itself or one of its snapshots)?
fn touches(op: &Value, prefix: &str) -> bool {
    let mine = |url: &str| match url.strip_prefix(prefix) {
        Some(rest) => {
            rest.is_empty()
                || rest.starts_with('?')
                || rest.starts_with('/')
                || rest.starts_with("%2F")
        }
        None => false,
    };
    op["resources"]
        .as_object()
        .into_iter()
        .flat_map(|r| r.values())
        .flat_map(|v| v.as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .any(mine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_touches_the_instance_and_its_snapshots_only() {
        let op = serde_json::json!({"resources": {"instances": ["/1.0/instances/web?project=p"],
            "instances_snapshots": ["/1.0/instances/web/snapshots/pristine-next"]}});
        assert!(touches(&op, "/1.0/instances/web"));
        assert!(!touches(&op, "/1.0/instances/we"));
        let other = serde_json::json!({"resources": {"instances": ["/1.0/instances/web2"]}});
        assert!(!touches(&other, "/1.0/instances/web"));
        assert!(!touches(
            &serde_json::json!({"resources": null}),
            "/1.0/instances/web"
        ));
    }
}
