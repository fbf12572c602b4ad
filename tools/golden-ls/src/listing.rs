//! What golden-ls asks the daemon, and the lookups both listings (goldens and
//! clones) make in it.
//!
//! The whole listing takes a fixed number of calls to the daemon, whatever the
//! number of projects and instances: the instances (`recursion=1`, no live state),
//! the storage pools, and one volume listing per pool (which holds every instance
//! snapshot as `instance/snapshot` with its creation time), and the cluster's
//! members (to name one that is offline; a standalone server answers at once
//! that it is not clustered). These run in parallel.

use std::collections::{BTreeMap, BTreeSet};

use golden::generations::{self, number_in, Generation};
use golden::incus::{
    ClusterMember, Image, Incus, Instance, Kind, Scope, StoragePool, StorageVolume,
};
use golden::model::{current_pristine, Provenance};
use golden::Result;

/// What the daemon tells us, in a fixed number of calls.
#[derive(Debug, Default)]
pub struct Listing {
    pub instances: Vec<Instance>,
    pub pools: Vec<StoragePool>,
    /// Instance volumes (and their snapshots) of each pool.
    pub volumes: BTreeMap<String, Vec<StorageVolume>>,
    /// The cluster's members (none outside a cluster).
    pub members: Vec<ClusterMember>,
    /// The images, with `--kept` only (golden-refresh's are kept things).
    pub images: Vec<Image>,
}

/// Asks for the instances and, at the same time, the pools and their volumes.
///
/// Clones are counted wherever they are: with one project asked for, the
/// instances of every project are listed (one call all the same), unless this
/// client may not list them, and then those of the project alone.
pub fn fetch(incus: &Incus, scope: &Scope) -> Result<Listing> {
    fetch_with(incus, scope, false)
}

/// As [`fetch`], for `--clones`: the clones of one project may come from
/// templates in others, so the pristines are read in every project too (one
/// call a pool all the same), unless this client may not list them, and then
/// in the project alone (its clones of templates elsewhere are then not stale).
pub fn fetch_for_clones(incus: &Incus, scope: &Scope) -> Result<Listing> {
    fetch_with(incus, scope, true)
}

/// As [`fetch_for_clones`], for `--kept`, and the images (one call more, at
/// the same time).
pub fn fetch_for_kept(incus: &Incus, scope: &Scope) -> Result<Listing> {
    std::thread::scope(|s| {
        let images = s.spawn(|| incus.images_in(scope));
        let mut listing = fetch_with(incus, scope, true)?;
        listing.images = images.join().expect("image listing thread")?;
        Ok(listing)
    })
}

/// `all_pristines`: list the pools' volumes in every project, whatever `scope`.
fn fetch_with(incus: &Incus, scope: &Scope, all_pristines: bool) -> Result<Listing> {
    std::thread::scope(|s| {
        let instances = s.spawn(|| match scope {
            Scope::All => incus.instances(scope),
            Scope::Project(_) => match incus.instances(&Scope::All) {
                Err(e) if Kind::of(&e) == Kind::Forbidden => incus.instances(scope),
                other => other,
            },
        });
        let members = s.spawn(|| incus.cluster_members());
        let mut instances = Some(instances);
        let mut listed = None;
        let pools = match incus.pools() {
            Ok(p) => p,
            // A certificate restricted to some projects may not list the pools,
            // only read those its instances use: find them from the instances.
            Err(e) if Kind::of(&e) == Kind::Forbidden => {
                let all = instances
                    .take()
                    .expect("not joined yet")
                    .join()
                    .expect("instance listing thread")?;
                let names: BTreeSet<&str> = all
                    .iter()
                    .flat_map(|i| {
                        let vols: Vec<&str> = i.custom_volumes().iter().map(|v| v.1).collect();
                        i.root_pool().into_iter().chain(vols)
                    })
                    .collect();
                let pools = names
                    .iter()
                    .map(|n| incus.pool(n))
                    .collect::<Result<Vec<_>>>()?;
                listed = Some(all);
                pools
            }
            Err(e) => return Err(e),
        };
        let volume_calls: Vec<_> = pools
            .iter()
            .map(|p| {
                let name = p.name.clone();
                (
                    p.name.clone(),
                    s.spawn(move || match scope {
                        Scope::Project(_) if all_pristines => {
                            match incus.instance_volumes(&name, &Scope::All) {
                                Err(e) if Kind::of(&e) == Kind::Forbidden => {
                                    incus.instance_volumes(&name, scope)
                                }
                                other => other,
                            }
                        }
                        _ => incus.instance_volumes(&name, scope),
                    }),
                )
            })
            .collect();
        let mut volumes = BTreeMap::new();
        for (pool, call) in volume_calls {
            volumes.insert(pool, call.join().expect("volume listing thread")?);
        }
        let instances = match (listed, instances) {
            (Some(all), _) => all,
            (None, Some(call)) => call.join().expect("instance listing thread")?,
            (None, None) => unreachable!("the instances are joined once"),
        };
        // Who is offline is a notice: a listing that cannot tell still lists.
        let members = members
            .join()
            .expect("member listing thread")
            .unwrap_or_default();
        Ok(Listing {
            instances,
            pools,
            volumes,
            members,
            images: Vec::new(),
        })
    })
}

/// A snapshot as the pool listing gives it: name, created_at, no expiry.
type SnapshotRow<'a> = (&'a str, &'a str, Option<&'a str>);

/// Where each golden's pristine is and which instance a clone's template is:
/// the two lookups the goldens' counts and the clones' records share, built
/// once from a listing.
pub(crate) struct Index<'a> {
    /// (project, instance) -> its snapshots, from the pool listings (which give
    /// no expiry: the swap's temporary snapshots are told by name).
    snapshots: BTreeMap<(&'a str, &'a str), Vec<SnapshotRow<'a>>>,
    /// `volatile.uuid` -> (project, instance): a clone names its template by it
    /// too, and a rename keeps it.
    by_uuid: BTreeMap<&'a str, (&'a str, &'a str)>,
    /// (project, instance) -> its config: a golden's generation and revocations.
    configs: BTreeMap<(&'a str, &'a str), &'a BTreeMap<String, String>>,
}

impl<'a> Index<'a> {
    pub(crate) fn new(listing: &'a Listing) -> Self {
        let mut snapshots: BTreeMap<(&str, &str), Vec<SnapshotRow>> = BTreeMap::new();
        for vols in listing.volumes.values() {
            for v in vols {
                if let Some((inst, snap)) = v.name.split_once('/') {
                    snapshots
                        .entry((v.project.as_str(), inst))
                        .or_default()
                        .push((snap, v.created_at.as_str(), None));
                }
            }
        }
        let by_uuid = listing
            .instances
            .iter()
            .filter_map(|i| {
                let u = i.config.get("volatile.uuid")?;
                Some((u.as_str(), (i.project.as_str(), i.name.as_str())))
            })
            .collect();
        let configs = listing
            .instances
            .iter()
            .map(|i| ((i.project.as_str(), i.name.as_str()), &i.config))
            .collect();
        Index {
            snapshots,
            by_uuid,
            configs,
        }
    }

    /// A golden's generations, newest first: its pristine (numbered by the
    /// golden's config) and the ones kept as `pristine.gN`.
    pub(crate) fn generations(&self, project: &str, name: &str) -> Vec<Generation> {
        let current = self
            .configs
            .get(&(project, name))
            .map_or(1, |c| number_in(c));
        let snaps = self.snapshots.get(&(project, name));
        generations::list(
            snaps.into_iter().flatten().map(|(n, c, _)| (*n, *c)),
            current,
        )
    }

    /// The generation of `template` a clone came from, by the created_at it
    /// recorded; None: that pristine is gone (or the template).
    pub(crate) fn generation_of(&self, template: (&str, &str), created_at: &str) -> Option<u64> {
        self.generations(template.0, template.1)
            .into_iter()
            .find(|g| g.created_at == created_at)
            .map(|g| g.number)
    }

    /// Why generation `n` of `template` is revoked, if it is.
    pub(crate) fn revoked(&self, template: (&str, &str), n: u64) -> Option<&'a str> {
        let config = self.configs.get(&template)?;
        generations::revoked(config).get(&n).copied()
    }

    /// The snapshot standing for an instance's pristine, and its created_at;
    /// None: not a golden (or not listed).
    pub(crate) fn pristine_of(&self, project: &str, name: &str) -> Option<(&'a str, &'a str)> {
        self.snapshots
            .get(&(project, name))
            .and_then(|s| current_pristine(s.iter().copied()))
    }

    /// How many snapshots an instance has (the swap's temporary ones too).
    pub(crate) fn snapshot_count(&self, project: &str, name: &str) -> usize {
        self.snapshots.get(&(project, name)).map_or(0, Vec::len)
    }

    /// The (project, instance) holding `volatile.uuid` `uuid`.
    pub(crate) fn by_uuid(&self, uuid: &str) -> Option<(&'a str, &'a str)> {
        self.by_uuid.get(uuid).copied()
    }

    /// The (project, instance) a clone came from: the instance holding the
    /// recorded `volatile.uuid` (the template under its current name), else
    /// the recorded project and name (older clones, or the template is gone).
    pub(crate) fn template_of(&self, p: &Provenance<'a>) -> (&'a str, &'a str) {
        p.template_uuid
            .and_then(|u| self.by_uuid.get(u).copied())
            .unwrap_or((p.project, p.template))
    }

    /// A clone is stale when its template's pristine is now another than the
    /// one it came from. A template gone, or without pristine, leaves nothing
    /// to refresh from: not stale.
    pub(crate) fn is_stale(&self, template: (&str, &str), created_at: &str) -> bool {
        self.pristine_of(template.0, template.1)
            .is_some_and(|(_, current)| current != created_at)
    }
}
