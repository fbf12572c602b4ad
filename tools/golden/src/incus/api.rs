//! The Incus API objects the tools read, as the daemon sends them.
//!
//! Every field is optional on the wire: Incus sends `null` for some empty
//! fields, and an object it grew later may lack a field older daemons send.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Incus sends `null` for some empty fields (a volume snapshot's expiry, say): read it as empty.
pub(crate) fn nullable<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Custom storage volumes attached as disks among `devices`: (device, pool, volume).
pub fn custom_volumes(
    devices: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<(&str, &str, &str)> {
    devices
        .iter()
        .filter(|(_, d)| {
            d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) != Some("/")
        })
        .filter_map(|(dev, d)| {
            Some((
                dev.as_str(),
                d.get("pool")?.as_str(),
                d.get("source")?.as_str(),
            ))
        })
        .collect()
}

/// `/1.0/instances/NAME?project=P` as listed by `recursion=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUrl {
    pub project: String,
    pub name: String,
}

impl InstanceUrl {
    pub(crate) fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("/1.0/instances/")?;
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let project = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("project="))
            .unwrap_or("default");
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .to_string()
        };
        Some(InstanceUrl {
            project: decode(project),
            name: decode(name),
        })
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Instance {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub project: String,
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    #[serde(deserialize_with = "nullable")]
    pub location: String,
    #[serde(deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    /// When it was last started.
    #[serde(deserialize_with = "nullable")]
    pub last_used_at: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub expanded_config: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(deserialize_with = "nullable")]
    pub expanded_devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(deserialize_with = "nullable")]
    pub profiles: Vec<String>,
    /// Incus deletes an ephemeral instance when it stops.
    #[serde(deserialize_with = "nullable")]
    pub ephemeral: bool,
}

impl Instance {
    /// The pool of the root disk.
    pub fn root_pool(&self) -> Option<&str> {
        self.expanded_devices
            .values()
            .find(|d| {
                d.get("type").map(String::as_str) == Some("disk")
                    && d.get("path").map(String::as_str) == Some("/")
            })
            .and_then(|d| d.get("pool"))
            .map(String::as_str)
    }

    /// Custom storage volumes attached as disks: (device, pool, volume).
    pub fn custom_volumes(&self) -> Vec<(&str, &str, &str)> {
        custom_volumes(&self.expanded_devices)
    }

    /// The member of a cluster it lives on; empty outside a cluster.
    pub fn member(&self) -> Option<&str> {
        match self.location.as_str() {
            "" | "none" => None,
            l => Some(l),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Snapshot {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(deserialize_with = "nullable")]
    pub expires_at: String,
    #[serde(deserialize_with = "nullable")]
    pub stateful: bool,
}

/// One instance snapshot in full: what a copy of it gets (its own config and
/// devices, and its profiles as they are now, expanded).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct InstanceSnapshot {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// What a copy to another cluster member must be told (a migration does
    /// not read it from the source).
    #[serde(deserialize_with = "nullable")]
    pub architecture: String,
    #[serde(deserialize_with = "nullable")]
    pub ephemeral: bool,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(deserialize_with = "nullable")]
    pub expires_at: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(deserialize_with = "nullable")]
    pub expanded_devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(deserialize_with = "nullable")]
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Profile {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Project {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
}

impl Project {
    /// The project whose store holds this project's images.
    pub fn images_project(&self) -> &str {
        self.feature_project("features.images")
    }

    fn feature_project(&self, key: &str) -> &str {
        if self.name == "default" || self.config.get(key).map(String::as_str) == Some("true") {
            &self.name
        } else {
            "default"
        }
    }

    /// The project whose store holds this project's custom volumes.
    pub fn volumes_project(&self) -> &str {
        self.feature_project("features.storage.volumes")
    }

    /// The project whose profiles this project's instances use.
    pub fn profiles_project(&self) -> &str {
        self.feature_project("features.profiles")
    }

    /// The project whose networks this project's instances use.
    pub fn networks_project(&self) -> &str {
        self.feature_project("features.networks")
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ImageAlias {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub target: String,
    /// As read, to move it only if nobody did in between (`If-Match`).
    #[serde(skip)]
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Image {
    #[serde(deserialize_with = "nullable")]
    pub fingerprint: String,
    /// Its project (an all-projects listing names it).
    #[serde(deserialize_with = "nullable")]
    pub project: String,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(deserialize_with = "nullable")]
    pub size: u64,
    #[serde(deserialize_with = "nullable")]
    pub aliases: Vec<ImageAlias>,
    #[serde(deserialize_with = "nullable")]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Lease {
    #[serde(deserialize_with = "nullable")]
    pub hostname: String,
    #[serde(deserialize_with = "nullable")]
    pub address: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Network {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub managed: bool,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct StoragePool {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub driver: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    /// The cluster members that have it (`["none"]` outside a cluster).
    #[serde(deserialize_with = "nullable")]
    pub locations: Vec<String>,
}

impl StoragePool {
    /// Is it one pool seen by every member (Ceph RBD, clustered LVM), rather
    /// than a pool of each member's own? A copy to another member then stays
    /// in the same storage (CoW on Ceph) instead of crossing the network.
    pub fn is_shared(&self) -> bool {
        matches!(
            self.driver.as_str(),
            "ceph" | "cephfs" | "cephobject" | "lvmcluster"
        )
    }

    /// Does member `m` have it? (Outside a cluster, or when the daemon does not
    /// say, every member does.)
    pub fn on_member(&self, m: &str) -> bool {
        let real: Vec<&String> = self.locations.iter().filter(|l| *l != "none").collect();
        real.is_empty() || real.iter().any(|l| *l == m)
    }
}

/// A member of a cluster (`/1.0/cluster/members`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ClusterMember {
    #[serde(deserialize_with = "nullable")]
    pub server_name: String,
    #[serde(deserialize_with = "nullable")]
    pub url: String,
    /// `Online`, `Offline`, `Evacuated`, `Blocked`...
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    #[serde(deserialize_with = "nullable")]
    pub message: String,
}

impl ClusterMember {
    pub fn is_online(&self) -> bool {
        self.status == "Online"
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct StorageVolume {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub project: String,
    #[serde(deserialize_with = "nullable")]
    pub created_at: String,
    #[serde(deserialize_with = "nullable")]
    pub location: String,
    #[serde(deserialize_with = "nullable")]
    pub config: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_urls_parse_with_and_without_project() {
        let u = InstanceUrl::parse("/1.0/instances/lab-1?project=lab").unwrap();
        assert_eq!((u.project.as_str(), u.name.as_str()), ("lab", "lab-1"));
        let u = InstanceUrl::parse("/1.0/instances/web").unwrap();
        assert_eq!((u.project.as_str(), u.name.as_str()), ("default", "web"));
        let u = InstanceUrl::parse("/1.0/instances/x?project=my%20p").unwrap();
        assert_eq!(u.project, "my p");
        assert!(InstanceUrl::parse("/1.0/other").is_none());
    }

    #[test]
    fn root_pool_and_custom_volumes_come_from_expanded_devices() {
        let i: Instance = serde_json::from_value(serde_json::json!({
            "name": "t", "project": "p",
            "expanded_devices": {
                "root": {"type": "disk", "path": "/", "pool": "fast"},
                "data": {"type": "disk", "path": "/data", "pool": "fast", "source": "vol1"},
                "host": {"type": "disk", "path": "/mnt", "source": "/srv"},
                "eth0": {"type": "nic", "network": "br0"}
            },
            "location": "none"
        }))
        .unwrap();
        assert_eq!(i.root_pool(), Some("fast"));
        assert_eq!(i.custom_volumes(), vec![("data", "fast", "vol1")]);
        assert_eq!(i.member(), None);
    }

    #[test]
    fn null_fields_read_as_empty() {
        let s: Snapshot =
            serde_json::from_value(serde_json::json!({"name": "pristine", "expires_at": null}))
                .unwrap();
        assert_eq!((s.name.as_str(), s.expires_at.as_str()), ("pristine", ""));
    }
}
