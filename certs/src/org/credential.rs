//! A certificate chain with its private key: a technician's identity or an enrollment bundle.

use std::path::Path;

use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer},
    sign::CertifiedKey,
    SignatureScheme,
};

use super::{describe, pem, signature::SCHEMES, CertInfo};
use crate::CertError;

/// A certificate chain and its private key, loaded from PEM (technician: `NAME.pem` +
/// `NAME.key`; enrollment: one bundle file holding both).
pub struct Credential {
    certified: CertifiedKey,
    key: PrivateKeyDer<'static>,
}

impl Credential {
    /// Loads the chain (end entity first) from `cert_pem` and the key from `key_pem`, or from
    /// `cert_pem` too when `key_pem` is `None`. Fails if the key does not match the certificate.
    pub fn load(cert_pem: &Path, key_pem: Option<&Path>) -> Result<Self, CertError> {
        let cert_text = pem::read(cert_pem)?;
        let cert_what = cert_pem.display().to_string();
        let chain = pem::certificates(&cert_text, &cert_what)?;
        let key = match key_pem {
            Some(path) => pem::private_key(&pem::read(path)?, &path.display().to_string())?,
            None => pem::private_key(&cert_text, &cert_what)?,
        };
        Self::new(chain, key, &cert_what)
    }

    /// Like [`Credential::load`], from PEM text in memory.
    pub fn from_pem(cert_pem: &[u8], key_pem: Option<&[u8]>) -> Result<Self, CertError> {
        let chain = pem::certificates(cert_pem, "credential")?;
        let key = pem::private_key(key_pem.unwrap_or(cert_pem), "credential key")?;
        Self::new(chain, key, "the credential's certificate")
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        what: &str,
    ) -> Result<Self, CertError> {
        let provider = rustls::crypto::ring::default_provider();
        let certified =
            CertifiedKey::from_der(chain, key.clone_key(), &provider).map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => CertError::KeyMismatch(what.to_owned()),
                other => CertError::Tls(format!("loading the private key: {other}")),
            })?;
        Ok(Self { certified, key })
    }

    /// The chain, end entity first, as sent in a TLS handshake.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.certified.cert
    }

    /// The private key, e.g. for `rustls::ClientConfig::with_client_auth_cert`.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// What the end-entity certificate says about itself.
    pub fn info(&self) -> Result<CertInfo, CertError> {
        describe(self.chain().first().ok_or(CertError::NoCertificate)?)
    }

    /// Signs `message` with the credential's key, using the one supported scheme that fits the
    /// key (ECDSA P-256 with SHA-256 for keys this PKI issues); returns it with the signature.
    pub fn sign(&self, message: &[u8]) -> Result<(SignatureScheme, Vec<u8>), CertError> {
        let signer = self
            .certified
            .key
            .choose_scheme(&SCHEMES)
            .ok_or_else(|| CertError::UnsupportedScheme("(none fits the key)".into()))?;
        let signature = signer
            .sign(message)
            .map_err(|e| CertError::Tls(format!("signing: {e}")))?;
        Ok((signer.scheme(), signature))
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Credential")
            .field("chain_len", &self.chain().len())
            .finish_non_exhaustive()
    }
}
