//! Storage: pools, volumes, and the snapshots of an instance or a custom volume.

use serde_json::{json, Value};

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use super::client::enc;
use super::kind::Kind;
use super::{Incus, Scope, Snapshot, StoragePool, StorageVolume};
use crate::error::{Error, Result};

/// The storage pools a run needs: from one listing when this client may list
/// them, else one by one — a certificate restricted to some projects may read
/// a pool it uses, not the list of all pools.
pub struct PoolBook<'a> {
    incus: &'a Incus,
    listed: OnceLock<Option<Vec<StoragePool>>>,
    read: Mutex<BTreeMap<String, StoragePool>>,
}

impl<'a> PoolBook<'a> {
    pub fn new(incus: &'a Incus) -> Self {
        PoolBook {
            incus,
            listed: OnceLock::new(),
            read: Mutex::new(BTreeMap::new()),
        }
    }

    /// Pool `name`; an unknown pool is bad input.
    pub fn get(&self, name: &str) -> Result<StoragePool> {
        let not_found = || Error::usage(format!("storage pool not found: {name}"));
        if self.listed.get().is_none() {
            let listed = match self.incus.pools() {
                Ok(all) => Some(all),
                // A client that may not list them reads them one by one.
                Err(e) if Kind::of(&e) == Kind::Forbidden => None,
                Err(e) => return Err(e),
            };
            // Another thread may have listed them meanwhile: the same list.
            let _ = self.listed.set(listed);
        }
        if let Some(all) = self.listed.get().expect("listed above") {
            return all
                .iter()
                .find(|p| p.name == name)
                .cloned()
                .ok_or_else(not_found);
        }
        if let Some(p) = self.read.lock().expect("pool book").get(name) {
            return Ok(p.clone());
        }
        let pool = match self.incus.pool(name) {
            Ok(p) => p,
            Err(e) if Kind::of(&e) == Kind::NotFound => return Err(not_found()),
            Err(e) => return Err(e),
        };
        self.read
            .lock()
            .expect("pool book")
            .insert(name.to_string(), pool.clone());
        Ok(pool)
    }
}

impl Incus {
    /// One pool (what a project-restricted client may read).
    pub fn pool(&self, name: &str) -> Result<StoragePool> {
        self.get(&format!("/1.0/storage-pools/{}", enc(name)))
            .map_err(|e| e.context(format!("reading storage pool {name}")))
    }

    pub fn pools(&self) -> Result<Vec<StoragePool>> {
        self.list("/1.0/storage-pools?recursion=1")
            .map_err(|e| e.context("listing storage pools"))
    }

    /// The instance volumes of one pool, snapshots included as `instance/snapshot`:
    /// one call per pool tells which instances have a `pristine` and when it was made.
    pub fn instance_volumes(&self, pool: &str, scope: &Scope) -> Result<Vec<StorageVolume>> {
        let filter = enc("type eq container or type eq virtual-machine");
        self.list(&format!(
            "/1.0/storage-pools/{}/volumes?recursion=1&{}&filter={filter}",
            enc(pool),
            scope.query()
        ))
        .map_err(|e| e.context(format!("listing volumes of pool {pool}")))
    }

    /// Does instance `name` of `project` have its storage volume on `pool`? An
    /// instance whose copy a killed daemon cut short has a record and none
    /// (see [`super::Kind::NoStorageVolume`]).
    pub fn has_instance_volume(
        &self,
        pool: &str,
        project: &str,
        inst: &super::Instance,
    ) -> Result<bool> {
        let kind = match inst.kind.as_str() {
            "virtual-machine" => "virtual-machine",
            _ => "container",
        };
        let path = format!(
            "/1.0/storage-pools/{}/volumes/{kind}/{}?project={}",
            enc(pool),
            enc(&inst.name),
            enc(project)
        );
        match self.get::<StorageVolume>(&path) {
            Ok(_) => Ok(true),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(false),
            Err(e) => Err(e.context(format!(
                "reading the volume of {} on pool {pool}",
                inst.name
            ))),
        }
    }

    /// Names of the custom volumes of one pool in `project`'s volume store.
    pub fn custom_volume_names(&self, pool: &str, project: &str) -> Result<Vec<String>> {
        let urls: Vec<String> = self
            .list(&volumes_path(pool, project, None))
            .map_err(|e| e.context(format!("listing custom volumes of pool {pool}")))?;
        Ok(urls
            .iter()
            .filter_map(|u| u.rsplit('/').next())
            .map(|last| {
                let name = last.split('?').next().unwrap_or(last);
                percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .to_string()
            })
            .collect())
    }

    /// Copies custom volume `volume`'s snapshot `snapshot` (in project `from`'s
    /// volume store) to a new custom volume `new` of the same pool in project
    /// `to`'s store, and waits. `member`: in a cluster, the member whose own
    /// storage holds the volume (a pool of each member's own is not seen from
    /// the others: the request is sent there).
    pub fn copy_volume_snapshot(
        &self,
        pool: &str,
        (from, to): (&str, &str),
        (volume, snapshot): (&str, &str),
        new: &str,
        member: Option<&str>,
    ) -> Result<()> {
        let body = json!({
            "name": new,
            "type": "custom",
            "source": {
                "type": "copy",
                "name": format!("{volume}/{snapshot}"),
                "pool": pool,
                "project": from,
            },
        });
        self.run(
            "POST",
            &on_member(volumes_path(pool, to, None), member),
            &body,
        )
        .map(drop)
        .map_err(|e| e.context(format!("copying volume {volume} to {new}")))
    }

    /// Deletes a custom volume (`member`: the one holding it, in a cluster).
    pub fn delete_volume(
        &self,
        pool: &str,
        project: &str,
        volume: &str,
        member: Option<&str>,
    ) -> Result<()> {
        self.run(
            "DELETE",
            &on_member(volumes_path(pool, project, Some(volume)), member),
            &Value::Null,
        )
        .map(drop)
        .map_err(|e| e.context(format!("deleting volume {volume} of pool {pool}")))
    }
}

/// `path` sent to one cluster member (`target=`), when there is one.
fn on_member(path: String, member: Option<&str>) -> String {
    match member {
        Some(m) => format!("{path}&target={}", enc(m)),
        None => path,
    }
}

fn volumes_path(pool: &str, project: &str, volume: Option<&str>) -> String {
    let base = format!("/1.0/storage-pools/{}/volumes/custom", enc(pool));
    match volume {
        Some(v) => format!("{base}/{}?project={}", enc(v), enc(project)),
        None => format!("{base}?project={}", enc(project)),
    }
}

/// The snapshots of one thing: an instance, or a custom storage volume.
pub struct SnapshotsOf<'a> {
    incus: &'a Incus,
    /// `/1.0/instances/NAME` or `/1.0/storage-pools/POOL/volumes/custom/NAME`.
    base: String,
    project: String,
    is_volume: bool,
    pub label: String,
}

impl<'a> SnapshotsOf<'a> {
    pub fn instance(incus: &'a Incus, project: &str, name: &str) -> Self {
        SnapshotsOf {
            incus,
            base: format!("/1.0/instances/{}", enc(name)),
            project: project.to_string(),
            is_volume: false,
            label: format!("{name} in project {project}"),
        }
    }

    pub fn volume(incus: &'a Incus, project: &str, pool: &str, volume: &str) -> Self {
        SnapshotsOf {
            incus,
            base: format!(
                "/1.0/storage-pools/{}/volumes/custom/{}",
                enc(pool),
                enc(volume)
            ),
            project: project.to_string(),
            is_volume: true,
            label: format!("volume {volume} of pool {pool}"),
        }
    }

    fn path(&self, snap: Option<&str>) -> String {
        match snap {
            Some(s) => format!(
                "{}/snapshots/{}?project={}",
                self.base,
                enc(s),
                enc(&self.project)
            ),
            None => format!("{}/snapshots?project={}", self.base, enc(&self.project)),
        }
    }

    pub fn list(&self) -> Result<Vec<Snapshot>> {
        let mut list: Vec<Snapshot> = self
            .incus
            .list(&format!(
                "{}/snapshots?recursion=1&project={}",
                self.base,
                enc(&self.project)
            ))
            .map_err(|e| e.context(format!("listing snapshots of {}", self.label)))?;
        // Volume snapshots come back as "volume/snapshot".
        for s in &mut list {
            if let Some((_, name)) = s.name.rsplit_once('/') {
                s.name = name.to_string();
            }
        }
        Ok(list)
    }

    /// Makes a snapshot expiring at `expires_at`: the zero time means "never
    /// expires", whatever snapshots.expiry says.
    pub fn create(&self, name: &str, expires_at: &str) -> Result<()> {
        let body = json!({ "name": name, "expires_at": expires_at });
        self.incus
            .run("POST", &self.path(None), &body)
            .map(drop)
            .map_err(|e| e.context(format!("snapshotting {} as {name}", self.label)))
    }

    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.incus
            .run("POST", &self.path(Some(from)), &json!({ "name": to }))
            .map(drop)
            .map_err(|e| {
                e.context(format!(
                    "renaming snapshot {from} of {} to {to}",
                    self.label
                ))
            })
    }

    pub fn set_expiry(&self, name: &str, expires_at: &str) -> Result<()> {
        // An instance snapshot's PUT is an operation; a volume snapshot's is not,
        // and takes its description too (kept empty, as the swap makes them).
        let result = if self.is_volume {
            let body = json!({ "description": "", "expires_at": expires_at });
            self.incus.send("PUT", &self.path(Some(name)), Some(&body))
        } else {
            let body = json!({ "expires_at": expires_at });
            self.incus.run("PUT", &self.path(Some(name)), &body)
        };
        result.map(drop).map_err(|e| {
            e.context(format!(
                "setting the expiry of snapshot {name} of {}",
                self.label
            ))
        })
    }

    /// Brings the instance's root (or the volume) back to snapshot `name`
    /// (`incus snapshot restore`); an instance's config and devices too.
    pub fn restore(&self, name: &str) -> Result<()> {
        let base = format!("{}?project={}", self.base, enc(&self.project));
        let body = json!({ "restore": name });
        let result = if self.is_volume {
            self.incus.send("PUT", &base, Some(&body))
        } else {
            self.incus.run("PUT", &base, &body)
        };
        result
            .map(drop)
            .map_err(|e| e.context(format!("restoring {} to snapshot {name}", self.label)))
    }

    pub fn delete(&self, name: &str) -> Result<()> {
        self.incus
            .run("DELETE", &self.path(Some(name)), &Value::Null)
            .map(drop)
            .map_err(|e| e.context(format!("deleting snapshot {name} of {}", self.label)))
    }
}
