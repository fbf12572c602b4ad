//! Operations: the daemon's long-running work, waited for or watched.

use serde_json::Value;
use std::collections::BTreeMap;

use super::client::enc;
use super::Incus;
use crate::error::{Error, Result};

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
    pub fn operation_percent(&self, id: &str) -> Option<u64> {
        let op: Value = self.get(&format!("/1.0/operations/{}", enc(id))).ok()?;
        op["metadata"]["progress"]["percent"]
            .as_str()
            .and_then(|p| p.parse().ok())
    }

    /// Waits up to `secs` for an operation; `None` if it still runs.
    pub fn wait_operation(&self, id: &str, secs: u64) -> Result<Option<Value>> {
        self.wait(id, secs)
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
                let _ = self.wait_operation(id, secs);
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
