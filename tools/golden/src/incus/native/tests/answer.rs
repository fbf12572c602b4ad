//! Answers read: sync envelopes, refusals with their status, bytes of the files API.

use serde_json::json;

use super::fake::{error, http, sync, Fake};
use crate::error::Error;

#[test]
fn a_sync_answer_gives_metadata_and_etag() {
    let mut fake = Fake::new(vec![sync(json!({"api_version": "1.0"}))]);
    let r = fake.client().request("GET", "/1.0", None, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"api_version": "1.0"}));
    assert_eq!(r.etag.as_deref(), Some("\"e1\""));
    assert_eq!(r.operation, None);
    let req = &fake.requests()[0];
    assert!(req.starts_with("GET /1.0 HTTP/1.1\r\n"), "{req}");
    let lower = req.to_lowercase();
    assert!(lower.contains("host: unix.socket\r\n"), "{req}");
    assert!(lower.contains("user-agent: golden/"), "{req}");
}

#[test]
fn headers_and_a_json_body_are_sent() {
    let mut fake = Fake::new(vec![sync(json!({}))]);
    fake.client()
        .request(
            "PUT",
            "/1.0/instances/a?project=p",
            Some(&json!({"config": {"k": "v"}})),
            &[("If-Match", "\"e1\"")],
        )
        .unwrap();
    let req = &fake.requests()[0];
    assert!(
        req.starts_with("PUT /1.0/instances/a?project=p HTTP/1.1\r\n"),
        "{req}"
    );
    let lower = req.to_lowercase();
    assert!(lower.contains("if-match: \"e1\"\r\n"), "{req}");
    assert!(
        lower.contains("content-type: application/json\r\n"),
        "{req}"
    );
    assert!(req.ends_with("\r\n\r\n{\"config\":{\"k\":\"v\"}}"), "{req}");
}

#[test]
fn an_error_envelope_is_incus_error_with_its_status() {
    let mut fake = Fake::new(vec![
        error(404, "Instance not found"),
        error(412, "ETag doesn't match: a vs b"),
        error(403, "not authorized"),
    ]);
    let c = fake.client();
    let e = c.request("GET", "/1.0/instances/x", None, &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Incus(_) if e.to_string() == "Instance not found"),
        "{e:?}"
    );
    // The status kept: what the tools tell refusals apart by.
    assert_eq!(e.status(), Some(404));
    assert_eq!(crate::incus::Kind::of(&e), crate::incus::Kind::NotFound);
    let e = c
        .try_request(
            "PUT",
            "/1.0/instances/x",
            Some(&json!({})),
            &[("If-Match", "a")],
        )
        .unwrap()
        .unwrap_err();
    assert!(e.is_precondition_failed() && !e.is_not_found(), "{e:?}");
    assert_eq!(e.message, "ETag doesn't match: a vs b");
    let e = c
        .try_request("GET", "/1.0", None, &[])
        .unwrap()
        .unwrap_err();
    assert_eq!(e.status, 403);
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn a_refusal_without_json_keeps_its_status() {
    let mut fake = Fake::new(vec![http(502, &[], "bad gateway"), http(404, &[], "")]);
    let c = fake.client();
    let e = c
        .try_request("GET", "/1.0", None, &[])
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (e.status, e.message.as_str()),
        (502, "HTTP 502 Bad Gateway: bad gateway")
    );
    let e = c.try_request("GET", "/x", None, &[]).unwrap().unwrap_err();
    assert!(e.is_not_found());
    fake.requests();
}

#[test]
fn an_unreadable_success_is_a_failure() {
    let mut fake = Fake::new(vec![http(200, &[], "not json")]);
    let e = fake.client().request("GET", "/1.0", None, &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Failed(m) if m.contains("unreadable answer from Incus to GET /1.0")),
        "{e:?}"
    );
    fake.requests();
}

#[test]
fn bytes_in_and_out_for_the_files_api() {
    let content = "ssh-ed25519 AAAA\n";
    let mut fake = Fake::new(vec![
        sync(json!({})),
        http(
            200,
            &[
                ("Content-Type", "application/octet-stream"),
                ("X-Incus-uid", "0"),
                ("X-Incus-gid", "0"),
                ("X-Incus-mode", "0600"),
                ("X-Incus-type", "file"),
            ],
            content,
        ),
        error(404, "Not found"),
    ]);
    let c = fake.client();
    let r = c
        .request_bytes(
            "POST",
            "/1.0/instances/a/files?path=%2Froot%2Fk&project=p",
            Some(b"\x00\x01secret"),
            &[
                ("X-Incus-uid", "0"),
                ("X-Incus-gid", "0"),
                ("X-Incus-mode", "0600"),
                ("X-Incus-type", "file"),
                ("X-Incus-write", "overwrite"),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200);
    let r = c
        .request_bytes("GET", "/1.0/instances/a/files?path=%2Froot%2Fk", None, &[])
        .unwrap();
    assert_eq!(r.body, content.as_bytes());
    assert_eq!(r.header("x-incus-mode"), Some("0600"));
    assert_eq!(r.header("X-INCUS-TYPE"), Some("file"));
    let e = c
        .try_request_bytes("GET", "/1.0/instances/a/files?path=%2Fnone", None, &[])
        .unwrap()
        .unwrap_err();
    assert!(e.is_not_found());
    let reqs = fake.requests();
    let lower = reqs[0].to_lowercase();
    assert!(
        lower.contains("content-type: application/octet-stream\r\n"),
        "{}",
        reqs[0]
    );
    assert!(lower.contains("x-incus-mode: 0600\r\n"), "{}", reqs[0]);
    assert!(reqs[0].as_bytes().ends_with(b"\r\n\r\n\x00\x01secret"));
}
