//! The certificates of an HTTPS remote.

use super::{World, REMOTE_ADD};
use crate::error::Error;
use crate::incus::config::{resolve, Resolution};

#[test]
fn per_remote_client_certificate_beats_client_crt() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    w.client_cert();
    w.write(
        "conf/clientcerts/lo.crt",
        include_str!("../../testdata/client.crt"),
    );
    // Only the .crt: not a pair, so client.crt/.key still.
    let tls = w.endpoint(Some("lo")).tls.unwrap();
    assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
    w.write(
        "conf/clientcerts/lo.key",
        include_str!("../../testdata/client.key"),
    );
    w.write(
        "conf/clientcerts/lo.ca",
        include_str!("../../testdata/server.crt"),
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
fn a_password_protected_key_is_unsupported() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    w.write("conf/client.crt", include_str!("../../testdata/client.crt"));
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
