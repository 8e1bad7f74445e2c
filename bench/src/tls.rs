//! TLS for the benchmarks: idle connections through a rustls client, and the certificates
//! the server serves them.

use crate::upgrade;
use std::net::SocketAddr;

/// `conns` idle WebSocket connections over TLS, trusting the CA certificate in `ca` (PEM),
/// each upgraded and left open.
pub fn tls_idle(
    addr: SocketAddr,
    conns: usize,
    ca: &std::path::Path,
) -> std::io::Result<Vec<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        rustls_pki_types::CertificateDer::pem_file_iter(ca).map_err(std::io::Error::other)?
    {
        roots
            .add(cert.map_err(std::io::Error::other)?)
            .map_err(std::io::Error::other)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = std::sync::Arc::new(config);
    let mut open = Vec::with_capacity(conns);
    for _ in 0..conns {
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("a name");
        let tls =
            rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
        let mut s = rustls::StreamOwned::new(tls, std::net::TcpStream::connect(addr)?);
        upgrade(&mut s)?;
        open.push(s);
    }
    Ok(open)
}

/// A CA and a certificate for `localhost` it signs, as PEM files in `dir`: `(ca, chain,
/// key)`.
pub fn test_certificates(
    dir: &std::path::Path,
) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let err = std::io::Error::other;
    std::fs::create_dir_all(dir)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(err)?).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(err)?
        .signed_by(&key, &ca)
        .map_err(err)?;
    let paths = (
        dir.join("ca.pem"),
        dir.join("chain.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem())?;
    std::fs::write(&paths.1, leaf.pem())?;
    std::fs::write(&paths.2, key.serialize_pem())?;
    Ok(paths)
}
