//! Images and their aliases: what `golden-publish` makes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::client::{enc, not_found};
use super::{Image, ImageAlias, Incus};
use crate::error::Result;

/// A new image made from an instance snapshot (`POST /1.0/images`).
#[derive(Debug, Clone, Serialize)]
pub struct PublishRequest {
    source: PublishSource,
    pub public: bool,
    pub properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `none` for an image only this daemon unpacks (golden-refresh's): made
    /// in seconds, not minutes; `None`: the daemon's default (gzip).
    #[serde(
        rename = "compression_algorithm",
        skip_serializing_if = "Option::is_none"
    )]
    pub compression: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct PublishSource {
    #[serde(rename = "type")]
    kind: &'static str,
    /// `instance/snapshot`.
    name: String,
    project: String,
}

impl PublishRequest {
    pub fn from_snapshot(project: &str, instance: &str, snapshot: &str) -> Self {
        PublishRequest {
            source: PublishSource {
                kind: "snapshot",
                name: format!("{instance}/{snapshot}"),
                project: project.to_string(),
            },
            public: false,
            properties: BTreeMap::new(),
            expires_at: None,
            compression: None,
        }
    }
}

impl Incus {
    /// Starts making an image; returns the operation to wait for (its metadata
    /// holds the fingerprint and size), whose progress is the packing.
    pub fn start_publish(&self, project: &str, req: &PublishRequest) -> Result<String> {
        let body = serde_json::to_value(req).expect("a publish request is JSON");
        self.start(
            "POST",
            &format!("/1.0/images?project={}", enc(project)),
            &body,
        )
    }

    /// The image an alias points to, if the alias exists.
    pub fn image_alias(&self, project: &str, alias: &str) -> Result<Option<ImageAlias>> {
        match self.get_tagged::<ImageAlias>(&alias_path(project, alias)) {
            Ok((a, etag)) => Ok(Some(ImageAlias { etag, ..a })),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.context(format!("reading image alias {alias}"))),
        }
    }

    pub fn create_alias(
        &self,
        project: &str,
        alias: &str,
        fingerprint: &str,
        description: &str,
    ) -> Result<()> {
        let body = json!({ "name": alias, "target": fingerprint, "description": description });
        self.send(
            "POST",
            &format!("/1.0/images/aliases?project={}", enc(project)),
            Some(&body),
        )
        .map(drop)
    }

    /// Points an existing alias, as read, at another image — only if nobody
    /// moved it since ([`crate::Error::Conflict`] if someone did).
    pub fn move_alias(&self, project: &str, alias: &ImageAlias, fingerprint: &str) -> Result<()> {
        self.run_if_match(
            "PATCH",
            &alias_path(project, &alias.name),
            &json!({ "target": fingerprint }),
            alias.etag.as_deref(),
        )
        .map(drop)
        .map_err(|e| match e {
            crate::Error::Conflict(_) => crate::Error::Conflict(format!(
                "alias {} was moved by someone else meanwhile; it was left as they set it",
                alias.name
            )),
            e => e,
        })
    }

    pub fn image(&self, project: &str, fingerprint: &str) -> Result<Image> {
        self.get(&image_path(project, fingerprint))
            .map_err(|e| e.context(format!("reading image {fingerprint}")))
    }

    /// Every image of a project, with its properties.
    pub fn images(&self, project: &str) -> Result<Vec<Image>> {
        self.list(&format!("/1.0/images?recursion=1&project={}", enc(project)))
            .map_err(|e| e.context(format!("listing images of project {project}")))
    }

    pub fn delete_image(&self, project: &str, fingerprint: &str) -> Result<()> {
        self.run("DELETE", &image_path(project, fingerprint), &Value::Null)
            .map(drop)
            .map_err(|e| {
                e.context(format!(
                    "deleting image {}",
                    &fingerprint[..fingerprint.len().min(12)]
                ))
            })
    }
}

/// The image a publish found already made, from the same content: Incus
/// answers "The image already exists: FINGERPRINT" (one made from the same
/// snapshot within the same second: its metadata dates it to the second).
pub fn already_made(e: &crate::Error) -> Option<String> {
    let m = e.to_string();
    let (_, rest) = m.split_once("The image already exists: ")?;
    let fp: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (fp.len() == 64).then_some(fp)
}

fn alias_path(project: &str, alias: &str) -> String {
    format!(
        "/1.0/images/aliases/{}?project={}",
        enc(alias),
        enc(project)
    )
}

fn image_path(project: &str, fingerprint: &str) -> String {
    format!("/1.0/images/{}?project={}", enc(fingerprint), enc(project))
}
