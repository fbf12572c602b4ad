//! The transport: how one request reaches the daemon and how its answer is read.
//!
//! Every request goes through the user's own `incus` client as `incus query`, so
//! remotes, certificates, `INCUS_DIR` and `INCUS_CONF` work exactly as with `incus`.
//! Arguments are passed as an argv array: no shell is ever involved.
//! Only the typed methods of [`Incus`] (the sibling modules) build requests.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
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

    pub(super) fn remote_label(&self) -> String {
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
}

fn decode<T: DeserializeOwned>(path: &str, v: Value) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| Error::Incus(format!("unexpected answer from Incus for {path}: {e}")))
}

/// Is this a refusal because the thing asked for does not exist?
pub(super) fn not_found(e: &Error) -> bool {
    matches!(e, Error::Incus(m) if m.to_lowercase().contains("not found"))
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
        assert!(matches!(e, Error::Incus(ref m) if m == "Instance not found"));
        assert!(not_found(&e));
    }

    #[test]
    fn encoding_keeps_names_and_escapes_the_rest() {
        assert_eq!(enc("lab-student-1"), "lab-student-1");
        assert_eq!(enc("a b&c"), "a%20b%26c");
    }
}
