//! The one place that talks to Incus.
//!
//! Every request goes through the user's own `incus` client as `incus query`, so
//! remotes, certificates, `INCUS_DIR` and `INCUS_CONF` work exactly as with `incus`.
//! Arguments are passed as an argv array: no shell is ever involved.

pub mod config;
pub mod native;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use wait_timeout::ChildExt;

use crate::error::{Error, Result};

/// How long a plain request (not an operation we wait for) may take before we give
/// up: a daemon that accepts a connection but never answers must not hang us.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Characters kept as they are in a query value or path segment.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, KEEP).to_string()
}

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
            Scope::Project(p) => format!("project={}", enc(p)),
        }
    }
}

/// A client for one remote (`None`: the client's default, as with plain `incus`).
#[derive(Debug, Clone)]
pub struct Incus {
    remote: Option<String>,
    timeout: Duration,
    trace: bool,
}

impl Incus {
    pub fn new(remote: Option<String>) -> Self {
        let timeout = std::env::var("GOLDEN_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT);
        Incus {
            remote,
            timeout,
            trace: std::env::var_os("GOLDEN_TRACE").is_some(),
        }
    }

    pub fn remote(&self) -> Option<&str> {
        self.remote.as_deref()
    }

    /// `GET path`, decoded into `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let v = self.request("GET", path, None, false)?;
        serde_json::from_value(v)
            .map_err(|e| Error::Incus(format!("unexpected answer from Incus for {path}: {e}")))
    }

    /// Sends a request that starts an operation and waits for it to end.
    pub fn run(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        self.request(method, path, Some(body), true)
    }

    /// Sends a request whose answer is immediate (no operation), such as PUT of config.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.request(method, path, body, false)
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>, wait: bool) -> Result<Value> {
        let target = match &self.remote {
            Some(r) => format!("{r}:{path}"),
            None => path.to_string(),
        };
        let mut cmd = Command::new("incus");
        cmd.arg("query").arg("-X").arg(method);
        if wait {
            cmd.arg("--wait");
        }
        if let Some(b) = body {
            cmd.arg("-d").arg(b.to_string());
        }
        // The target is always "/..." or "remote:/...", never an option.
        cmd.arg(&target);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at the terminal reaches us, not the
        // request under way, which we let finish (see cli::interrupted).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| {
            Error::Unreachable(format!(
                "cannot run the incus client ({e}); is incus installed and on PATH?"
            ))
        })?;
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf).map(|_| buf)
        });
        let mut errbuf = Vec::new();
        let status = if wait {
            err.read_to_end(&mut errbuf)?;
            child.wait()?
        } else {
            let errthread = std::thread::spawn(move || {
                let mut buf = Vec::new();
                err.read_to_end(&mut buf).map(|_| buf)
            });
            match child.wait_timeout(self.timeout)? {
                Some(s) => {
                    errbuf = errthread.join().expect("stderr reader")?;
                    s
                }
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::Unreachable(format!(
                        "Incus{} did not answer {method} {path} within {} s; check it with `incus info`",
                        self.remote_label(),
                        self.timeout.as_secs()
                    )));
                }
            }
        };
        let stdout = reader.join().expect("stdout reader")?;
        if self.trace {
            eprintln!(
                "golden: incus query -X {method} {target} ({} ms)",
                started.elapsed().as_millis()
            );
        }
        if !status.success() {
            return Err(self.classify(String::from_utf8_lossy(&errbuf).trim()));
        }
        if stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        let v: Value = serde_json::from_slice(&stdout)
            .map_err(|e| Error::Incus(format!("unreadable answer from Incus for {path}: {e}")))?;
        if wait {
            // An operation: its own error or metadata.
            if let Some(e) = v
                .get("err")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                return Err(Error::Incus(e.to_string()));
            }
            return Ok(v.get("metadata").cloned().unwrap_or(Value::Null));
        }
        Ok(v)
    }

    fn remote_label(&self) -> String {
        match &self.remote {
            Some(r) => format!(" (remote {r})"),
            None => String::new(),
        }
    }

    /// Tells "the daemon is not there" from "the daemon said no".
    fn classify(&self, stderr: &str) -> Error {
        let msg = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("incus query failed")
            .trim_start_matches("Error: ")
            .to_string();
        let lower = msg.to_lowercase();
        let unreachable = [
            "doesn't appear to be started",
            "connection refused",
            "no such file or directory",
            "unable to connect",
            "no route to host",
            "i/o timeout",
            "connect: permission denied",
        ];
        if lower.starts_with("the remote \"") && lower.contains("doesn't exist") {
            // A name's REMOTE: part that the client does not know is bad input.
            return Error::Usage(format!(
                "unknown remote {}: {msg}",
                self.remote.as_deref().unwrap_or("")
            ));
        }
        if unreachable.iter().any(|p| lower.contains(p)) {
            Error::Unreachable(format!(
                "cannot reach Incus{}: {msg}; check it with `incus info`",
                self.remote_label()
            ))
        } else {
            Error::Incus(msg)
        }
    }

    // ---- typed calls -------------------------------------------------------

    /// Every instance in scope, without state (`recursion=1`: several times cheaper
    /// than `recursion=2`, which gathers live state for each instance).
    pub fn instances(&self, scope: &Scope) -> Result<Vec<Instance>> {
        self.get(&format!("/1.0/instances?recursion=1&{}", scope.query()))
            .map_err(|e| e.context("listing instances"))
    }

    /// Names and projects of all instances: the cheapest listing (`recursion=0`).
    pub fn instance_urls(&self, scope: &Scope) -> Result<Vec<InstanceUrl>> {
        let urls: Vec<String> = self
            .get(&format!("/1.0/instances?{}", scope.query()))
            .map_err(|e| e.context("listing instances"))?;
        Ok(urls.iter().filter_map(|u| InstanceUrl::parse(u)).collect())
    }

    pub fn instance(&self, project: &str, name: &str) -> Result<Instance> {
        self.get(&format!(
            "/1.0/instances/{}?project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading instance {name} in project {project}")))
    }

    pub fn snapshots(&self, project: &str, name: &str) -> Result<Vec<Snapshot>> {
        self.get(&format!(
            "/1.0/instances/{}/snapshots?recursion=1&project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("listing snapshots of {name} in project {project}")))
    }

    pub fn pools(&self) -> Result<Vec<StoragePool>> {
        self.get("/1.0/storage-pools?recursion=1")
            .map_err(|e| e.context("listing storage pools"))
    }

    /// The instance volumes of one pool, snapshots included as `instance/snapshot`:
    /// one call per pool tells which instances have a `pristine` and when it was made.
    pub fn instance_volumes(&self, pool: &str, scope: &Scope) -> Result<Vec<StorageVolume>> {
        let filter = enc("type eq container or type eq virtual-machine");
        self.get(&format!(
            "/1.0/storage-pools/{}/volumes?recursion=1&{}&filter={filter}",
            enc(pool),
            scope.query()
        ))
        .map_err(|e| e.context(format!("listing volumes of pool {pool}")))
    }

    /// Does the project exist? (Incus answers an empty list for an unknown project.)
    pub fn project_exists(&self, project: &str) -> Result<bool> {
        match self.get::<Value>(&format!("/1.0/projects/{}", enc(project))) {
            Ok(_) => Ok(true),
            Err(Error::Incus(m)) if m.to_lowercase().contains("not found") => Ok(false),
            Err(e) => Err(e.context(format!("reading project {project}"))),
        }
    }
}

impl Incus {
    /// Changes the power state (`start`, `stop`, ...) and waits for it.
    pub fn set_state(
        &self,
        project: &str,
        name: &str,
        action: &str,
        timeout: Option<u64>,
        force: bool,
    ) -> Result<()> {
        let mut body = serde_json::json!({ "action": action, "force": force });
        if let Some(t) = timeout {
            body["timeout"] = Value::from(t);
        }
        self.run(
            "PUT",
            &format!(
                "/1.0/instances/{}/state?project={}",
                enc(name),
                enc(project)
            ),
            &body,
        )
        .map(drop)
        .map_err(|e| e.context(format!("{action} {name} in project {project}")))
    }

    pub fn project(&self, project: &str) -> Result<Project> {
        self.get(&format!("/1.0/projects/{}", enc(project)))
            .map_err(|e| e.context(format!("reading project {project}")))
    }

    /// Creates an instance (copy, image...) and waits for it.
    /// `target`: the cluster member to create it on.
    pub fn create_instance(&self, project: &str, target: Option<&str>, body: &Value) -> Result<()> {
        let mut path = format!("/1.0/instances?project={}", enc(project));
        if let Some(t) = target {
            path.push_str(&format!("&target={}", enc(t)));
        }
        self.run("POST", &path, body).map(drop)
    }

    pub fn update_instance(&self, project: &str, name: &str, patch: &Value) -> Result<()> {
        self.send(
            "PATCH",
            &format!("/1.0/instances/{}?project={}", enc(name), enc(project)),
            Some(patch),
        )
        .map(drop)
        .map_err(|e| e.context(format!("updating {name} in project {project}")))
    }

    pub fn delete_instance(&self, project: &str, name: &str) -> Result<()> {
        self.run(
            "DELETE",
            &format!("/1.0/instances/{}?project={}", enc(name), enc(project)),
            &Value::Null,
        )
        .map(drop)
        .map_err(|e| e.context(format!("deleting {name} in project {project}")))
    }

    /// Creates a custom volume (a copy of another's snapshot, say) and waits.
    pub fn create_volume(&self, pool: &str, project: &str, body: &Value) -> Result<()> {
        self.run(
            "POST",
            &format!(
                "/1.0/storage-pools/{}/volumes/custom?project={}",
                enc(pool),
                enc(project)
            ),
            body,
        )
        .map(drop)
    }

    pub fn network(&self, project: &str, name: &str) -> Result<Network> {
        self.get(&format!(
            "/1.0/networks/{}?project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading network {name}")))
    }

    /// Addresses the network's DHCP server has handed out or reserved.
    pub fn network_leases(&self, project: &str, name: &str) -> Result<Vec<Lease>> {
        self.get(&format!(
            "/1.0/networks/{}/leases?project={}",
            enc(name),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading leases of network {name}")))
    }
}

impl Incus {
    /// Starts an operation without waiting; returns its id.
    pub fn start(&self, method: &str, path: &str, body: &Value) -> Result<String> {
        let op = self.request(method, path, Some(body), false)?;
        op.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::Incus(format!("no operation returned for {method} {path}")))
    }

    /// An operation's current state (its metadata holds progress).
    pub fn operation(&self, id: &str) -> Result<Value> {
        self.get(&format!("/1.0/operations/{}", enc(id)))
    }

    /// Waits up to `secs` for an operation; `None` if it still runs.
    pub fn wait_operation(&self, id: &str, secs: u64) -> Result<Option<Value>> {
        // The daemon holds this request up to `secs`: allow for it.
        let patient = Incus {
            timeout: self.timeout + Duration::from_secs(secs),
            ..self.clone()
        };
        let op: Value = patient.get(&format!("/1.0/operations/{}/wait?timeout={secs}", enc(id)))?;
        match op.get("status").and_then(Value::as_str) {
            Some("Success") => Ok(Some(op.get("metadata").cloned().unwrap_or(Value::Null))),
            Some("Running") | Some("Pending") => Ok(None),
            _ => Err(Error::Incus(
                op.get("err")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .unwrap_or("operation failed")
                    .to_string(),
            )),
        }
    }

    /// The image an alias points to, if the alias exists.
    pub fn image_alias(&self, project: &str, alias: &str) -> Result<Option<ImageAlias>> {
        match self.get(&format!(
            "/1.0/images/aliases/{}?project={}",
            enc(alias),
            enc(project)
        )) {
            Ok(a) => Ok(Some(a)),
            Err(Error::Incus(m)) if m.to_lowercase().contains("not found") => Ok(None),
            Err(e) => Err(e.context(format!("reading image alias {alias}"))),
        }
    }

    pub fn image(&self, project: &str, fingerprint: &str) -> Result<Image> {
        self.get(&format!(
            "/1.0/images/{}?project={}",
            enc(fingerprint),
            enc(project)
        ))
        .map_err(|e| e.context(format!("reading image {fingerprint}")))
    }
}

impl Incus {
    /// Waits (up to `secs` each) for operations still running on an instance,
    /// such as those a killed run left behind, so we never race them.
    pub fn wait_instance_operations(&self, project: &str, name: &str, secs: u64) -> Result<()> {
        let ops: BTreeMap<String, Vec<Value>> = self
            .get(&format!(
                "/1.0/operations?recursion=1&project={}",
                enc(project)
            ))
            .map_err(|e| e.context("listing operations"))?;
        let mine = |url: &str| {
            let rest = match url.strip_prefix(&format!("/1.0/instances/{}", enc(name))) {
                Some(r) => r,
                None => return false,
            };
            rest.is_empty()
                || rest.starts_with('?')
                || rest.starts_with('/')
                || rest.starts_with("%2F")
        };
        for op in ops.get("running").into_iter().flatten() {
            let touches = op["resources"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
                .flat_map(|v| v.as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .any(mine);
            if let (true, Some(id)) = (touches, op["id"].as_str()) {
                // Its own outcome is not ours to report: only that it is over.
                let _ = self.wait_operation(id, secs);
            }
        }
        Ok(())
    }
}

/// The snapshots of one thing: an instance, or a custom storage volume.
pub struct SnapshotsOf<'a> {
    pub incus: &'a Incus,
    /// `/1.0/instances/NAME` or `/1.0/storage-pools/POOL/volumes/custom/NAME`.
    base: String,
    project: String,
    pub label: String,
}

impl<'a> SnapshotsOf<'a> {
    pub fn instance(incus: &'a Incus, project: &str, name: &str) -> Self {
        SnapshotsOf {
            incus,
            base: format!("/1.0/instances/{}", enc(name)),
            project: project.to_string(),
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
}

impl crate::swap::Snapshots for SnapshotsOf<'_> {
    fn list(&self) -> Result<Vec<Snapshot>> {
        let mut list: Vec<Snapshot> = self
            .incus
            .get(&format!("{}&recursion=1", self.path(None)))
            .map_err(|e| e.context(format!("listing snapshots of {}", self.label)))?;
        // Volume snapshots come back as "volume/snapshot".
        for s in &mut list {
            if let Some((_, name)) = s.name.rsplit_once('/') {
                s.name = name.to_string();
            }
        }
        Ok(list)
    }

    fn create(&self, name: &str) -> Result<()> {
        // The zero time means "never expires", whatever snapshots.expiry says.
        let body = serde_json::json!({ "name": name, "expires_at": "0001-01-01T00:00:00Z" });
        self.incus
            .run("POST", &self.path(None), &body)
            .map(drop)
            .map_err(|e| e.context(format!("snapshotting {} as {name}", self.label)))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.incus
            .run(
                "POST",
                &self.path(Some(from)),
                &serde_json::json!({ "name": to }),
            )
            .map(drop)
            .map_err(|e| {
                e.context(format!(
                    "renaming snapshot {from} of {} to {to}",
                    self.label
                ))
            })
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.incus
            .run("DELETE", &self.path(Some(name)), &Value::Null)
            .map(drop)
            .map_err(|e| e.context(format!("deleting snapshot {name} of {}", self.label)))
    }
}

/// Incus sends `null` for some empty fields (a volume snapshot's expiry, say): read it as empty.
fn nullable<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `/1.0/instances/NAME?project=P` as listed by `recursion=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUrl {
    pub project: String,
    pub name: String,
}

impl InstanceUrl {
    fn parse(url: &str) -> Option<Self> {
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
    pub created_at: String,
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
        self.expanded_devices
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
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ImageAlias {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub target: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Image {
    #[serde(deserialize_with = "nullable")]
    pub fingerprint: String,
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
    fn unreachable_daemon_is_told_from_a_refusal() {
        let c = Incus::new(None);
        let e = c.classify(
            "Error: The incus daemon doesn't appear to be started (socket path: /x/unix.socket)",
        );
        assert!(matches!(e, Error::Unreachable(_)));
        assert!(e.to_string().contains("incus info"), "{e}");
        let e = c.classify("Error: Instance not found");
        assert!(matches!(e, Error::Incus(ref m) if m == "Instance not found"));
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
    fn encoding_keeps_names_and_escapes_the_rest() {
        assert_eq!(enc("lab-student-1"), "lab-student-1");
        assert_eq!(enc("a b&c"), "a%20b%26c");
    }
}
