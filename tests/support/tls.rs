//! Test certificates: a CA, and leaves it signs, written as PEM files.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// A certificate authority that signs test certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate, as PEM, in the folder: what clients trust.
    pub cert: PathBuf,
    dir: crate::Folder,
}

/// A leaf certificate signed by a [`TestCa`]: its chain and key files.
pub struct Leaf {
    /// The chain (leaf first), PEM.
    pub chain: PathBuf,
    /// The private key, PEM.
    pub key: PathBuf,
    /// SHA-256 of the leaf's DER, as lowercase hex (what a client sees).
    pub fingerprint: String,
}

impl TestCa {
    /// A new CA, its files in a fresh folder named after `name`.
    pub fn new(name: &str) -> Self {
        let dir = crate::folder(&format!("tls-{name}"), &[]);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("ratchet test CA {name}"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let cert = dir.join("ca.pem");
        fs::write(&cert, issuer.pem()).unwrap();
        TestCa { issuer, cert, dir }
    }

    /// A leaf for `names` (DNS names or IP addresses), written as `<file>.pem` and
    /// `<file>.key` (replacing earlier files of that name).
    pub fn leaf(&self, file: &str, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = CertificateParams::new(names).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let leaf = Leaf {
            chain: self.dir.join(format!("{file}.pem")),
            key: self.dir.join(format!("{file}.key")),
            fingerprint: hex(&Sha256::digest(cert.der())),
        };
        fs::write(&leaf.chain, cert.pem()).unwrap();
        fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }

    /// The folder of its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
