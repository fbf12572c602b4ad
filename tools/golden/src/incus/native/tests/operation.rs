//! Async answers and the wait for their operation.

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use serde_json::json;

use super::fake::{accepted, error, http, operation, read_request, sync, unix_endpoint, Fake};
use crate::error::{Error, Origin};
use crate::incus::native::operation::wait_path;
use crate::incus::native::Native;
use crate::incus::Kind;

#[test]
fn an_async_answer_and_its_operation() {
    let id = "5e0b2ea1-1c62-4c11-a6a4-0d1c1b0e6f3a";
    let mut fake = Fake::new(vec![
        accepted(id),
        sync(operation(id, 103, "")),
        sync(operation(id, 200, "")),
        sync(operation(id, 400, "Failed to copy: disk full")),
    ]);
    let c = fake.client();
    let r = c
        .request(
            "POST",
            "/1.0/instances?project=p",
            Some(&json!({"name": "x"})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    let op = r.operation.unwrap();
    assert_eq!(op, format!("/1.0/operations/{id}?project=p"));
    assert_eq!(r.body["id"], id);
    assert_eq!(c.wait_operation(&op, 7).unwrap(), None, "still running");
    let done = c.wait_operation(id, 0).unwrap().unwrap();
    assert_eq!(done["metadata"]["fingerprint"], "abc");
    let e = c.wait_operation(&op, 1).unwrap_err();
    assert!(
        matches!(&e, Error::Incus(r) if r.origin() == crate::error::Origin::Operation),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "Failed to copy: disk full");
    let reqs = fake.requests();
    assert!(
        reqs[1].starts_with(&format!(
            "GET /1.0/operations/{id}/wait?timeout=7&project=p "
        )),
        "{}",
        reqs[1]
    );
    assert!(
        reqs[2].starts_with(&format!("GET /1.0/operations/{id}/wait?timeout=0 ")),
        "{}",
        reqs[2]
    );
}

#[test]
fn run_waits_for_the_operation_to_end() {
    let id = "op1";
    let mut fake = Fake::new(vec![
        accepted(id),
        sync(operation(id, 103, "")),
        sync(operation(id, 200, "")),
        sync(json!({"name": "x"})),
    ]);
    let c = fake.client();
    let meta = c.run("POST", "/1.0/images", Some(&json!({})), &[]).unwrap();
    assert_eq!(meta, json!({"fingerprint": "abc"}));
    // A sync answer is its metadata.
    assert_eq!(
        c.run("GET", "/1.0/instances/x", None, &[]).unwrap(),
        json!({"name": "x"})
    );
    assert_eq!(fake.requests().len(), 4);
}

/// Incus 6.0.4's answer to a wait that did not see its operation succeed: an
/// error under the HTTP 200 sent before the wait began.
fn wait_error(message: &str) -> String {
    http(
        200,
        &[("Content-Type", "application/json")],
        &json!({"type": "error", "status": "", "status_code": 0, "operation": "",
                "error_code": 500, "error": message, "metadata": null})
        .to_string(),
    )
}

#[test]
fn a_wait_answered_with_an_error_is_read_from_the_operation() {
    let words = "Failed syncing image between servers: Failed transferring image \"abc\" \
                 from \"10.77.0.11:8443\": Server isn't ready yet";
    let mut fake = Fake::new(vec![
        // Its seconds ran out: still running.
        wait_error("context deadline exceeded"),
        sync(operation("o", 103, "")),
        // It failed after making something: the operation's metadata says what.
        wait_error(words),
        sync(operation("o", 400, words)),
        // The operation is gone: the wait's error is all there is.
        wait_error(words),
        error(404, "Operation not found"),
    ]);
    let c = fake.client();
    let op = "/1.0/operations/o?project=p";
    assert_eq!(c.wait_operation(op, 1).unwrap(), None);
    let e = c.wait_operation(op, 1).unwrap_err();
    let r = e.refusal().expect("a refusal");
    assert_eq!(r.origin(), Origin::Operation, "{e:?}");
    assert_eq!(r.metadata()["fingerprint"], "abc");
    assert_eq!(Kind::of(&e), Kind::NotReady);
    let e = c.wait_operation(op, 1).unwrap_err();
    assert_eq!(e.to_string(), words);
    let reqs = fake.requests();
    assert!(reqs[0].starts_with("GET /1.0/operations/o/wait?timeout=1&project=p "));
    assert!(
        reqs[1].starts_with("GET /1.0/operations/o?project=p "),
        "{}",
        reqs[1]
    );
    assert_eq!(reqs.len(), 6);
}

#[test]
fn an_operation_id_is_checked() {
    assert_eq!(
        wait_path("abc-1", 3).unwrap(),
        "/1.0/operations/abc-1/wait?timeout=3"
    );
    assert!(wait_path("/1.0/operations/../x", 3).is_err());
    assert!(wait_path("", 3).is_err());
    assert!(wait_path("a b", 3).is_err());
}

#[test]
fn a_wait_gets_its_seconds_on_top_of_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unix.socket");
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s).unwrap();
        // The daemon holds a wait for its timeout, then answers.
        std::thread::sleep(Duration::from_millis(1200));
        s.write_all(sync(operation("o", 103, "")).as_bytes())
            .unwrap();
    });
    let c = Native::connect(&unix_endpoint(&path), Duration::from_millis(500)).unwrap();
    assert_eq!(c.wait_operation("o", 1).unwrap(), None);
    server.join().unwrap();
}
