//! The one place that talks to Incus.
//!
//! [`Incus`] is a client for one remote; its typed methods, one module per
//! part of the API, are the only code that builds a request. The tools call
//! them and read the objects of [`api`]; they never see a request path.

mod api;
mod client;
mod cluster;
pub mod config;
mod files;
mod images;
mod instances;
pub mod kind;
mod metadata;
pub mod native;
mod network;
mod operations;
mod profiles;
mod projects;
mod storage;

pub use api::{
    custom_volumes, ClusterMember, Image, ImageAlias, Instance, InstanceSnapshot, InstanceUrl,
    Lease, Network, Profile, Project, Snapshot, StoragePool, StorageVolume,
};
pub use client::Incus;
pub use files::{FileKind, InstanceFile, Perms};
pub use images::{NewImage, PublishRequest};
pub use instances::CopyRequest;
pub use kind::Kind;
pub use operations::Operation;
pub use storage::{PoolBook, SnapshotsOf};

/// Which project(s) a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Project(String),
}

impl Scope {
    pub fn from_option(project: Option<&str>) -> Self {
        match project {
            Some(p) => Scope::Project(p.to_string()),
            None => Scope::All,
        }
    }

    fn query(&self) -> String {
        match self {
            Scope::All => "all-projects=true".to_string(),
            Scope::Project(p) => format!("project={}", client::enc(p)),
        }
    }
}
