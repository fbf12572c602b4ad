//! A daemon on a unix socket, answering from a script, and the answers it sends.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::incus::config::{Address, Endpoint};
use crate::incus::native::Native;

pub(super) const T: Duration = Duration::from_secs(5);

/// An HTTP/1.1 answer as a daemon sends it.
pub(super) fn http(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let reason = hyper::http::StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap_or("");
    let mut s = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    s
}

pub(super) fn sync(metadata: Value) -> String {
    http(
        200,
        &[("Content-Type", "application/json"), ("ETag", "\"e1\"")],
        &json!({"type": "sync", "status": "Success", "status_code": 200,
                "operation": "", "error_code": 0, "error": "", "metadata": metadata})
        .to_string(),
    )
}

pub(super) fn error(status: u16, message: &str) -> String {
    http(
        status,
        &[("Content-Type", "application/json")],
        &json!({"type": "error", "status": "", "status_code": 0, "operation": "",
                "error_code": status, "error": message, "metadata": null})
        .to_string(),
    )
}

pub(super) fn operation(id: &str, code: u64, err: &str) -> Value {
    json!({"id": id, "class": "task", "status_code": code,
           "status": if code == 200 { "Success" } else if code < 200 { "Running" } else { "Failure" },
           "err": err, "metadata": {"fingerprint": "abc"}})
}

pub(super) fn accepted(id: &str) -> String {
    http(
        202,
        &[
            ("Content-Type", "application/json"),
            ("Location", "/1.0/operations/x"),
        ],
        &json!({"type": "async", "status": "Operation created", "status_code": 100,
                "operation": format!("/1.0/operations/{id}?project=p"), "error_code": 0,
                "error": "", "metadata": operation(id, 103, "")})
        .to_string(),
    )
}

/// Reads one HTTP request (headers, then Content-Length bytes of body).
pub(super) fn read_request(s: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Ok(buf);
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    buf.extend(body);
    Ok(buf)
}

/// A daemon on a unix socket that answers each connection with the next answer.
pub(super) struct Fake {
    _dir: tempfile::TempDir,
    pub(super) path: PathBuf,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    pub(super) fn new(answers: Vec<String>) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unix.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let thread = std::thread::spawn(move || {
            for answer in answers {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(T)).unwrap();
                let req = read_request(&mut s).unwrap();
                seen2.lock().unwrap().push(req);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        Fake {
            _dir: dir,
            path,
            seen,
            thread: Some(thread),
        }
    }

    pub(super) fn endpoint(&self) -> Endpoint {
        unix_endpoint(&self.path)
    }

    pub(super) fn client(&self) -> Native {
        Native::connect(&self.endpoint(), T).unwrap()
    }

    /// The requests received so far, as text.
    pub(super) fn requests(&mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

pub(super) fn unix_endpoint(path: &std::path::Path) -> Endpoint {
    Endpoint {
        remote: "local".into(),
        project: None,
        addrs: vec![Address::Unix {
            path: path.to_path_buf(),
            origin: "the test".into(),
        }],
        tls: None,
    }
}
