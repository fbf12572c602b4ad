//! The client itself: shared by threads, and the first of several addresses that
//! answers.

use serde_json::{json, Value};

use super::fake::{sync, unix_endpoint, Fake, T};
use crate::incus::config::Address;
use crate::incus::native::Native;

#[test]
fn native_is_shared_across_threads() {
    fn check<X: Send + Sync>() {}
    check::<Native>();
}

#[test]
fn several_threads_share_one_client() {
    let n = 8;
    let mut fake = Fake::new((0..n).map(|i| sync(json!({ "i": i }))).collect());
    let c = fake.client();
    let got: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..2)
                        .map(|_| c.request("GET", "/1.0", None, &[]).unwrap().body)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(got.len(), n);
    assert_eq!(fake.requests().len(), n);
}

#[test]
fn several_addresses_keep_the_first_that_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = Fake::new(vec![sync(json!({})), sync(json!({"second": true}))]);
    let mut ep = fake.endpoint();
    ep.addrs.insert(
        0,
        Address::Unix {
            path: dir.path().join("gone.socket"),
            origin: "the test".into(),
        },
    );
    let c = Native::connect(&ep, T).unwrap();
    assert_eq!(c.address(), format!("unix socket {}", fake.path.display()));
    assert_eq!(
        c.request("GET", "/1.0", None, &[]).unwrap().body["second"],
        true
    );
    assert_eq!(fake.requests().len(), 2);
    // None answers: every address is named.
    let mut ep = unix_endpoint(&dir.path().join("a.socket"));
    ep.addrs.push(Address::Unix {
        path: dir.path().join("b.socket"),
        origin: "the test".into(),
    });
    let e = Native::connect(&ep, T).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("a.socket") && m.contains("b.socket"), "{m}");
}
