//! The `config.yml` files: where the user's is, and what one may say (as the incus
//! client's YAML reads it: unknown keys ignored, YAML 1.1 booleans).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Env, Remote};
use crate::error::{Error, Result};

/// The client configuration directory, as the incus client computes it.
pub fn config_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dir) = env.var("INCUS_CONF") {
        return Some(PathBuf::from(dir));
    }
    let home = env
        .var("HOME")
        .map(PathBuf::from)
        .or_else(|| env.passwd_home.clone());
    let legacy = home.map(|h| h.join(".config").join("incus"));
    match env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        Some(xdg) => {
            let dir = xdg.join("incus");
            match legacy {
                Some(legacy) if legacy != dir && !dir.exists() && legacy.exists() => Some(legacy),
                _ => Some(dir),
            }
        }
        None => legacy,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileConfig {
    #[serde(rename = "default-remote", default)]
    pub(super) default_remote: Option<String>,
    #[serde(default)]
    pub(super) remotes: Option<BTreeMap<String, Option<FileRemote>>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FileRemote {
    #[serde(default)]
    addr: Option<String>,
    #[serde(default)]
    last_working_address: Option<String>,
    #[serde(default)]
    auth_type: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default, deserialize_with = "yaml11_bool")]
    public: bool,
}

/// A boolean as Go's yaml.v2 reads one (`true`, but also `yes`, `on`, `y`...).
fn yaml11_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
        Null(()),
    }
    match B::deserialize(d)? {
        B::Bool(b) => Ok(b),
        B::Null(()) => Ok(false),
        B::Str(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Ok(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "public: {other:?} is not a boolean"
            ))),
        },
    }
}

pub(super) fn read_file_config(path: &Path) -> Result<Option<FileConfig>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read the incus client configuration {}: {e}",
                path.display()
            )))
        }
    };
    let parsed: Option<FileConfig> = serde_norway::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "cannot read the incus client configuration {}: {e}",
            path.display()
        ))
    })?;
    Ok(Some(parsed.unwrap_or_default()))
}

pub(super) fn remote_from_file(name: &str, r: FileRemote, from_user_file: bool) -> Remote {
    let addr = r.addr.unwrap_or_default();
    let mut addrs: Vec<String> = addr
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(last) = r.last_working_address.as_deref() {
        if let Some(i) = addrs.iter().position(|a| a == last) {
            addrs.rotate_left(i);
        }
    }
    let mut auth_type = r.auth_type.unwrap_or_default();
    if from_user_file && !r.public && auth_type.is_empty() {
        auth_type = "tls".to_string();
    }
    Remote {
        name: name.to_string(),
        addrs,
        protocol: r
            .protocol
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "incus".to_string()),
        auth_type,
        project: r.project.filter(|p| !p.is_empty()),
        public: r.public,
        global: !from_user_file,
    }
}
