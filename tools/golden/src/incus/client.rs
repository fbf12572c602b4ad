//! The transport: how one request reaches the daemon and how its answer is read.
//!
//! Requests are spoken natively ([`super::native`]: the REST API over the unix
//! socket or HTTPS), to the daemon the user's own incus configuration names
//! ([`super::config`]: `INCUS_CONF`, `config.yml`, `INCUS_REMOTE`, `INCUS_DIR`...),
//! so nothing changes for users but speed and what becomes possible (headers).
//! A remote the native client does not speak (OIDC, a proxy...) goes through the
//! user's own `incus` client as `incus query`, when that can reach it; else its
//! one-line error names the remote and why. Only the typed methods of [`Incus`]
//! (the sibling modules) build requests.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wait_timeout::ChildExt;

use super::config::{self, Resolution};
use super::kind::{self, Kind};
use super::native::Native;
use crate::error::{Error, Origin, Result};

/// How requests reach the daemon of one remote.
enum Transport {
    Native(Box<Native>),
    /// Through `incus query`, for a remote the native client does not speak.
    Query,
}

/// One transport per remote for the whole process: the configuration is read
/// once, and the threads of a parallel derive share it.
fn transport_for(remote: Option<&str>, timeout: Duration) -> Result<Arc<Transport>> {
    static CACHE: OnceLock<Mutex<HashMap<Option<String>, Arc<Transport>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = remote.map(str::to_string);
    if let Some(t) = cache.lock().expect("transport cache").get(&key) {
        return Ok(t.clone());
    }
    let transport = match config::resolve(remote, &config::Env::from_process())? {
        Resolution::Native(endpoint) => {
            Transport::Native(Box::new(Native::connect(&endpoint, timeout)?))
        }
        Resolution::Unsupported(u) if u.fallback => Transport::Query,
        Resolution::Unsupported(u) => return Err(u.into_error()),
    };
    let transport = Arc::new(transport);
    cache
        .lock()
        .expect("transport cache")
        .insert(key, transport.clone());
    Ok(transport)
}

/// A remote's native client, shared.
pub(super) struct NativeRef(Arc<Transport>);

impl std::ops::Deref for NativeRef {
    type Target = Native;
    fn deref(&self) -> &Native {
        match &*self.0 {
            Transport::Native(n) => n,
            Transport::Query => unreachable!("a NativeRef holds a native transport"),
        }
    }
}

/// How long a plain request (not an operation we wait for) may take before we give
/// up: a daemon that accepts a connection but never answers must not hang us.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request refused as "not ready yet" is asked again: a cluster
/// member that restarted is linked to the others again within a heartbeat or
/// two (seconds); a minute covers a slow one and still ends.
const NOT_READY_PATIENCE: Duration = Duration::from_secs(60);

/// Characters kept as they are in a query value or path segment.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes one path segment or query value.
pub(super) fn enc(s: &str) -> String {
    utf8_percent_encode(s, KEEP).to_string()
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

    /// A client for a quick look that must never keep its caller waiting
    /// (a shell's completion): every request ends within `timeout`, nothing
    /// is traced.
    pub fn brief(remote: Option<String>, timeout: Duration) -> Self {
        Incus {
            remote,
            timeout,
            trace: false,
        }
    }

    /// The remotes of the client configuration that serve instances (neither
    /// public nor image servers: what a `REMOTE:` before a name may be), sorted.
    pub fn remotes() -> Result<Vec<String>> {
        let config = config::Config::load(&config::Env::from_process())?;
        Ok(config.instance_servers().map(str::to_string).collect())
    }

    pub fn remote(&self) -> Option<&str> {
        self.remote.as_deref()
    }

    /// The same client, patient for `extra` more than a plain request: for a
    /// request the daemon holds on purpose (an operation's `wait`).
    pub(super) fn patient(&self, extra: Duration) -> Incus {
        Incus {
            timeout: self.timeout + extra,
            ..self.clone()
        }
    }

    /// The native client of this remote, `None` when it is reached through
    /// `incus query` (for requests that need raw bodies and headers).
    pub(super) fn native(&self) -> Result<Option<NativeRef>> {
        let t = transport_for(self.remote(), self.timeout)?;
        Ok(matches!(&*t, Transport::Native(_)).then_some(NativeRef(t)))
    }

    /// With `GOLDEN_TRACE`, says how long a request took.
    pub(super) fn traced(&self, method: &str, path: &str, started: Instant) {
        if self.trace {
            crate::term::trace(format!(
                "{method} {path} ({} ms)",
                started.elapsed().as_millis()
            ));
        }
    }

    /// `GET path`, decoded into `T`.
    pub(super) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let v = self.request("GET", path, None, false)?;
        decode(path, v)
    }

    /// `GET path` of a listing: an empty answer (which `incus query` prints as
    /// nothing, when the daemon has none) is an empty listing, never an error.
    pub(super) fn list<T: DeserializeOwned + Default>(&self, path: &str) -> Result<T> {
        match self.request("GET", path, None, false)? {
            Value::Null => Ok(T::default()),
            v => decode(path, v),
        }
    }

    /// Sends a request that starts an operation and waits for it to end.
    pub(super) fn run(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        self.request(method, path, Some(body), true)
    }

    /// Sends a request whose answer is immediate (no operation), such as PUT of config.
    pub(super) fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.request(method, path, body, false)
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>, wait: bool) -> Result<Value> {
        self.again_while_not_ready(method, path, || {
            let started = Instant::now();
            let answer = match &*transport_for(self.remote(), self.timeout)? {
                Transport::Native(n) if wait => n.run(method, path, body, &[]),
                Transport::Native(n) => n.request(method, path, body, &[]).map(|r| r.body),
                Transport::Query => return self.query(method, path, body, wait),
            };
            self.traced(method, path, started);
            answer
        })
    }

    /// Sends a request again while the daemon refuses it as not ready yet (a
    /// cluster member whose link to another member is not up again after a
    /// restart: [`Kind::NotReady`]), for up to [`NOT_READY_PATIENCE`], waiting
    /// longer each time. Only a refusal of the request itself is asked again —
    /// nothing was done then; an operation that started and failed so may have
    /// done part of its work, and is its caller's to judge.
    pub(super) fn again_while_not_ready<T>(
        &self,
        method: &str,
        path: &str,
        send: impl Fn() -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        let mut vain = None;
        loop {
            match send() {
                Err(e)
                    if Kind::of(&e) == Kind::NotReady
                        && e.refusal().is_some_and(|r| r.origin() != Origin::Operation)
                        && started.elapsed() + pause < NOT_READY_PATIENCE
                        && !*vain.get_or_insert_with(|| self.waiting_is_vain()) =>
                {
                    if self.trace {
                        crate::term::trace(format!(
                            "{method} {path}: not ready yet ({e}); asking again in {} ms",
                            pause.as_millis()
                        ));
                    } else if pause == Duration::from_millis(250) {
                        // Once: a wait of up to a minute is never silent.
                        crate::term::notice(format!(
                            "the daemon is not ready yet ({e}); asking again for up to {} s",
                            NOT_READY_PATIENCE.as_secs()
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(8));
                }
                other => return other,
            }
        }
    }

    /// Would waiting on a "not ready yet" be in vain? The daemon says so too
    /// of a member that is offline, for as long as it is down (a minute's
    /// wait a request, seen: 116 s before golden-create named the member):
    /// not waited on while the cluster sees a member offline; the tools name
    /// it. Also when this is the check's own request (no wait within a wait).
    fn waiting_is_vain(&self) -> bool {
        thread_local!(static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if CHECKING.get() {
            return true;
        }
        CHECKING.set(true);
        let offline = self
            .cluster_members()
            .is_ok_and(|m| m.iter().any(|m| !m.is_online()));
        CHECKING.set(false);
        offline
    }

    /// `GET path` and its ETag, to send back as `If-Match`. Through `incus query`
    /// (which cannot read headers) the ETag is `None`.
    pub(super) fn get_tagged<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<String>)> {
        match &*transport_for(self.remote(), self.timeout)? {
            Transport::Native(n) => {
                let r =
                    self.again_while_not_ready("GET", path, || n.request("GET", path, None, &[]))?;
                Ok((decode(path, r.body)?, r.etag))
            }
            Transport::Query => Ok((self.get(path)?, None)),
        }
    }

    /// A request sent with `If-Match: etag` (when there is one), waiting for the
    /// operation it starts. A 412 (changed since the ETag was read) is
    /// [`Error::Conflict`]: nothing was written.
    pub(super) fn run_if_match(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        etag: Option<&str>,
    ) -> Result<Value> {
        let Some(etag) = etag else {
            return self.request(method, path, Some(body), true);
        };
        match &*transport_for(self.remote(), self.timeout)? {
            Transport::Native(n) => {
                let answer = self.again_while_not_ready(method, path, || {
                    match n.try_request(method, path, Some(body), &[("If-Match", etag)])? {
                        Err(e) if !e.is_precondition_failed() => Err(e.into()),
                        other => Ok(other),
                    }
                })?;
                match answer {
                    Ok(r) => match r.operation {
                        Some(op) => loop {
                            if let Some(done) = self.wait(&op, 60)? {
                                break Ok(done);
                            }
                        },
                        None => Ok(r.body),
                    },
                    Err(e) if e.is_precondition_failed() => Err(Error::Conflict(
                        "changed by someone else since it was read".into(),
                    )),
                    Err(e) => Err(e.into()),
                }
            }
            Transport::Query => self.request(method, path, Some(body), true),
        }
    }

    /// Waits up to `secs` for an operation: `None` if it still runs, else its
    /// metadata (a failed operation is its error).
    pub(super) fn wait(&self, id: &str, secs: u64) -> Result<Option<Value>> {
        match &*transport_for(self.remote(), self.timeout)? {
            Transport::Native(n) => Ok(n.wait_operation(id, secs)?.map(|mut op| {
                op.get_mut("metadata")
                    .map(Value::take)
                    .unwrap_or(Value::Null)
            })),
            Transport::Query => {
                // The daemon holds this request up to `secs`: allow for it.
                // Incus 6.0.4 answers a wait that did not see the operation
                // succeed with an error (its failure without its metadata, or
                // the wait's own timeout): the operation itself says which.
                let op: Value = match self
                    .patient(Duration::from_secs(secs))
                    .get(&format!("/1.0/operations/{}/wait?timeout={secs}", enc(id)))
                {
                    Ok(op) => op,
                    Err(e @ Error::Incus(_)) => self
                        .get(&format!("/1.0/operations/{}", enc(id)))
                        .map_err(|_| e)?,
                    Err(e) => return Err(e),
                };
                match op.get("status").and_then(Value::as_str) {
                    Some("Success") => Ok(Some(op.get("metadata").cloned().unwrap_or(Value::Null))),
                    Some("Running") | Some("Pending") => Ok(None),
                    _ => Err(kind::refusal(
                        Origin::Operation,
                        op.get("err")
                            .and_then(Value::as_str)
                            .filter(|e| !e.is_empty())
                            .unwrap_or("operation failed"),
                    )
                    .with_metadata(op.get("metadata").cloned().unwrap_or(Value::Null))
                    .into()),
                }
            }
        }
    }

    /// The fallback: one request through `incus query`.
    fn query(&self, method: &str, path: &str, body: Option<&Value>, wait: bool) -> Result<Value> {
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
            // An operation may take as long as it takes: never bound by the timeout.
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
            crate::term::trace(format!(
                "incus query -X {method} {target} ({} ms)",
                started.elapsed().as_millis()
            ));
        }
        if !status.success() {
            return Err(self.classify(String::from_utf8_lossy(&errbuf).trim()));
        }
        if stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        let v: Value = serde_json::from_slice(&stdout)
            .map_err(|e| Error::Failed(format!("unreadable answer from Incus for {path}: {e}")))?;
        if wait {
            // An operation: its own error or metadata.
            if let Some(e) = v
                .get("err")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                return Err(kind::refusal(Origin::Operation, e)
                    .with_metadata(v.get("metadata").cloned().unwrap_or(Value::Null))
                    .into());
            }
            return Ok(v.get("metadata").cloned().unwrap_or(Value::Null));
        }
        Ok(v)
    }

    pub(super) fn remote_label(&self) -> String {
        match &self.remote {
            Some(r) => format!(" (remote {r})"),
            None => String::new(),
        }
    }

    /// Tells "the daemon is not there" from "the daemon said no" in what the
    /// `incus query` client printed (see [`kind`] for its words).
    fn classify(&self, stderr: &str) -> Error {
        let msg = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("incus query failed")
            .trim_start_matches("Error: ")
            .to_string();
        let lower = msg.to_lowercase();
        if kind::query_unknown_remote(&lower) {
            // A name's REMOTE: part that the client does not know is bad input.
            return Error::Usage(format!(
                "unknown remote {}: {msg}",
                self.remote.as_deref().unwrap_or("")
            ));
        }
        if kind::query_unreachable(&lower) {
            Error::Unreachable(format!(
                "cannot reach Incus{}: {msg}; check it with `incus info`",
                self.remote_label()
            ))
        } else {
            kind::refusal(Origin::Query, msg).into()
        }
    }
}

fn decode<T: DeserializeOwned>(path: &str, v: Value) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| Error::Failed(format!("unexpected answer from Incus for {path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_daemon_is_told_from_a_refusal() {
        let c = Incus::new(None);
        let e = c.classify(
            "Error: The incus daemon doesn't appear to be started (socket path: /x/unix.socket)",
        );
        assert!(matches!(e, Error::Unreachable(_)));
        assert!(e.to_string().contains("incus info"), "{e}");
        let e = c.classify("Error: Instance not found");
        assert_eq!(e.to_string(), "Instance not found");
        assert_eq!(Kind::of(&e), Kind::NotFound);
    }

    #[test]
    fn encoding_keeps_names_and_escapes_the_rest() {
        assert_eq!(enc("lab-student-1"), "lab-student-1");
        assert_eq!(enc("a b&c"), "a%20b%26c");
    }
}
