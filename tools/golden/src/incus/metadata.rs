//! An instance's image metadata (`/1.0/instances/NAME/metadata`): its
//! `templates:`, which the daemon renders into the root filesystem when the
//! trigger recorded in `volatile.apply_template` (`copy` on a copy, `create`
//! on a creation or rebuild from an image) meets a template's `when`, at the
//! instance's next start. The metadata and the template files sit beside
//! `rootfs/` in the instance's volume: snapshots, copies and published images
//! carry them.

use serde_json::Value;

use super::client::enc;
use super::Incus;
use crate::error::Result;

fn metadata_path(project: &str, name: &str) -> String {
    format!(
        "/1.0/instances/{}/metadata?project={}",
        enc(name),
        enc(project)
    )
}

impl Incus {
    /// The instance's metadata (`architecture`, `properties`, `templates`...).
    pub fn instance_metadata(&self, project: &str, name: &str) -> Result<Value> {
        self.get(&metadata_path(project, name))
            .map_err(|e| e.context(format!("reading {name}'s metadata")))
    }

    /// Replaces the instance's metadata.
    pub fn put_instance_metadata(&self, project: &str, name: &str, metadata: &Value) -> Result<()> {
        self.send("PUT", &metadata_path(project, name), Some(metadata))
            .map(drop)
            .map_err(|e| e.context(format!("writing {name}'s metadata")))
    }

    /// Writes the template file `file` (a bare file name) of the instance.
    pub fn write_template_file(
        &self,
        project: &str,
        name: &str,
        file: &str,
        content: &[u8],
    ) -> Result<()> {
        let path = format!(
            "/1.0/instances/{}/metadata/templates?path={}&project={}",
            enc(name),
            enc(file),
            enc(project)
        );
        self.bytes("POST", &path, Some(content), &[])
            .map(drop)
            .map_err(|e| e.context(format!("writing template {file} of {name}")))
    }
}
