//! TLS with an HTTPS remote: the rustls client configuration (our certificate,
//! TLS 1.3 unless `INCUS_INSECURE_TLS`) and the check of the server's certificate
//! (the pinned one exactly, else a chain to the remote's CA or the system roots).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use super::Native;
use crate::error::{Error, Result};
use crate::incus::config::{Pem, TlsFiles};

/// The rustls client configuration of an HTTPS remote.
pub(super) fn tls_config(remote: &str, files: &TlsFiles) -> Result<ClientConfig> {
    let bad = |pem: &Pem, why: String| {
        Error::Usage(format!("remote {remote}: {}: {why}", pem.path.display()))
    };
    let certs = |pem: &Pem| -> Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_slice_iter(&pem.data)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(pem, format!("not a PEM certificate ({e})")))?;
        if certs.is_empty() {
            return Err(bad(pem, "no certificate in it".into()));
        }
        Ok(certs)
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&files.client_cert)?;
    let key = PrivateKeyDer::from_pem_slice(&files.client_key.data)
        .map_err(|e| bad(&files.client_key, format!("not a PEM private key ({e})")))?;
    let pinned = match &files.server_cert {
        Some(pem) => Some((certs(pem)?.swap_remove(0), pem.path.clone())),
        None => None,
    };
    let ca = match &files.ca {
        Some(pem) => {
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(certs(pem)?);
            if added == 0 {
                return Err(bad(pem, "no usable CA certificate in it".into()));
            }
            Some((Arc::new(store), pem.path.clone()))
        }
        None => None,
    };
    let verifier = Arc::new(Verifier {
        remote: remote.to_string(),
        pinned,
        ca,
        standard: OnceLock::new(),
        provider: provider.clone(),
    });
    let versions: &[&rustls::SupportedProtocolVersion] = if files.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::Failed(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            bad(
                &files.client_key,
                format!("does not go with {}: {e}", files.client_cert.path.display()),
            )
        })?;
    Ok(config)
}

impl Native {
    /// A failed handshake: our verifier's refusal as it gave it, else rustls's reason.
    pub(super) fn tls_error(&self, url: &str, e: std::io::Error) -> Error {
        let rustls_error = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(o)))) =
            rustls_error
        {
            if let Some(refused) = o.downcast_ref::<Refused>() {
                return Error::Unreachable(format!(
                    "refusing remote {} at {url}: {refused}",
                    self.remote
                ));
            }
        }
        let why = match rustls_error {
            Some(r) => r.to_string(),
            None => e.to_string(),
        };
        Error::Unreachable(format!(
            "TLS with remote {} at {url} failed: {why}",
            self.remote
        ))
    }
}

/// Why a server certificate was refused (carried through rustls to the error).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The server check of an HTTPS remote: the pinned certificate exactly, else a
/// standard chain check (the remote's CA, or the system roots).
#[derive(Debug)]
struct Verifier {
    remote: String,
    pinned: Option<(CertificateDer<'static>, PathBuf)>,
    ca: Option<(Arc<RootCertStore>, PathBuf)>,
    /// Built on first need: loading the system roots costs a few milliseconds.
    standard: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, String>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    fn standard(&self) -> std::result::Result<Arc<WebPkiServerVerifier>, String> {
        self.standard
            .get_or_init(|| {
                let roots = match &self.ca {
                    Some((store, _)) => store.clone(),
                    None => {
                        let found = rustls_native_certs::load_native_certs();
                        let mut store = RootCertStore::empty();
                        store.add_parsable_certificates(found.certs);
                        if store.is_empty() {
                            return Err("no system root certificate found".to_string());
                        }
                        Arc::new(store)
                    }
                };
                WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some((pinned, _)) = &self.pinned {
            if end_entity.as_ref() == pinned.as_ref() {
                return Ok(ServerCertVerified::assertion());
            }
        }
        let why = match self.standard() {
            Ok(v) => match v.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(ok) => return Ok(ok),
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                    "signed by no authority we trust".to_string()
                }
                Err(rustls::Error::InvalidCertificate(e)) => e.to_string(),
                Err(e) => e.to_string(),
            },
            Err(e) => e,
        };
        let message = match (&self.pinned, &self.ca) {
            (Some((_, path)), _) => format!(
                "its certificate is not the one pinned in {}; if the server was \
                 reinstalled, check its fingerprint and add the remote again",
                path.display()
            ),
            (None, Some((_, path))) => format!(
                "its certificate is not signed by the CA of {} ({why})",
                path.display()
            ),
            (None, None) => format!(
                "its certificate is not trusted ({why}) and none is pinned for remote {} \
                 (servercerts/{}.crt); add the remote with `incus remote add`",
                self.remote, self.remote
            ),
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(Refused(message))),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
