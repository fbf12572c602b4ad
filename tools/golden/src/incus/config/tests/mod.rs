//! Resolution tested on throwaway directories: a [`World`] holds a home, a client
//! configuration directory, a global one and the daemon's directories. One file per
//! part of the resolution.

mod endpoint;
mod env;
mod file;
mod proxy;
mod remotes;
mod socket;
mod tls;

use std::fs;
use std::path::PathBuf;

use super::{resolve, Address, Endpoint, Env, Resolution, Unsupported};
use crate::error::Result;

/// A throwaway world: a home, a client config dir, a global dir, system dirs.
struct World {
    tmp: tempfile::TempDir,
    env: Env,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["home", "conf", "global", "run", "var", "incusdir"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let mut env = Env::empty()
            .with_var("HOME", root.join("home").to_str().unwrap())
            .with_var("INCUS_CONF", root.join("conf").to_str().unwrap())
            .with_var("INCUS_GLOBAL_CONF", root.join("global").to_str().unwrap());
        env.run_dir = root.join("run");
        env.var_dir = root.join("var");
        env.euid = 1234;
        World { tmp, env }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn write(&self, p: &str, content: &str) {
        let path = self.path(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn resolve(&self, remote: Option<&str>) -> Result<Resolution> {
        resolve(remote, &self.env)
    }

    fn endpoint(&self, remote: Option<&str>) -> Endpoint {
        match self.resolve(remote).unwrap() {
            Resolution::Native(e) => e,
            Resolution::Unsupported(u) => panic!("unsupported: {u}"),
        }
    }

    fn unsupported(&self, remote: Option<&str>) -> Unsupported {
        match self.resolve(remote).unwrap() {
            Resolution::Native(e) => panic!("native: {e:?}"),
            Resolution::Unsupported(u) => u,
        }
    }

    /// The client certificate `incus remote add` generates.
    fn client_cert(&self) {
        self.write("conf/client.crt", include_str!("../../testdata/client.crt"));
        self.write("conf/client.key", include_str!("../../testdata/client.key"));
    }

    fn socket(&self, p: &str) -> PathBuf {
        let path = self.path(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Bound and left there: a socket file, as a daemon leaves it.
        std::mem::forget(std::os::unix::net::UnixListener::bind(&path).unwrap());
        path
    }
}

/// config.yml exactly as `incus remote add` (6.0.4) writes it, after
/// `incus remote add lo TOKEN` and `incus remote switch lo`.
const REMOTE_ADD: &str = "\
default-remote: lo
remotes:
  images:
    addr: https://images.example
    protocol: simplestreams
    public: true
  lo:
    addr: https://127.0.0.1:8443
    auth_type: tls
    project: default
    protocol: incus
    public: false
  local:
    addr: unix://
    protocol: incus
    public: false
aliases: {}
";

fn unix(path: impl Into<PathBuf>, origin: &str) -> Address {
    Address::Unix {
        path: path.into(),
        origin: origin.to_string(),
    }
}
