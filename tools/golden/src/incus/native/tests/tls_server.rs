//! A TLS server on 127.0.0.1 with the certificates of `../testdata`, and the
//! endpoints that reach it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::fake::{read_request, T};
use crate::incus::config::{Address, Endpoint, Pem, TlsFiles};

pub(super) const SERVER_CRT: &str = include_str!("../../testdata/server.crt");
pub(super) const SERVER_KEY: &str = include_str!("../../testdata/server.key");
pub(super) const OTHER_CRT: &str = include_str!("../../testdata/other.crt");
pub(super) const CLIENT_CRT: &str = include_str!("../../testdata/client.crt");
pub(super) const CLIENT_KEY: &str = include_str!("../../testdata/client.key");
pub(super) const CA_CRT: &str = include_str!("../../testdata/ca.crt");
pub(super) const PKI_CRT: &str = include_str!("../../testdata/pki-server.crt");
pub(super) const PKI_KEY: &str = include_str!("../../testdata/pki-server.key");

pub(super) fn pem(name: &str, text: &str) -> Pem {
    Pem {
        path: PathBuf::from(format!("/conf/{name}")),
        data: text.as_bytes().to_vec(),
    }
}

/// Accepts any client certificate, keeping it for the test to look at.
#[derive(Debug)]
struct AnyClient(Arc<CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for AnyClient {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> std::result::Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What the TLS server saw of one connection.
#[derive(Debug, Default, Clone)]
pub(super) struct Seen {
    pub(super) client_cert: Option<Vec<u8>>,
    pub(super) version: Option<rustls::ProtocolVersion>,
    pub(super) request: String,
    pub(super) error: Option<String>,
}

/// A TLS server on 127.0.0.1 answering `connections` connections with `answer`.
pub(super) fn tls_server(
    crt: &str,
    key: &str,
    tls12_only: bool,
    connections: usize,
    answer: String,
) -> (u16, JoinHandle<Vec<Seen>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<_> = CertificateDer::pem_slice_iter(crt.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap()
            .with_client_cert_verifier(Arc::new(AnyClient(provider)))
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(T)).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut s = Seen::default();
            match read_request(&mut tls) {
                Ok(req) if !req.is_empty() => {
                    s.request = String::from_utf8_lossy(&req).into_owned();
                    s.client_cert = tls
                        .conn
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.as_ref().to_vec());
                    s.version = tls.conn.protocol_version();
                    let _ = tls.write_all(answer.as_bytes());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
                Ok(_) => s.error = Some("closed".into()),
                Err(e) => s.error = Some(e.to_string()),
            }
            seen.push(s);
        }
        seen
    });
    (port, thread)
}

pub(super) fn https_endpoint(
    port: u16,
    pinned: Option<&str>,
    ca: Option<&str>,
    tls12: bool,
) -> Endpoint {
    Endpoint {
        remote: "lo".into(),
        project: None,
        addrs: vec![Address::Https(format!("https://127.0.0.1:{port}"))],
        tls: Some(Box::new(TlsFiles {
            client_cert: pem("client.crt", CLIENT_CRT),
            client_key: pem("client.key", CLIENT_KEY),
            ca: ca.map(|c| pem("client.ca", c)),
            server_cert: pinned.map(|p| pem("servercerts/lo.crt", p)),
            allow_tls12: tls12,
        })),
    }
}

pub(super) fn der(pem_text: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem_text.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}
