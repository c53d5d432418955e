//! Handshake signature checks, the part every certificate verifier of ours shares: whatever a
//! verifier decides about the certificate, the peer must still prove it holds the key.

use rustls::{
    client::danger::HandshakeSignatureValid,
    crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms},
    pki_types::CertificateDer,
    DigitallySignedStruct, SignatureScheme,
};

/// Checks TLS handshake signatures with the algorithms of rustls' ring provider.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeSignatures(WebPkiSupportedAlgorithms);

impl HandshakeSignatures {
    /// The ring provider's signature algorithms.
    pub fn ring() -> Self {
        Self(rustls::crypto::ring::default_provider().signature_verification_algorithms)
    }

    /// Checks a TLS 1.2 handshake signature over `message` by `cert`'s key.
    pub fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    /// Checks a TLS 1.3 handshake signature over `message` by `cert`'s key.
    pub fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    /// The signature schemes these checks accept.
    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
