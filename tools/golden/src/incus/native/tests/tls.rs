//! HTTPS against the test's TLS server: the pinned certificate, the remote's CA,
//! the TLS versions, and the files or servers that fail.

use serde_json::json;

use super::fake::{sync, T};
use super::tls_server::{
    der, https_endpoint, pem, tls_server, CA_CRT, CLIENT_CRT, OTHER_CRT, PKI_CRT, PKI_KEY,
    SERVER_CRT, SERVER_KEY,
};
use crate::error::Error;
use crate::incus::native::Native;

#[test]
fn https_with_the_pinned_certificate_and_our_client_certificate() {
    let (port, server) = tls_server(
        SERVER_CRT,
        SERVER_KEY,
        false,
        1,
        sync(json!({"auth": "trusted"})),
    );
    let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
    let r = c.request("GET", "/1.0", None, &[]).unwrap();
    assert_eq!(r.body["auth"], "trusted");
    let seen = server.join().unwrap();
    assert_eq!(
        seen[0].client_cert.as_deref(),
        Some(der(CLIENT_CRT).as_slice())
    );
    assert_eq!(seen[0].version, Some(rustls::ProtocolVersion::TLSv1_3));
    assert!(
        seen[0]
            .request
            .to_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{}",
        seen[0].request
    );
}

#[test]
fn https_refuses_a_server_that_is_not_the_pinned_one() {
    let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
    let c = Native::connect(&https_endpoint(port, Some(OTHER_CRT), None, false), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.starts_with(&format!("refusing remote lo at https://127.0.0.1:{port}: its certificate is not the one pinned in /conf/servercerts/lo.crt")),
        "{m}"
    );
    assert!(!m.contains('\n'), "{m}");
    assert!(server.join().unwrap()[0].error.is_some());
}

#[test]
fn https_without_a_pinned_certificate_needs_a_trusted_one() {
    let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
    let c = Native::connect(&https_endpoint(port, None, None, false), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("its certificate is not trusted"), "{m}");
    assert!(m.contains("servercerts/lo.crt"), "{m}");
    server.join().unwrap();
}

#[test]
fn https_with_the_remote_ca_in_pki_mode() {
    let (port, server) = tls_server(PKI_CRT, PKI_KEY, false, 2, sync(json!({})));
    // Signed by the CA, nothing pinned.
    let c = Native::connect(&https_endpoint(port, None, Some(CA_CRT), false), T).unwrap();
    c.request("GET", "/1.0", None, &[]).unwrap();
    // A stale pin does not refuse a server the CA vouches for (incus adds the
    // pinned certificate to the roots; it does not replace them).
    let c = Native::connect(
        &https_endpoint(port, Some(OTHER_CRT), Some(CA_CRT), false),
        T,
    )
    .unwrap();
    c.request("GET", "/1.0", None, &[]).unwrap();
    server.join().unwrap();
    // A CA that did not sign it: refused, naming the CA file.
    let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, false, 1, sync(json!({})));
    let c = Native::connect(&https_endpoint(port, None, Some(CA_CRT), false), T).unwrap();
    let m = c.request("GET", "/1.0", None, &[]).unwrap_err().to_string();
    assert!(m.contains("not signed by the CA of /conf/client.ca"), "{m}");
    server.join().unwrap();
}

#[test]
fn https_is_tls13_unless_insecure_tls_allows_tls12() {
    let (port, server) = tls_server(SERVER_CRT, SERVER_KEY, true, 2, sync(json!({})));
    let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Unreachable(m) if m.starts_with("TLS with remote lo at")),
        "{e:?}"
    );
    let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, true), T).unwrap();
    c.request("GET", "/1.0", None, &[]).unwrap();
    let seen = server.join().unwrap();
    assert_eq!(seen[1].version, Some(rustls::ProtocolVersion::TLSv1_2));
}

#[test]
fn https_to_nothing_and_bad_files() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Native::connect(&https_endpoint(port, Some(SERVER_CRT), None, false), T).unwrap();
    let m = c.request("GET", "/1.0", None, &[]).unwrap_err().to_string();
    assert!(
        m.starts_with(&format!(
            "cannot reach remote lo at https://127.0.0.1:{port}: "
        )),
        "{m}"
    );
    // A key that is not the certificate's.
    let mut ep = https_endpoint(port, None, None, false);
    ep.tls.as_mut().unwrap().client_key = pem("client.key", SERVER_KEY);
    let e = Native::connect(&ep, T).unwrap_err();
    assert!(
        matches!(&e, Error::Usage(m) if m.contains("/conf/client.key")),
        "{e:?}"
    );
    // Not PEM at all.
    let mut ep = https_endpoint(port, None, None, false);
    ep.tls.as_mut().unwrap().client_cert = pem("client.crt", "junk");
    let e = Native::connect(&ep, T).unwrap_err();
    assert!(e.to_string().contains("/conf/client.crt"), "{e}");
}
