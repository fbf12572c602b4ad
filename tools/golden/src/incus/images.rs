//! Images and their aliases: what `golden-publish` makes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::client::enc;
use super::kind::Kind;
use super::operations::Operation;
use super::{Image, ImageAlias, Incus, Scope};
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

/// An image an [`Operation`] made: its fingerprint and, when known, its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub fingerprint: String,
    pub size: Option<u64>,
}

impl Incus {
    /// Starts making an image; its progress is the packing, its result the
    /// image made. "Already made" is success: the image a failed publish made
    /// all the same ([`made_anyway`]), read to be sure it is there.
    pub fn publish_image(
        &self,
        project: &str,
        req: &PublishRequest,
    ) -> Result<Operation<NewImage>> {
        let body = serde_json::to_value(req).expect("a publish request is JSON");
        let id = self.start(
            "POST",
            &format!("/1.0/images?project={}", enc(project)),
            &body,
        )?;
        let project = project.to_string();
        Ok(Operation::new(self, id, move |incus, done| match done {
            Ok(meta) => made(&meta),
            Err(e) => match made_anyway(&e) {
                Some(fingerprint) => {
                    let img = incus.image(&project, &fingerprint)?;
                    Ok(NewImage {
                        fingerprint,
                        size: Some(img.size),
                    })
                }
                None => Err(e),
            },
        }))
    }

    /// The image an alias points to, if the alias exists.
    pub fn image_alias(&self, project: &str, alias: &str) -> Result<Option<ImageAlias>> {
        match self.get_tagged::<ImageAlias>(&alias_path(project, alias)) {
            Ok((a, etag)) => Ok(Some(ImageAlias { etag, ..a })),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(None),
            Err(e) => Err(e.context(format!("reading image alias {alias}"))),
        }
    }

    /// Every image alias of a project (in the store its images live in: the
    /// daemon answers for the project that holds them).
    pub fn image_aliases(&self, project: &str) -> Result<Vec<ImageAlias>> {
        self.list(&format!(
            "/1.0/images/aliases?recursion=1&project={}",
            enc(project)
        ))
        .map_err(|e| e.context(format!("listing image aliases of project {project}")))
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

    /// The images of `scope`, each with its project: one call.
    pub fn images_in(&self, scope: &Scope) -> Result<Vec<Image>> {
        self.list(&format!("/1.0/images?recursion=1&{}", scope.query()))
            .map_err(|e| e.context("listing images"))
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

/// The image an image operation's metadata names.
fn made(meta: &Value) -> Result<NewImage> {
    let fingerprint = meta
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if fingerprint.is_empty() {
        return Err(crate::Error::Failed(
            "the image operation returned no fingerprint".into(),
        ));
    }
    let size = meta
        .get("size")
        .and_then(|s| s.as_str().and_then(|s| s.parse().ok()).or(s.as_u64()));
    Ok(NewImage { fingerprint, size })
}

/// The image a failed publish made all the same: one made from the same
/// content within the same second ([`Kind::ImageExists`]: its metadata dates it
/// to the second), or the one this publish made before the daemon failed to
/// copy it to the other cluster members ([`Kind::NotReady`]: a member just
/// restarted; [`Kind::ImageUnsynced`]: the members saw one another offline;
/// the members fetch an image they lack when they need it). The caller reads
/// the image to be sure it is there.
fn made_anyway(e: &crate::Error) -> Option<String> {
    match Kind::of(e) {
        Kind::ImageExists { fingerprint } => Some(fingerprint),
        Kind::NotReady | Kind::ImageUnsynced => e
            .refusal()
            .filter(|r| r.origin() == crate::error::Origin::Operation)
            .and_then(|r| r.metadata().get("fingerprint")?.as_str())
            .filter(|f| f.len() == 64 && f.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_string),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Origin;
    use crate::incus::kind::refusal;

    #[test]
    fn an_image_made_all_the_same_is_known_by_its_fingerprint() {
        let fp = "a".repeat(64);
        let same: crate::Error =
            refusal(Origin::Operation, format!("The image already exists: {fp}")).into();
        assert_eq!(made_anyway(&same.context("publishing g")), Some(fp.clone()));
        let alias: crate::Error = refusal(Origin::Request(409), "Alias already exists").into();
        assert_eq!(made_anyway(&alias), None);
        // Made, then not copied to a member that had just restarted.
        let words = "Failed syncing image between servers: Failed transferring image: \
                     Server isn't ready yet";
        let unsynced: crate::Error = refusal(Origin::Operation, words)
            .with_metadata(serde_json::json!({"fingerprint": fp, "size": "12"}))
            .into();
        assert_eq!(made_anyway(&unsynced), Some(fp.clone()));
        // Made, then not copied: the members saw one another offline.
        let offline = "Failed syncing image between servers: Failed locating image \"FP\" in \
                       the cluster: Image not available on any online member";
        let unsynced: crate::Error = refusal(Origin::Operation, offline)
            .with_metadata(serde_json::json!({"fingerprint": fp}))
            .into();
        assert_eq!(Kind::of(&unsynced), Kind::ImageUnsynced);
        assert_eq!(made_anyway(&unsynced), Some(fp.clone()));
        let nothing_made: crate::Error = refusal(Origin::Operation, words).into();
        assert_eq!(made_anyway(&nothing_made), None);
        let refused: crate::Error = refusal(Origin::Request(500), words).into();
        assert_eq!(made_anyway(&refused), None);
    }

    #[test]
    fn an_image_operation_names_what_it_made() {
        let fp = "b".repeat(64);
        let m = made(&serde_json::json!({"fingerprint": fp, "size": "12"})).unwrap();
        assert_eq!((m.fingerprint.as_str(), m.size), (fp.as_str(), Some(12)));
        let m = made(&serde_json::json!({"fingerprint": fp, "size": 7})).unwrap();
        assert_eq!(m.size, Some(7));
        let m = made(&serde_json::json!({"fingerprint": fp})).unwrap();
        assert_eq!(m.size, None);
        assert!(made(&serde_json::json!({"fingerprint": ""})).is_err());
        assert!(made(&Value::Null).is_err());
    }
}
