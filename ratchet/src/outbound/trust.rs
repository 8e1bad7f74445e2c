//! Whom a `wss://` connection trusts: the public roots of `webpki-roots`, or a given CA.

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The crypto provider of TLS, both ways: ring (it builds with a C compiler alone;
/// aws-lc-rs would need cmake, and its FIPS variant more).
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration trusting `roots`: TLS 1.3 and 1.2 on ring, ALPN `http/1.1`.
fn config(roots: RootCertStore) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .unwrap_or_else(|e| unreachable!("ring supports TLS 1.3 and 1.2: {e}"));
    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The public roots (Mozilla's, through `webpki-roots`), built once.
pub(crate) fn public_roots() -> Arc<ClientConfig> {
    static PUBLIC: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    PUBLIC
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            config(roots)
        })
        .clone()
}

/// The certificates of a PEM file as the only roots.
pub(crate) fn from_pem_file(path: &Path) -> io::Result<Arc<ClientConfig>> {
    let what = |e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| what(&e))? {
        roots
            .add(cert.map_err(|e| what(&e))?)
            .map_err(|e| what(&e))?;
    }
    if roots.is_empty() {
        return Err(what(&"no certificate in it"));
    }
    Ok(config(roots))
}
