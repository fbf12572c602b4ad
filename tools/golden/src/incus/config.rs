//! Where the Incus daemon is and how to reach it, read from the user's own client
//! configuration by the rules of the `incus` client itself (`shared/cliconfig` and
//! `client/connection.go` of lxc/incus, 6.0 LTS up to 7.x).
//!
//! [`resolve`] is a pure function of an [`Env`] (the variables, the user's and the
//! system's directories) and of the files those name, so every rule below is unit-tested
//! on throwaway directories. What it gives is either an [`Endpoint`] that the native
//! client ([`super::native`]) speaks, or an [`Unsupported`] value naming the remote and
//! why, for the caller to fall back to `incus query` or to fail with one line.
//!
//! # The rules
//!
//! - **Client configuration directory**: `INCUS_CONF`; else `$XDG_CONFIG_HOME/incus` when
//!   `XDG_CONFIG_HOME` is an absolute path (incus ≥ 7.x, through Go's `os.UserConfigDir`),
//!   except that an existing legacy `~/.config/incus` is used while the XDG one does not
//!   exist (the newer client moves it there on its next run; 6.0 reads it there); else
//!   `~/.config/incus`, the home being `HOME` or else the user's home from the password
//!   database. `$VAR` in the resulting path are expanded, as `os.ExpandEnv` does.
//! - **`config.yml`** there: `default-remote` and `remotes`, each remote with `addr` (several
//!   addresses comma-separated, tried in turn from `last_working_address`, as incus ≥ 7.x
//!   does; 6.0 takes the value as one address), `protocol` (default `incus`), `auth_type`
//!   (default `tls`), `project`, `public`. No file: the client's defaults (`local` and the
//!   public `images`) — incus writes exactly these on its first run.
//! - **Global remotes**: `$INCUS_GLOBAL_CONF/config.yml` (default `/etc/incus/config.yml`)
//!   adds the remotes the user file lacks (the user's entry wins on a name clash); its
//!   `default-remote` is ignored; the server certificate of a global remote is read from
//!   the global `servercerts/`. (Incus reads the global file only once the user file exists,
//!   which it writes on its first run; here it is read in both cases.)
//! - **`local`** is always the built-in unix-socket remote; only the `project` of a `local`
//!   entry in the file is kept.
//! - **Which remote**: the one named, else `INCUS_REMOTE`, else `default-remote`, else
//!   `local`. A name that is none of the remotes is bad input (exit 2).
//! - **Unix socket** of a remote whose address is `unix:PATH` / `unix://PATH`: PATH if
//!   given; else `INCUS_SOCKET`; else `$INCUS_DIR/unix.socket`; else
//!   `/run/incus/unix.socket` if it exists; else `/var/lib/incus/unix.socket`.
//!   **`unix.socket.user`**: when neither `INCUS_SOCKET` nor an explicit path is given and
//!   `unix.socket` of that directory is not writable by us while `unix.socket.user` is,
//!   the user socket of `incus-user` is used, as the incus client does; the endpoint's
//!   project is then `user-<euid>` (what the incus client's commands use; like
//!   `incus query`, the native client adds no project to a path by itself).
//! - **HTTPS**: the client certificate `clientcerts/<remote>.crt` + `.key` (with
//!   `clientcerts/<remote>.ca`) when both exist, else `client.crt` + `client.key` (with
//!   `client.ca`); none is an error (the remote cannot be used). The server certificate
//!   pinned in `servercerts/<remote>.crt` when present; the CA (`.ca`) or the system roots
//!   otherwise (see [`super::native`] for how each is checked). TLS 1.3 only, unless
//!   `INCUS_INSECURE_TLS` is true (then TLS 1.2 is allowed too, as with incus).
//!
//! # Not spoken natively ([`Unsupported`])
//!
//! A public remote, a protocol other than `incus` (simplestreams, oci: image servers),
//! `auth_type: oidc` (or any other than `tls`), an address neither `unix:` nor `https://`,
//! a password-protected client key (incus asks for its password), and an HTTPS proxy from
//! `HTTPS_PROXY`/`https_proxy` that applies to the remote's host (`NO_PROXY`, localhost and
//! loopback exempt, as the incus client decides).
//! [`Unsupported::fallback`] says whether `incus query` could reach it (all but the image
//! servers, which incus refuses as instance servers too); [`Unsupported::into_error`] is
//! the one-line error (exit 2) for a caller that does not fall back.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The built-in remote on the local unix socket.
pub const LOCAL: &str = "local";

/// What resolution reads from the process: its environment and a few system paths,
/// all overridable so that tests never depend on the machine.
#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// The user's home from the password database (used when `HOME` is unset).
    pub passwd_home: Option<PathBuf>,
    /// The effective user id (names the `user-<euid>` project of `incus-user`).
    pub euid: u32,
    /// The global configuration directory when `INCUS_GLOBAL_CONF` is unset.
    pub global_dir: PathBuf,
    /// Where a packaged daemon puts its socket (`/run/incus`).
    pub run_dir: PathBuf,
    /// The daemon's default directory (`/var/lib/incus`).
    pub var_dir: PathBuf,
}

impl Env {
    /// No variables; the system paths of a packaged Incus.
    pub fn empty() -> Env {
        Env {
            vars: BTreeMap::new(),
            passwd_home: None,
            euid: 0,
            global_dir: PathBuf::from("/etc/incus"),
            run_dir: PathBuf::from("/run/incus"),
            var_dir: PathBuf::from("/var/lib/incus"),
        }
    }

    /// This process's environment and user.
    pub fn from_process() -> Env {
        let mut env = Env::empty();
        env.vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        // SAFETY: geteuid has no preconditions and cannot fail.
        env.euid = unsafe { libc::geteuid() };
        env.passwd_home = passwd_home(env.euid);
        env
    }

    /// The same environment with `name` set to `value`.
    pub fn with_var(mut self, name: &str, value: impl Into<String>) -> Env {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    /// A variable, unset when empty (as Go's `os.Getenv(...) != ""` tests it).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn first_var(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.var(n))
    }

    /// `$NAME` and `${NAME}` replaced by their values (unset: empty), as `os.ExpandEnv`.
    fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(braced) = after.strip_prefix('{') {
                if let Some(end) = braced.find('}') {
                    out.push_str(self.vars.get(&braced[..end]).map_or("", |v| v));
                    rest = &braced[end + 1..];
                    continue;
                }
                // "${" without "}": Go drops the bad syntax.
                rest = "";
                continue;
            }
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                out.push_str(self.vars.get(&after[..len]).map_or("", |v| v));
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        out
    }

    fn global_conf_dir(&self) -> PathBuf {
        self.var("INCUS_GLOBAL_CONF")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.global_dir.clone())
    }
}

/// The home directory of `uid` in the password database.
fn passwd_home(uid: u32) -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives the use of pwd's fields.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into buf, NUL-terminated by getpwuid_r.
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
    let dir = std::ffi::OsStr::from_bytes(dir.to_bytes());
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

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
    global_dir: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(rename = "default-remote", default)]
    default_remote: Option<String>,
    #[serde(default)]
    remotes: Option<BTreeMap<String, Option<FileRemote>>>,
}

#[derive(Debug, Default, Deserialize)]
struct FileRemote {
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

fn read_file_config(path: &Path) -> Result<Option<FileConfig>> {
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

fn remote_from_file(name: &str, r: FileRemote, from_user_file: bool) -> Remote {
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

    /// How to reach `remote` (`None`: the default remote).
    pub fn endpoint(&self, remote: Option<&str>, env: &Env) -> Result<Resolution> {
        let name = remote.unwrap_or(&self.default_remote);
        let Some(r) = self.remotes.get(name) else {
            let from = if remote.is_none() && env.var("INCUS_REMOTE").is_some() {
                " (named by INCUS_REMOTE)"
            } else if remote.is_none() {
                " (the default-remote of the configuration)"
            } else {
                ""
            };
            let file = match &self.file {
                Some(f) => format!("remotes of {}", f.display()),
                None => "remotes of the incus client configuration".to_string(),
            };
            return Err(Error::Usage(format!(
                "unknown remote {name}{from}: not among the {file}; see `incus remote list`"
            )));
        };
        // `fallback`: could `incus query` reach it? Not an image server: incus
        // refuses those too ("The remote isn't a private server").
        let unsupported = |reason: String, fallback: bool| {
            Ok(Resolution::Unsupported(Unsupported {
                remote: name.to_string(),
                reason,
                fallback,
            }))
        };
        if r.public {
            return unsupported(
                "it is a public image server, not an instance server".into(),
                false,
            );
        }
        if r.protocol != "incus" {
            return unsupported(
                format!(
                    "it speaks the {} protocol (an image server), not the Incus API",
                    r.protocol
                ),
                false,
            );
        }
        match r.auth_type.as_str() {
            "" | "tls" => {}
            "oidc" => {
                return unsupported(
                    "it authenticates with OIDC, which the native client does not speak".into(),
                    true,
                )
            }
            other => {
                return unsupported(
                    format!("its auth_type {other} is not spoken by the native client"),
                    true,
                )
            }
        }
        if r.addrs.is_empty() {
            return Err(Error::Usage(format!(
                "remote {name} has no address in the incus client configuration"
            )));
        }
        let mut addrs = Vec::new();
        let mut project = r.project.clone().filter(|p| p != "default");
        for addr in &r.addrs {
            if let Some(rest) = addr.strip_prefix("unix:") {
                let given = rest.strip_prefix("//").unwrap_or(rest);
                let (sock, user_project) = socket_path(given, env);
                if project.is_none() {
                    project = user_project;
                }
                addrs.push(sock);
            } else if addr.starts_with("https://") {
                if let Some(proxy) = proxy_for(addr, env) {
                    return unsupported(
                        format!(
                            "{addr} would go through the HTTPS proxy {proxy} (HTTPS_PROXY), \
                         which the native client does not use"
                        ),
                        true,
                    );
                }
                addrs.push(Address::Https(addr.trim_end_matches('/').to_string()));
            } else {
                return unsupported(
                    format!("its address {addr} is neither unix: nor https://"),
                    true,
                );
            }
        }
        let tls = if addrs.iter().any(|a| matches!(a, Address::Https(_))) {
            match self.tls_files(r, env)? {
                Ok(tls) => Some(Box::new(tls)),
                Err(reason) => return unsupported(reason, true),
            }
        } else {
            None
        };
        Ok(Resolution::Native(Endpoint {
            remote: name.to_string(),
            project,
            addrs,
            tls,
        }))
    }

    /// The certificates of an HTTPS remote (`Err(reason)`: not usable natively).
    fn tls_files(&self, r: &Remote, env: &Env) -> Result<std::result::Result<TlsFiles, String>> {
        let name = &r.name;
        let Some(dir) = &self.dir else {
            return Err(Error::Usage(format!(
                "remote {name}: no incus client configuration directory (set HOME or \
                 INCUS_CONF) to hold its client certificate"
            )));
        };
        let per_remote = dir.join("clientcerts");
        let (crt, key, ca) = if per_remote.join(format!("{name}.crt")).exists()
            && per_remote.join(format!("{name}.key")).exists()
        {
            (
                per_remote.join(format!("{name}.crt")),
                per_remote.join(format!("{name}.key")),
                per_remote.join(format!("{name}.ca")),
            )
        } else {
            (
                dir.join("client.crt"),
                dir.join("client.key"),
                dir.join("client.ca"),
            )
        };
        let client_cert = Pem::read_optional(&crt)?;
        let client_key = Pem::read_optional(&key)?;
        let (Some(client_cert), Some(client_key)) = (client_cert, client_key) else {
            return Err(Error::Usage(format!(
                "remote {name}: missing TLS client certificate and key ({} and {}); \
                 add the remote with `incus remote add`",
                crt.display(),
                key.display()
            )));
        };
        if client_key.is_protected() {
            return Ok(Err(format!(
                "its client key {} is password-protected (incus asks for the password; \
                 the native client does not)",
                key.display()
            )));
        }
        let servercerts = if r.global {
            self.global_dir.join("servercerts")
        } else {
            dir.join("servercerts")
        };
        Ok(Ok(TlsFiles {
            client_cert,
            client_key,
            ca: Pem::read_optional(&ca)?,
            server_cert: Pem::read_optional(&servercerts.join(format!("{name}.crt")))?,
            allow_tls12: env.var("INCUS_INSECURE_TLS").is_some_and(is_true),
        }))
    }
}

/// Go's `util.IsTrue` / `IsFalseOrEmpty` negation, as `INCUS_INSECURE_TLS` is read.
fn is_true(v: &str) -> bool {
    !matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

/// The socket of a unix address (`given`: its path, possibly empty) and the project
/// the incus client would switch to (`user-<euid>` for the `incus-user` socket).
fn socket_path(given: &str, env: &Env) -> (Address, Option<String>) {
    if !given.is_empty() {
        return (
            Address::Unix {
                path: PathBuf::from(given),
                origin: "the remote's address".to_string(),
            },
            None,
        );
    }
    if let Some(sock) = env.var("INCUS_SOCKET") {
        return (
            Address::Unix {
                path: PathBuf::from(sock),
                origin: "INCUS_SOCKET".to_string(),
            },
            None,
        );
    }
    let (dir, origin) = match env.var("INCUS_DIR") {
        Some(d) => (PathBuf::from(d), "INCUS_DIR"),
        None if std::fs::symlink_metadata(env.run_dir.join("unix.socket")).is_ok() => {
            (env.run_dir.clone(), "the packaged daemon's run directory")
        }
        None => (env.var_dir.clone(), "the default daemon directory"),
    };
    let path = dir.join("unix.socket");
    let user = dir.join("unix.socket.user");
    if !writable(&path) && writable(&user) {
        return (
            Address::Unix {
                path: user,
                origin: format!(
                    "{origin}: the incus-user socket, as {} is not writable",
                    path.display()
                ),
            },
            Some(format!("user-{}", env.euid)),
        );
    }
    (
        Address::Unix {
            path,
            origin: origin.to_string(),
        },
        None,
    )
}

/// `access(path, W_OK)`, as Go's `util.PathIsWritable`.
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// The HTTPS proxy the incus client would use for `url`, if any (its
/// `shared/proxy.FromEnvironment`: `HTTPS_PROXY`, `NO_PROXY`, localhost exempt).
fn proxy_for(url: &str, env: &Env) -> Option<String> {
    let proxy = env.first_var(&["HTTPS_PROXY", "https_proxy"])?;
    let authority = url
        .strip_prefix("https://")
        .unwrap_or(url)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = strip_port(authority)
        .trim_matches(['[', ']'])
        .to_lowercase();
    if host == "localhost" {
        return None;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return None;
    }
    let no_proxy = env.first_var(&["NO_PROXY", "no_proxy"]).unwrap_or("");
    if no_proxy == "*" {
        return None;
    }
    let host = host.as_str();
    for p in no_proxy.split(',') {
        let p = p.trim().to_lowercase();
        if p.is_empty() {
            continue;
        }
        if ip.is_some_and(|ip| cidr_contains(&p, ip) == Some(true)) {
            return None;
        }
        let p = strip_port(&p).trim_matches(['[', ']']);
        if host == p {
            return None;
        }
        if let Some(bare) = p.strip_prefix('.') {
            if host.ends_with(p) || host == bare {
                return None;
            }
        } else if host.len() > p.len()
            && host.ends_with(p)
            && host.as_bytes()[host.len() - p.len() - 1] == b'.'
        {
            return None;
        }
    }
    Some(proxy.to_string())
}

/// "host:port" → "host" ("[v6]:port" → "[v6]"); a bare host as it is.
fn strip_port(s: &str) -> &str {
    match (s.rfind(':'), s.rfind(']')) {
        (Some(c), Some(b)) if c > b => &s[..c],
        (Some(c), None) if s[..c].find(':').is_none() => &s[..c],
        _ => s,
    }
}

/// Is `ip` in the network `cidr` ("10.0.0.0/8")? `None`: not a CIDR.
fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (net, bits) = cidr.split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Some(u32::from(n) & mask == u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            Some(u128::from(n) & mask == u128::from(i) & mask)
        }
        _ => Some(false),
    }
}

/// Reads the configuration and resolves `remote` (`None`: the default remote).
pub fn resolve(remote: Option<&str>, env: &Env) -> Result<Resolution> {
    Config::load(env)?.endpoint(remote, env)
}

/// What [`resolve`] found.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// The native client speaks it.
    Native(Endpoint),
    /// It does not: fall back to `incus query`, or fail with [`Unsupported::into_error`].
    Unsupported(Unsupported),
}

/// A remote the native client does not speak, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub remote: String,
    pub reason: String,
    /// Could `incus query` reach it (OIDC, a password-protected key, a proxy...)?
    /// `false` for an image server, which incus refuses as an instance server too.
    pub fallback: bool,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "remote {}: {}", self.remote, self.reason)
    }
}

impl Unsupported {
    /// The one-line error for a caller that does not fall back (exit 2: nothing done).
    pub fn into_error(self) -> Error {
        Error::Usage(self.to_string())
    }
}

/// How to reach one remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The remote's name (`local` for the built-in one).
    pub remote: String,
    /// The project the incus client's commands use on it (its `project`, or
    /// `user-<euid>` on the incus-user socket). Requests do not add it by themselves.
    pub project: Option<String>,
    /// Its addresses, to be tried in this order.
    pub addrs: Vec<Address>,
    /// The certificates, when an address is HTTPS.
    pub tls: Option<Box<TlsFiles>>,
}

impl Endpoint {
    /// "remote lo, https://10.0.0.1:8443" / "unix socket /run/incus/unix.socket".
    pub fn describe(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(Address::to_string).collect();
        if self.remote == LOCAL {
            addrs.join(", ")
        } else {
            format!("remote {}, {}", self.remote, addrs.join(", "))
        }
    }
}

/// One address of a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A unix socket; `origin` says which rule chose it (for error messages).
    Unix { path: PathBuf, origin: String },
    /// A base URL (`https://host:port`, no trailing slash).
    Https(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix { path, .. } => write!(f, "unix socket {}", path.display()),
            Address::Https(url) => f.write_str(url),
        }
    }
}

/// The TLS material of an HTTPS remote, read from the configuration directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub client_cert: Pem,
    pub client_key: Pem,
    /// `client.ca` / `clientcerts/<remote>.ca`: the CA of a PKI-mode server.
    pub ca: Option<Pem>,
    /// `servercerts/<remote>.crt`: the server certificate pinned by `incus remote add`.
    pub server_cert: Option<Pem>,
    /// `INCUS_INSECURE_TLS`: TLS 1.2 allowed as well as 1.3.
    pub allow_tls12: bool,
}

/// A PEM file's path and content.
#[derive(Clone, PartialEq, Eq)]
pub struct Pem {
    pub path: PathBuf,
    pub data: Vec<u8>,
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the content: it may be a private key.
        write!(f, "Pem({}, {} bytes)", self.path.display(), self.data.len())
    }
}

impl Pem {
    /// The file's content; `None` when it does not exist or is empty.
    fn read_optional(path: &Path) -> Result<Option<Pem>> {
        match std::fs::read(path) {
            Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(data) => Ok(Some(Pem {
                path: path.to_path_buf(),
                data,
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Usage(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// A private key the incus client would ask a password for.
    fn is_protected(&self) -> bool {
        let text = String::from_utf8_lossy(&self.data);
        text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("Proc-Type: 4,ENCRYPTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
            self.write("conf/client.crt", include_str!("testdata/client.crt"));
            self.write("conf/client.key", include_str!("testdata/client.key"));
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

    #[test]
    fn the_file_incus_remote_add_writes() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        w.client_cert();
        w.write(
            "conf/servercerts/lo.crt",
            include_str!("testdata/server.crt"),
        );
        let c = Config::load(&w.env).unwrap();
        assert_eq!(c.default_remote, "lo");
        assert_eq!(c.file, Some(w.path("conf/config.yml")));
        assert_eq!(
            c.remotes.keys().collect::<Vec<_>>(),
            ["images", "lo", "local"]
        );
        let lo = c.remote("lo").unwrap();
        assert_eq!(
            (lo.protocol.as_str(), lo.auth_type.as_str(), lo.public),
            ("incus", "tls", false)
        );
        // The default remote is lo: HTTPS with the pinned server and the client cert.
        let e = w.endpoint(None);
        assert_eq!(e.remote, "lo");
        assert_eq!(e.project, None, "project default is no project");
        assert_eq!(e.addrs, [Address::Https("https://127.0.0.1:8443".into())]);
        let tls = e.tls.unwrap();
        assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
        assert_eq!(tls.client_key.path, w.path("conf/client.key"));
        assert_eq!(
            tls.server_cert.unwrap().path,
            w.path("conf/servercerts/lo.crt")
        );
        assert_eq!(tls.ca, None);
        assert!(!tls.allow_tls12);
        assert!(!format!("{:?}", tls.client_key).contains("PRIVATE"));
    }

    #[test]
    fn no_file_means_the_built_in_local_remote() {
        let w = World::new();
        let c = Config::load(&w.env).unwrap();
        assert_eq!(c.file, None);
        assert_eq!(c.default_remote, "local");
        assert_eq!(c.remotes.keys().collect::<Vec<_>>(), ["images", "local"]);
        let e = w.endpoint(None);
        assert_eq!(e.remote, "local");
        assert_eq!(
            e.addrs,
            [unix(
                w.path("var/unix.socket"),
                "the default daemon directory"
            )]
        );
        assert_eq!(e.tls, None);
        assert_eq!(
            e.describe(),
            format!("unix socket {}", w.path("var/unix.socket").display())
        );
    }

    #[test]
    fn an_empty_or_sparse_file() {
        let w = World::new();
        w.write("conf/config.yml", "");
        let c = Config::load(&w.env).unwrap();
        assert_eq!(c.default_remote, "local");
        assert_eq!(c.remotes.keys().collect::<Vec<_>>(), ["local"]);
        w.write("conf/config.yml", "# nothing\nremotes:\naliases:\n");
        assert_eq!(Config::load(&w.env).unwrap().remotes.len(), 1);
        // Unknown keys (newer clients) are ignored; defaults filled in.
        w.write(
            "conf/config.yml",
            "defaults: {list_format: csv}\nremotes:\n  x:\n    addr: https://x:8443\n    keepalive: 30\n    credentials_helper: foo\n",
        );
        let x = Config::load(&w.env).unwrap().remotes["x"].clone();
        assert_eq!(
            (x.protocol.as_str(), x.auth_type.as_str()),
            ("incus", "tls")
        );
    }

    #[test]
    fn a_malformed_file_is_bad_input_naming_it() {
        let w = World::new();
        w.write("conf/config.yml", "remotes: [oops\n");
        let e = Config::load(&w.env).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        assert!(e.to_string().contains("config.yml"), "{e}");
        w.write("conf/config.yml", "remotes:\n  x:\n    public: maybe\n");
        assert!(Config::load(&w.env).is_err());
    }

    #[test]
    fn yaml_1_1_booleans_as_go_reads_them() {
        let w = World::new();
        w.write(
            "conf/config.yml",
            "remotes:\n  a:\n    addr: https://a\n    public: yes\n  b:\n    addr: https://b\n    public: off\n",
        );
        let c = Config::load(&w.env).unwrap();
        assert!(c.remotes["a"].public);
        assert!(!c.remotes["b"].public);
        assert_eq!(
            c.remotes["a"].auth_type, "",
            "a public remote gets no auth_type"
        );
    }

    #[test]
    fn incus_remote_overrides_default_remote() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        w.client_cert();
        let env = w.env.clone().with_var("INCUS_REMOTE", "local");
        assert!(matches!(
            resolve(None, &env).unwrap(),
            Resolution::Native(e) if e.remote == "local"
        ));
        // A name given beats both.
        let env = w.env.clone().with_var("INCUS_REMOTE", "local");
        let Resolution::Native(e) = resolve(Some("lo"), &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.remote, "lo");
        // Empty is unset.
        let env = w.env.clone().with_var("INCUS_REMOTE", "");
        assert_eq!(Config::load(&env).unwrap().default_remote, "lo");
        // Also without a file (incus writes its default file on its first run).
        let w2 = World::new();
        let env = w2.env.clone().with_var("INCUS_REMOTE", "nowhere");
        let e = resolve(None, &env).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(
            e.to_string()
                .contains("unknown remote nowhere (named by INCUS_REMOTE)"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_remote_is_bad_input() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        let e = w.resolve(Some("nowhere")).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        assert!(e.to_string().starts_with("unknown remote nowhere: "), "{e}");
        w.write("conf/config.yml", "default-remote: gone\n");
        let e = w.resolve(None).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown remote gone (the default-remote"),
            "{e}"
        );
    }

    #[test]
    fn local_is_always_the_built_in_socket_keeping_its_project() {
        let w = World::new();
        w.write(
            "conf/config.yml",
            "remotes:\n  local:\n    addr: https://elsewhere:8443\n    project: lab\n",
        );
        let e = w.endpoint(Some("local"));
        assert_eq!(
            e.addrs,
            [unix(
                w.path("var/unix.socket"),
                "the default daemon directory"
            )]
        );
        assert_eq!(e.project.as_deref(), Some("lab"));
    }

    #[test]
    fn socket_rules_in_order() {
        let w = World::new();
        // Default: /var/lib/incus when /run/incus/unix.socket does not exist.
        assert_eq!(
            w.endpoint(None).addrs,
            [unix(
                w.path("var/unix.socket"),
                "the default daemon directory"
            )]
        );
        // /run/incus/unix.socket when it exists.
        let run = w.socket("run/unix.socket");
        assert_eq!(
            w.endpoint(None).addrs,
            [unix(&run, "the packaged daemon's run directory")]
        );
        // INCUS_DIR beats it.
        let env = w
            .env
            .clone()
            .with_var("INCUS_DIR", w.path("incusdir").to_str().unwrap());
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.addrs, [unix(w.path("incusdir/unix.socket"), "INCUS_DIR")]);
        // INCUS_SOCKET beats INCUS_DIR.
        let env = env.with_var("INCUS_SOCKET", "/x/y.sock");
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.addrs, [unix("/x/y.sock", "INCUS_SOCKET")]);
        // A remote's own unix: path beats them all, in both spellings.
        w.write(
            "conf/config.yml",
            "remotes:\n  a:\n    addr: unix:///srv/a.sock\n  b:\n    addr: unix:/srv/b.sock\n  c:\n    addr: unix://\n",
        );
        let Resolution::Native(a) = resolve(Some("a"), &env).unwrap() else {
            panic!()
        };
        assert_eq!(a.addrs, [unix("/srv/a.sock", "the remote's address")]);
        let Resolution::Native(b) = resolve(Some("b"), &env).unwrap() else {
            panic!()
        };
        assert_eq!(b.addrs, [unix("/srv/b.sock", "the remote's address")]);
        let Resolution::Native(c) = resolve(Some("c"), &env).unwrap() else {
            panic!()
        };
        assert_eq!(c.addrs, [unix("/x/y.sock", "INCUS_SOCKET")]);
        assert_eq!(c.tls, None);
    }

    #[test]
    fn the_incus_user_socket_when_only_it_is_writable() {
        let w = World::new();
        let env = w
            .env
            .clone()
            .with_var("INCUS_DIR", w.path("incusdir").to_str().unwrap());
        // Only unix.socket.user exists (so only it is writable, even for root).
        let user = w.socket("incusdir/unix.socket.user");
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.addrs.len(), 1);
        assert!(matches!(&e.addrs[0], Address::Unix { path, .. } if *path == user));
        assert_eq!(e.project.as_deref(), Some("user-1234"));
        // A project in the configuration wins over user-<euid>.
        w.write("conf/config.yml", "remotes:\n  local:\n    project: mine\n");
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.project.as_deref(), Some("mine"));
        // Both there and unix.socket writable: the main socket.
        let main = w.socket("incusdir/unix.socket");
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert!(matches!(&e.addrs[0], Address::Unix { path, .. } if *path == main));
        // INCUS_SOCKET is taken as given, never the user socket.
        let env = env.with_var("INCUS_SOCKET", user.to_str().unwrap());
        let Resolution::Native(e) = resolve(None, &env).unwrap() else {
            panic!()
        };
        assert_eq!(e.project.as_deref(), Some("mine"));
    }

    #[test]
    fn several_addresses_from_the_last_working_one() {
        let w = World::new();
        w.client_cert();
        w.write(
            "conf/config.yml",
            "remotes:\n  c:\n    addr: https://m1:8443, https://m2:8443,,https://m3:8443\n    last_working_address: https://m2:8443\n  d:\n    addr: https://m1:8443,https://m2:8443\n",
        );
        let e = w.endpoint(Some("c"));
        assert_eq!(
            e.addrs,
            ["https://m2:8443", "https://m3:8443", "https://m1:8443"]
                .map(|a| Address::Https(a.into()))
        );
        let e = w.endpoint(Some("d"));
        assert_eq!(e.addrs[0], Address::Https("https://m1:8443".into()));
        // No address at all.
        w.write("conf/config.yml", "remotes:\n  e:\n    protocol: incus\n");
        let err = w.resolve(Some("e")).unwrap_err();
        assert!(err.to_string().contains("remote e has no address"), "{err}");
    }

    #[test]
    fn per_remote_client_certificate_beats_client_crt() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        w.client_cert();
        w.write(
            "conf/clientcerts/lo.crt",
            include_str!("testdata/client.crt"),
        );
        // Only the .crt: not a pair, so client.crt/.key still.
        let tls = w.endpoint(Some("lo")).tls.unwrap();
        assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
        w.write(
            "conf/clientcerts/lo.key",
            include_str!("testdata/client.key"),
        );
        w.write(
            "conf/clientcerts/lo.ca",
            include_str!("testdata/server.crt"),
        );
        let tls = w.endpoint(Some("lo")).tls.unwrap();
        assert_eq!(tls.client_cert.path, w.path("conf/clientcerts/lo.crt"));
        assert_eq!(tls.client_key.path, w.path("conf/clientcerts/lo.key"));
        assert_eq!(tls.ca.unwrap().path, w.path("conf/clientcerts/lo.ca"));
        assert_eq!(tls.server_cert, None, "nothing pinned");
    }

    #[test]
    fn a_missing_client_certificate_is_an_error_naming_the_files() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        let e = w.resolve(Some("lo")).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        let m = e.to_string();
        assert!(
            m.contains("remote lo: missing TLS client certificate and key"),
            "{m}"
        );
        assert!(m.contains("client.crt"), "{m}");
    }

    #[test]
    fn insecure_tls_allows_tls12() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        w.client_cert();
        for (v, allowed) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            let env = w.env.clone().with_var("INCUS_INSECURE_TLS", v);
            let Resolution::Native(e) = resolve(Some("lo"), &env).unwrap() else {
                panic!()
            };
            assert_eq!(e.tls.unwrap().allow_tls12, allowed, "{v}");
        }
    }

    #[test]
    fn global_remotes_fill_in_what_the_user_file_lacks() {
        let w = World::new();
        w.client_cert();
        w.write(
            "conf/config.yml",
            "default-remote: local\nremotes:\n  shared:\n    addr: https://mine:8443\n",
        );
        w.write(
            "global/config.yml",
            "default-remote: shared\nremotes:\n  shared:\n    addr: https://theirs:8443\n  site:\n    addr: https://site:8443\n    protocol: incus\n    public: false\n",
        );
        w.write(
            "global/servercerts/site.crt",
            include_str!("testdata/server.crt"),
        );
        w.write(
            "conf/servercerts/site.crt",
            include_str!("testdata/other.crt"),
        );
        let c = Config::load(&w.env).unwrap();
        assert_eq!(
            c.default_remote, "local",
            "the global default-remote is ignored"
        );
        assert_eq!(
            c.remotes["shared"].addrs,
            ["https://mine:8443"],
            "the user's wins"
        );
        assert!(!c.remotes["shared"].global);
        assert!(c.remotes["site"].global);
        // A global remote's pinned certificate comes from the global directory,
        // its client certificate from the user's.
        let tls = w.endpoint(Some("site")).tls.unwrap();
        assert_eq!(
            tls.server_cert.unwrap().path,
            w.path("global/servercerts/site.crt")
        );
        assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
        // A global file that does not parse is an error too.
        w.write("global/config.yml", "remotes: [\n");
        assert!(Config::load(&w.env).is_err());
    }

    #[test]
    fn what_is_not_spoken_is_unsupported_naming_the_remote() {
        let w = World::new();
        w.client_cert();
        w.write(
            "conf/config.yml",
            "remotes:
  images:
    addr: https://images.example
    protocol: simplestreams
    public: true
  oci:
    addr: https://docker.example
    protocol: oci
    public: false
  sso:
    addr: https://sso:8443
    auth_type: oidc
  old:
    addr: https://old:8443
    auth_type: candid
  plain:
    addr: http://plain:8443
",
        );
        let u = w.unsupported(Some("images"));
        assert_eq!(u.remote, "images");
        assert!(!u.fallback, "incus refuses an image server too");
        assert!(!w.unsupported(Some("oci")).fallback);
        assert!(w.unsupported(Some("sso")).fallback, "incus speaks OIDC");
        assert!(u.reason.contains("public image server"), "{u}");
        let u = w.unsupported(Some("oci"));
        assert!(u.reason.contains("oci protocol"), "{u}");
        let u = w.unsupported(Some("sso"));
        assert!(u.to_string().starts_with("remote sso: "), "{u}");
        assert!(u.reason.contains("OIDC"), "{u}");
        assert!(w.unsupported(Some("old")).reason.contains("candid"));
        assert!(w
            .unsupported(Some("plain"))
            .reason
            .contains("neither unix: nor https://"));
        let e = w.unsupported(Some("sso")).into_error();
        assert!(matches!(e, Error::Usage(_)));
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn a_password_protected_key_is_unsupported() {
        let w = World::new();
        w.write("conf/config.yml", REMOTE_ADD);
        w.write("conf/client.crt", include_str!("testdata/client.crt"));
        w.write(
            "conf/client.key",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        assert!(w
            .unsupported(Some("lo"))
            .reason
            .contains("password-protected"));
        w.write(
            "conf/client.key",
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n",
        );
        assert!(w
            .unsupported(Some("lo"))
            .reason
            .contains("password-protected"));
    }

    #[test]
    fn an_https_proxy_that_applies_is_unsupported() {
        let w = World::new();
        w.client_cert();
        w.write(
            "conf/config.yml",
            "remotes:
  far:
    addr: https://far.example.org:8443
  near:
    addr: https://127.0.0.1:8443
  lan:
    addr: https://10.1.2.3:8443
  v6:
    addr: https://[::1]:8443
",
        );
        let env = w.env.clone().with_var("https_proxy", "http://proxy:3128");
        let kind = |env: &Env, r: &str| match resolve(Some(r), env).unwrap() {
            Resolution::Native(_) => "native",
            Resolution::Unsupported(_) => "unsupported",
        };
        assert_eq!(kind(&env, "far"), "unsupported");
        assert_eq!(kind(&env, "near"), "native", "loopback is never proxied");
        assert_eq!(kind(&env, "v6"), "native");
        assert_eq!(kind(&env, "lan"), "unsupported");
        for no in ["*", "example.org", ".example.org", "far.example.org:8443"] {
            let env = env.clone().with_var("NO_PROXY", no);
            assert_eq!(kind(&env, "far"), "native", "NO_PROXY={no}");
        }
        let env = env.with_var("no_proxy", "10.0.0.0/8,ample.org");
        assert_eq!(kind(&env, "lan"), "native");
        assert_eq!(kind(&env, "far"), "unsupported", "a suffix is not a domain");
        // HTTP_PROXY alone does not apply to HTTPS (incus does not fall back to it).
        let env = w.env.clone().with_var("HTTP_PROXY", "http://proxy:3128");
        assert_eq!(kind(&env, "far"), "native");
        let u = match resolve(Some("far"), &w.env.clone().with_var("HTTPS_PROXY", "p:1")).unwrap() {
            Resolution::Unsupported(u) => u,
            Resolution::Native(_) => panic!(),
        };
        assert!(u.reason.contains("HTTPS proxy p:1"), "{u}");
    }

    #[test]
    fn config_dir_rules() {
        let w = World::new();
        let home = w.path("home");
        let base = Env::empty().with_var("HOME", home.to_str().unwrap());
        // INCUS_CONF first.
        assert_eq!(
            config_dir(&base.clone().with_var("INCUS_CONF", "/c")),
            Some(PathBuf::from("/c"))
        );
        // ~/.config/incus.
        assert_eq!(config_dir(&base), Some(home.join(".config/incus")));
        // XDG_CONFIG_HOME (absolute) when the legacy dir does not exist.
        let xdg = w.path("xdg");
        let env = base
            .clone()
            .with_var("XDG_CONFIG_HOME", xdg.to_str().unwrap());
        assert_eq!(config_dir(&env), Some(xdg.join("incus")));
        // A relative XDG_CONFIG_HOME is ignored, as Go's os.UserConfigDir does.
        let rel = base.clone().with_var("XDG_CONFIG_HOME", "rel");
        assert_eq!(config_dir(&rel), Some(home.join(".config/incus")));
        // The legacy dir while the XDG one does not exist; the XDG one once it does.
        fs::create_dir_all(home.join(".config/incus")).unwrap();
        assert_eq!(config_dir(&env), Some(home.join(".config/incus")));
        fs::create_dir_all(xdg.join("incus")).unwrap();
        assert_eq!(config_dir(&env), Some(xdg.join("incus")));
        // No HOME: the password database's home; neither: no directory.
        let mut nohome = Env::empty();
        nohome.passwd_home = Some(PathBuf::from("/pw"));
        assert_eq!(
            config_dir(&nohome),
            Some(PathBuf::from("/pw/.config/incus"))
        );
        assert_eq!(config_dir(&Env::empty()), None);
        let c = Config::load(&Env::empty()).unwrap();
        assert_eq!((c.dir, c.file), (None, None));
    }

    #[test]
    fn config_path_expands_variables_as_go_does() {
        let w = World::new();
        w.write(
            "conf/config.yml",
            "default-remote: x\nremotes:\n  x:\n    addr: unix:///s\n",
        );
        let env = Env::empty()
            .with_var("BASE", w.tmp.path().to_str().unwrap())
            .with_var("INCUS_CONF", "$BASE/conf");
        let c = Config::load(&env).unwrap();
        assert_eq!(c.default_remote, "x");
        assert_eq!(c.dir, Some(w.path("conf")));
        let env = Env::empty().with_var("A", "1");
        assert_eq!(env.expand("a${A}b$A/$B/$/x$"), "a1b1//$/x$");
    }

    #[test]
    fn from_process_reads_the_environment() {
        let env = Env::from_process();
        // SAFETY: no preconditions.
        assert_eq!(env.euid, unsafe { libc::geteuid() });
        if let Ok(path) = std::env::var("PATH") {
            assert_eq!(env.var("PATH"), Some(path.as_str()));
        }
        assert!(env.passwd_home.is_some(), "this user has a home in passwd");
    }

    #[test]
    fn strip_port_and_cidr() {
        assert_eq!(strip_port("a:1"), "a");
        assert_eq!(strip_port("[::1]:1"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(
            cidr_contains("10.0.0.0/8", "10.9.9.9".parse().unwrap()),
            Some(true)
        );
        assert_eq!(
            cidr_contains("10.0.0.0/8", "11.0.0.1".parse().unwrap()),
            Some(false)
        );
        assert_eq!(
            cidr_contains("0.0.0.0/0", "1.2.3.4".parse().unwrap()),
            Some(true)
        );
        assert_eq!(
            cidr_contains("fd00::/8", "fd12::1".parse().unwrap()),
            Some(true)
        );
        assert_eq!(cidr_contains("x", "fd12::1".parse().unwrap()), None);
    }
}
