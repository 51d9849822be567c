//! TLS termination for `serve` (rustls, ring): TLS 1.3 preferred, 1.2 accepted, nothing
//! older; the certificate chain and key come from PEM files.

use crate::config::TlsFiles;
use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The server configuration for `files`. Errors name the file and what is wrong with
/// it, never its contents.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| {
            format!(
                "GAPRELAY_TLS_CERT: cannot read {} as PEM certificates",
                files.cert.display()
            )
        })?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "GAPRELAY_TLS_CERT: {} holds a malformed certificate",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "GAPRELAY_TLS_CERT: {} holds no certificate",
            files.cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "GAPRELAY_TLS_KEY: {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        )
    })?;
    // Versions in order of preference: 1.3 is negotiated whenever the client has it.
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("GAPRELAY_TLS_CERT/GAPRELAY_TLS_KEY: the key does not match the certificate, or is of an unsupported kind")?;
    Ok(config)
}
