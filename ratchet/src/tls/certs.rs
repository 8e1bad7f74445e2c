//! The certificates a [`Tls`](super::Tls) decorator serves: PEM files, chosen by the name
//! a client asks for (SNI), reloadable while the server runs.

use crate::outbound::trust::provider;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The certificates to serve, from PEM files: a chain and its key for everyone, and more
/// for clients that ask for a name (SNI). Cheap to clone; clones share what they load, so a
/// [`reload`](TlsCertificates::reload) reaches every server they were given to.
///
/// New handshakes use what was loaded last; connections already open keep theirs.
#[derive(Clone)]
pub struct TlsCertificates {
    files: Vec<Files>,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

/// One certificate chain and its key, and the names it answers for (none: the default).
#[derive(Debug, Clone)]
struct Files {
    chain: PathBuf,
    key: PathBuf,
    names: Vec<String>,
}

impl fmt::Debug for TlsCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCertificates")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// Why certificates could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateError(String);

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertificateError {}

impl From<CertificateError> for std::io::Error {
    fn from(e: CertificateError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

impl TlsCertificates {
    /// The chain in `chain` (PEM, leaf first) and the private key in `key` (PEM: PKCS#8,
    /// PKCS#1 or SEC1), for every client.
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, CertificateError> {
        let files = vec![Files {
            chain: chain.as_ref().to_owned(),
            key: key.as_ref().to_owned(),
            names: Vec::new(),
        }];
        let config = build(&files)?;
        Ok(TlsCertificates {
            files,
            current: Arc::new(RwLock::new(Arc::new(config))),
        })
    }

    /// Serves `chain` and `key` to clients that ask for `name` (SNI); the others get the
    /// default.
    pub fn with_name(
        mut self,
        name: impl Into<String>,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, CertificateError> {
        self.files.push(Files {
            chain: chain.as_ref().to_owned(),
            key: key.as_ref().to_owned(),
            names: vec![name.into().to_ascii_lowercase()],
        });
        let config = build(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(self)
    }

    /// Reads every file again. If one is missing or bad, nothing changes and the error
    /// says which and why; otherwise new handshakes use the new certificates.
    pub fn reload(&self) -> Result<(), CertificateError> {
        let config = build(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// What new handshakes use.
    pub(crate) fn current(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A server configuration from `files`: TLS 1.3 and 1.2 with ring's default suites (AEAD
/// ciphers, forward secrecy), the server's order, ALPN `http/1.1`, certificates chosen by
/// SNI.
fn build(files: &[Files]) -> Result<ServerConfig, CertificateError> {
    let provider = provider();
    let mut by_name = HashMap::new();
    let mut default = None;
    for f in files {
        let key = Arc::new(certified_key(f, &provider)?);
        if f.names.is_empty() {
            default = Some(Arc::clone(&key));
        }
        for name in &f.names {
            by_name.insert(name.clone(), Arc::clone(&key));
        }
    }
    let default = default.ok_or_else(|| CertificateError("no default certificate".into()))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| CertificateError(format!("TLS versions: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver { default, by_name }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The server's order of cipher suites (strongest first), not the client's.
    config.ignore_client_order = true;
    Ok(config)
}

/// A chain and its key, loaded and checked against each other.
fn certified_key(f: &Files, provider: &CryptoProvider) -> Result<CertifiedKey, CertificateError> {
    let what =
        |path: &Path, e: &dyn fmt::Display| CertificateError(format!("{}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(&f.chain)
        .map_err(|e| what(&f.chain, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(&f.chain, &e))?;
    if chain.is_empty() {
        return Err(what(&f.chain, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&f.key).map_err(|e| what(&f.key, &e))?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        what(
            &f.key,
            &format!("does not go with {}: {e}", f.chain.display()),
        )
    })?;
    Ok(certified)
}

/// Chooses the certificate by the name the client asks for.
#[derive(Debug)]
struct Resolver {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let named = hello
            .server_name()
            .and_then(|name| self.by_name.get(&name.to_ascii_lowercase()));
        Some(Arc::clone(named.unwrap_or(&self.default)))
    }
}
