//! Instances: listing, reading, power state, copies and deletion.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::client::enc;
use super::kind::Kind;
use super::{Incus, Instance, InstanceSnapshot, InstanceUrl, Scope, Snapshot};
use crate::error::{Error, Result};

/// The snapshot [`Incus::stop_file_helper`] takes and removes at once.
const FILE_HELPER_STOP: &str = "golden-file-helper-stop";

/// A new instance copied from another's snapshot (`POST /1.0/instances`).
#[derive(Debug, Clone, Serialize)]
pub struct CopyRequest {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Needed (with config, devices and profiles in full) by a copy to another
    /// cluster member, which the daemon makes as a migration; `None`: the source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    pub source: CopySource,
    pub config: BTreeMap<String, String>,
    pub devices: BTreeMap<String, Value>,
    /// `None`: the source's profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopySource {
    #[serde(rename = "type")]
    kind: &'static str,
    /// `instance/snapshot`.
    source: String,
    project: String,
}

impl CopyRequest {
    /// A copy of `project`'s `instance/snapshot`, named `name`.
    pub fn from_snapshot(
        name: &str,
        kind: &str,
        project: &str,
        instance: &str,
        snapshot: &str,
    ) -> Self {
        CopyRequest {
            name: name.to_string(),
            kind: kind.to_string(),
            architecture: None,
            source: CopySource {
                kind: "copy",
                source: format!("{instance}/{snapshot}"),
                project: project.to_string(),
            },
            config: BTreeMap::new(),
            devices: BTreeMap::new(),
            profiles: None,
        }
    }
}

impl Incus {
    /// Every instance in scope, without state (`recursion=1`: several times cheaper
    /// than `recursion=2`, which gathers live state for each instance).
    pub fn instances(&self, scope: &Scope) -> Result<Vec<Instance>> {
        self.list(&format!("/1.0/instances?recursion=1&{}", scope.query()))
            .map_err(|e| e.context("listing instances"))
    }

    /// The instances of every project, or of `project` alone when this
    /// client may not list them all (a certificate restricted to projects):
    /// where a golden's clones are looked for.
    pub fn instances_everywhere_or_in(&self, project: &str) -> Result<Vec<Instance>> {
        match self.instances(&Scope::All) {
            Err(e) if Kind::of(&e) == Kind::Forbidden => {
                self.instances(&Scope::Project(project.to_string()))
            }
            other => other,
        }
    }

    /// Names and projects of all instances: the cheapest listing (`recursion=0`).
    pub fn instance_urls(&self, scope: &Scope) -> Result<Vec<InstanceUrl>> {
        let urls: Vec<String> = self
            .list(&format!("/1.0/instances?{}", scope.query()))
            .map_err(|e| e.context("listing instances"))?;
        Ok(urls.iter().filter_map(|u| InstanceUrl::parse(u)).collect())
    }

    pub fn instance(&self, project: &str, name: &str) -> Result<Instance> {
        self.get(&instance_path(project, name))
            .map_err(|e| e.context(format!("reading instance {name} in project {project}")))
    }

    /// The instance, or `None` if there is none of that name.
    pub fn instance_if_any(&self, project: &str, name: &str) -> Result<Option<Instance>> {
        match self.get(&instance_path(project, name)) {
            Ok(i) => Ok(Some(i)),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(None),
            Err(e) => Err(e.context(format!("reading instance {name} in project {project}"))),
        }
    }

    /// An instance as the daemon sends it, every writable field kept, and its
    /// ETag: what [`Incus::put_instance`] sends back changed.
    pub fn instance_tagged(&self, project: &str, name: &str) -> Result<(Value, Option<String>)> {
        self.get_tagged(&instance_path(project, name))
            .map_err(|e| e.context(format!("reading instance {name} in project {project}")))
    }

    /// Replaces an instance's writable fields, only if it did not change since
    /// `etag` was read ([`crate::Error::Conflict`] if it did).
    pub fn put_instance(
        &self,
        project: &str,
        name: &str,
        instance: &Value,
        etag: Option<&str>,
    ) -> Result<()> {
        self.run_if_match("PUT", &instance_path(project, name), instance, etag)
            .map(drop)
    }

    pub fn snapshots(&self, project: &str, name: &str) -> Result<Vec<Snapshot>> {
        self.list(&format!(
            "/1.0/instances/{}/snapshots?recursion=1&project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("listing snapshots of {name} in project {project}")))
    }

    /// One snapshot in full (config, devices, profiles, expanded).
    pub fn instance_snapshot(
        &self,
        project: &str,
        name: &str,
        snap: &str,
    ) -> Result<InstanceSnapshot> {
        self.get(&format!(
            "/1.0/instances/{}/snapshots/{}?project={}",
            enc(name),
            enc(snap),
            enc(project)
        ))
        .map_err(|e| {
            e.context(format!(
                "reading snapshot {snap} of {name} in project {project}"
            ))
        })
    }

    /// Has the daemon judge a copy's profiles and config without making
    /// anything: Incus has no dry run, so the copy is asked under the name of
    /// an instance that exists (`existing`, in `project`). Incus checks the
    /// profiles and then the config (its own validation, exact for its
    /// version) before it records the new instance, and the name taken stops
    /// it there. `Err` (a usage error) when profiles or config are refused;
    /// `Ok` when only the name was, or when the answer says nothing about them
    /// (the real copies will tell). For that instant the daemon holds the
    /// creation lock of the name: an operation on `existing` starting in that
    /// very millisecond would be told it is busy.
    pub fn judge_copy(&self, project: &str, existing: &str, copy: &CopyRequest) -> Result<()> {
        let mut probe = copy.clone();
        probe.name = existing.to_string();
        let body = serde_json::to_value(&probe).expect("a copy request is JSON");
        let answer = self.run(
            "POST",
            &format!("/1.0/instances?project={}", enc(project)),
            &body,
        );
        match answer {
            Ok(_) => Ok(()),
            Err(e) => match super::kind::probe_judgement(&e) {
                Some(refusal) => Err(Error::usage(refusal)),
                None => Ok(()),
            },
        }
    }

    /// Changes the power state (`start`, `stop`, ...) and waits for it.
    pub fn set_state(
        &self,
        project: &str,
        name: &str,
        action: &str,
        timeout: Option<u64>,
        force: bool,
    ) -> Result<()> {
        let mut body = serde_json::json!({ "action": action, "force": force });
        if let Some(t) = timeout {
            body["timeout"] = Value::from(t);
        }
        self.run(
            "PUT",
            &format!(
                "/1.0/instances/{}/state?project={}",
                enc(name),
                enc(project)
            ),
            &body,
        )
        .map(drop)
        .map_err(|e| e.context(format!("{action} {name} in project {project}")))
    }

    /// Creates an instance as a copy and waits for it.
    /// `target`: the cluster member to create it on (named by a failure).
    pub fn copy_instance(
        &self,
        project: &str,
        target: Option<&str>,
        copy: &CopyRequest,
    ) -> Result<()> {
        let mut path = format!("/1.0/instances?project={}", enc(project));
        if let Some(t) = target {
            path.push_str(&format!("&target={}", enc(t)));
        }
        let body = serde_json::to_value(copy).expect("a copy request is JSON");
        self.run("POST", &path, &body)
            .map(drop)
            .map_err(|e| match target {
                Some(t) => e.context(format!("on cluster member {t}")),
                None => e,
            })
    }

    /// Creates an instance as a copy of another instance of the same project
    /// (not of a snapshot), on `target`, and waits: a CoW copy when both are
    /// on that member's pool. `copy.source` is replaced by `source`.
    pub fn copy_instance_from(
        &self,
        project: &str,
        target: Option<&str>,
        source: &str,
        copy: &CopyRequest,
    ) -> Result<()> {
        let mut req = copy.clone();
        req.source.source = source.to_string();
        req.source.project = project.to_string();
        self.copy_instance(project, target, &req)
    }

    pub fn update_instance(&self, project: &str, name: &str, patch: &Value) -> Result<()> {
        self.send("PATCH", &instance_path(project, name), Some(patch))
            .map(drop)
            .map_err(|e| e.context(format!("updating {name} in project {project}")))
    }

    /// Replaces an instance's root disk by an image's, keeping its config,
    /// devices, profiles and MAC addresses (`instances_rebuild`); the instance
    /// must be stopped and, on Incus 6.0, have no snapshot.
    /// Its files API then serves the new root (see [`Incus::stop_file_helper`]).
    pub fn rebuild_instance(&self, project: &str, name: &str, fingerprint: &str) -> Result<()> {
        let body = serde_json::json!({
            "source": { "type": "image", "fingerprint": fingerprint }
        });
        let path = format!(
            "/1.0/instances/{}/rebuild?project={}",
            enc(name),
            enc(project)
        );
        self.run("POST", &path, &body)
            .map(drop)
            .map_err(|e| e.context(format!("rebuilding {name} in project {project}")))?;
        self.stop_file_helper(project, name)
    }

    /// The daemon (6.0) serves an instance's files through a helper it keeps
    /// running between requests, chrooted into the root it found and
    /// reached by a socket under the instance's name. One started before a
    /// rebuild would go on serving the old, deleted root (what is written
    /// there is lost); one started before a rename is left behind, and the
    /// renamed instance's files fail ("forkfile.sock: no such file or
    /// directory"). Taking a snapshot stops that helper: one is taken and
    /// removed at once.
    fn stop_file_helper(&self, project: &str, name: &str) -> Result<()> {
        let snaps = super::SnapshotsOf::instance(self, project, name);
        snaps.create(FILE_HELPER_STOP, crate::model::NEVER)?;
        snaps.delete(FILE_HELPER_STOP)
    }

    /// Renames a stopped instance (its snapshots and volumes go with it);
    /// its files API serves it under the new name at once (see
    /// [`Incus::stop_file_helper`]).
    pub fn rename_instance(&self, project: &str, from: &str, to: &str) -> Result<()> {
        self.stop_file_helper(project, from)?;
        self.run(
            "POST",
            &instance_path(project, from),
            &serde_json::json!({ "name": to }),
        )
        .map(drop)
        .map_err(|e| e.context(format!("renaming {from} to {to} in project {project}")))
    }

    pub fn delete_instance(&self, project: &str, name: &str) -> Result<()> {
        self.run("DELETE", &instance_path(project, name), &Value::Null)
            .map(drop)
            .map_err(|e| e.context(format!("deleting {name} in project {project}")))
    }
}

fn instance_path(project: &str, name: &str) -> String {
    format!("/1.0/instances/{}?project={}", enc(name), enc(project))
}
