//! The remotes of the client configuration: the user's file, the global one for what
//! it lacks, and the built-in `local` (always the unix socket) and `images`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::file::{config_dir, read_file_config, remote_from_file};
use super::{Env, LOCAL};
use crate::error::Result;

/// One remote as the configuration defines it (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    /// Its addresses, in the order to try them (`last_working_address` first).
    pub addrs: Vec<String>,
    pub protocol: String,
    /// `tls`, `oidc`, or empty for a public remote.
    pub auth_type: String,
    pub project: Option<String>,
    pub public: bool,
    /// Defined by the global configuration, not the user's.
    pub global: bool,
}

/// The client configuration, loaded.
#[derive(Debug, Clone)]
pub struct Config {
    /// The client configuration directory (`None`: no home to put one in).
    pub dir: Option<PathBuf>,
    /// The `config.yml` that was read, if there was one.
    pub file: Option<PathBuf>,
    /// The remote used when none is named (after `INCUS_REMOTE`).
    pub default_remote: String,
    pub remotes: BTreeMap<String, Remote>,
    /// Where the global remotes' pinned certificates are (`servercerts/`).
    pub(super) global_dir: PathBuf,
}

fn builtin_local(project: Option<String>) -> Remote {
    Remote {
        name: LOCAL.to_string(),
        addrs: vec!["unix://".to_string()],
        protocol: "incus".to_string(),
        auth_type: "tls".to_string(),
        project,
        public: false,
        global: false,
    }
}

fn builtin_images() -> Remote {
    Remote {
        name: "images".to_string(),
        // Its public address does not matter here: a public remote is never spoken to.
        addrs: Vec::new(),
        protocol: "simplestreams".to_string(),
        auth_type: String::new(),
        project: None,
        public: true,
        global: false,
    }
}

impl Config {
    /// Reads the user's and the global configuration.
    pub fn load(env: &Env) -> Result<Config> {
        let (dir, path) = match config_dir(env) {
            Some(dir) => {
                let path = PathBuf::from(env.expand(&dir.join("config.yml").to_string_lossy()));
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (Some(dir), Some(path))
            }
            None => (None, None),
        };
        let user = match &path {
            Some(p) => read_file_config(p)?,
            None => None,
        };
        let file = user.as_ref().and(path);
        let mut remotes = BTreeMap::new();
        let mut default_remote = None;
        match user {
            Some(user) => {
                default_remote = user.default_remote.filter(|d| !d.is_empty());
                for (name, r) in user.remotes.unwrap_or_default() {
                    let r = remote_from_file(&name, r.unwrap_or_default(), true);
                    remotes.insert(name, r);
                }
            }
            None => {
                remotes.insert("images".to_string(), builtin_images());
            }
        }
        let global_dir = env.global_conf_dir();
        if let Some(global) = read_file_config(&global_dir.join("config.yml"))? {
            for (name, r) in global.remotes.unwrap_or_default() {
                if let std::collections::btree_map::Entry::Vacant(slot) = remotes.entry(name) {
                    let r = remote_from_file(slot.key(), r.unwrap_or_default(), false);
                    slot.insert(r);
                }
            }
        }
        let local_project = remotes.get(LOCAL).and_then(|r: &Remote| r.project.clone());
        remotes.insert(LOCAL.to_string(), builtin_local(local_project));
        let default_remote = env
            .var("INCUS_REMOTE")
            .map(str::to_string)
            .or(default_remote)
            .unwrap_or_else(|| LOCAL.to_string());
        Ok(Config {
            dir,
            file,
            default_remote,
            remotes,
            global_dir,
        })
    }

    pub fn remote(&self, name: &str) -> Option<&Remote> {
        self.remotes.get(name)
    }

    /// The names of the remotes that serve instances (an image server, or a
    /// public remote, holds none), in name order.
    pub fn instance_servers(&self) -> impl Iterator<Item = &str> {
        self.remotes
            .values()
            .filter(|r| r.protocol == "incus" && !r.public)
            .map(|r| r.name.as_str())
    }
}
