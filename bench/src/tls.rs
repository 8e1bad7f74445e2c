//! TLS for the benchmarks: the load generator's connections through a rustls client (the
//! echo's, and idle ones), and the certificates the servers serve them.

use crate::upgrade;
use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// A load-generator connection: plain, or TLS over a non-blocking socket.
pub(crate) enum Wire {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Wire {
    /// `stream`, through TLS when `tls` is given.
    pub fn new(stream: TcpStream, tls: Option<&Arc<rustls::ClientConfig>>) -> io::Result<Self> {
        let Some(config) = tls else {
            return Ok(Wire::Plain(stream));
        };
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("a name");
        let conn = rustls::ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        Ok(Wire::Tls(Box::new(rustls::StreamOwned::new(conn, stream))))
    }
}

impl Wire {
    /// The socket.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Wire::Plain(s) => s,
            Wire::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.read(buf),
            Wire::Tls(s) => loop {
                // Plaintext already decrypted first; else records from the socket.
                match s.conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if s.conn.read_tls(&mut s.sock)? == 0 {
                    return Ok(0);
                }
                s.conn.process_new_packets().map_err(io::Error::other)?;
                // Handshake messages (and key updates) the records called for.
                flush_tls(s)?;
            },
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.write(buf),
            // Buffered by rustls (until the handshake is done, too): sent by `flush`.
            Wire::Tls(s) => s.conn.writer().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(_) => Ok(()),
            Wire::Tls(s) => flush_tls(s),
        }
    }
}

/// Writes the records rustls has ready, until the socket would block.
fn flush_tls(s: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>) -> io::Result<()> {
    while s.conn.wants_write() {
        match s.conn.write_tls(&mut s.sock) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A rustls client configuration (ring) trusting the CA certificate in `ca` (PEM).
pub fn client_config(ca: &std::path::Path) -> io::Result<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).map_err(io::Error::other)? {
        roots
            .add(cert.map_err(io::Error::other)?)
            .map_err(io::Error::other)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `conns` idle WebSocket connections over TLS, trusting the CA certificate in `ca` (PEM),
/// each upgraded and left open.
pub fn tls_idle(
    addr: SocketAddr,
    conns: usize,
    ca: &std::path::Path,
) -> io::Result<Vec<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>>> {
    let config = client_config(ca)?;
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
