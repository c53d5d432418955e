//! The relay's own certificate: created once, kept in the data directory.

use std::{
    fs,
    path::{Path, PathBuf},
};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::{
    files::{read_bounded, write_private},
    CertError, Fingerprint,
};

const CERT_FILE: &str = "relay-cert.der";
const KEY_FILE: &str = "relay-key.der";
/// The name in the relay's self-signed certificate. Clients pin the certificate's fingerprint,
/// so they connect with this name whatever address they dialled.
pub const RELAY_SERVER_NAME: &str = "tether-relay";

/// The relay's TLS certificate and private key.
pub struct RelayIdentity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    /// Whether this call created the identity (first start).
    pub created: bool,
}

impl RelayIdentity {
    /// Loads the identity from `data_dir`, creating the directory and a new self-signed
    /// certificate there on first start. The key file is written with mode 0600.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, CertError> {
        let cert_path = data_dir.join(CERT_FILE);
        let key_path = data_dir.join(KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let cert = read_bounded(&cert_path).map_err(CertError::io(&cert_path))?;
            let key = read_bounded(&key_path).map_err(CertError::io(&key_path))?;
            return Ok(Self {
                cert: CertificateDer::from(cert),
                key: PrivatePkcs8KeyDer::from(key),
                created: false,
            });
        }
        fs::create_dir_all(data_dir).map_err(CertError::io(data_dir))?;
        let generated = rcgen::generate_simple_self_signed(vec![RELAY_SERVER_NAME.to_owned()])?;
        let key = generated.signing_key.serialize_der();
        write_private(&key_path, &key)?;
        fs::write(&cert_path, generated.cert.der()).map_err(CertError::io(&cert_path))?;
        Ok(Self {
            cert: generated.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key),
            created: true,
        })
    }

    /// The certificate's fingerprint, which clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert)
    }

    /// The certificate chain (just the self-signed certificate) for a rustls server config.
    pub fn cert_chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert.clone()]
    }

    /// The private key for a rustls server config.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// Where the certificate lives in `data_dir`.
    pub fn cert_path(data_dir: &Path) -> PathBuf {
        data_dir.join(CERT_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reloaded_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("relay");
        let first = RelayIdentity::load_or_create(&data).unwrap();
        assert!(first.created);
        let again = RelayIdentity::load_or_create(&data).unwrap();
        assert!(!again.created);
        assert_eq!(first.fingerprint(), again.fingerprint());
        assert_eq!(
            Fingerprint::of_der(&fs::read(RelayIdentity::cert_path(&data)).unwrap()),
            first.fingerprint()
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_key_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        RelayIdentity::load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
