//! Projects: what features they have decides where their images and volumes live.

use serde_json::Value;

use super::client::enc;
use super::kind::Kind;
use super::{Incus, Project};
use crate::error::Result;

impl Incus {
    pub fn project(&self, project: &str) -> Result<Project> {
        self.get(&format!("/1.0/projects/{}", enc(project)))
            .map_err(|e| e.context(format!("reading project {project}")))
    }

    /// A project as the daemon sends it and its ETag: what
    /// [`Incus::put_project`] sends back changed.
    pub fn project_tagged(&self, project: &str) -> Result<(Value, Option<String>)> {
        self.get_tagged(&format!("/1.0/projects/{}", enc(project)))
            .map_err(|e| e.context(format!("reading project {project}")))
    }

    /// Replaces a project's config and description, only if it did not change
    /// since `etag` was read ([`crate::Error::Conflict`] if it did).
    pub fn put_project(&self, project: &str, body: &Value, etag: Option<&str>) -> Result<()> {
        self.run_if_match(
            "PUT",
            &format!("/1.0/projects/{}", enc(project)),
            body,
            etag,
        )
        .map(drop)
    }

    /// The names of the projects this client may see, sorted.
    pub fn project_names(&self) -> Result<Vec<String>> {
        let urls: Vec<String> = self
            .list("/1.0/projects")
            .map_err(|e| e.context("listing projects"))?;
        let mut names: Vec<String> = urls
            .iter()
            .filter_map(|u| u.strip_prefix("/1.0/projects/"))
            .map(|n| {
                let n = n.split('?').next().unwrap_or(n);
                percent_encoding::percent_decode_str(n)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Does the project exist? (Incus answers an empty list for an unknown project.)
    pub fn project_exists(&self, project: &str) -> Result<bool> {
        match self.get::<Value>(&format!("/1.0/projects/{}", enc(project))) {
            Ok(_) => Ok(true),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(false),
            Err(e) => Err(e.context(format!("reading project {project}"))),
        }
    }
}
