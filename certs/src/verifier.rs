//! A rustls server-certificate verifier that pins the relay by fingerprint.
//!
//! The relay's certificate is self-signed, so there is no chain to check: the client trusts
//! exactly one certificate, identified by its SHA-256. Handshake signatures are still verified
//! with the ring provider, proving the relay holds the certificate's key.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, SignatureScheme,
};

use crate::{Fingerprint, HandshakeSignatures};

/// What the client trusts for this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTrust {
    /// Only the certificate with this fingerprint.
    Pinned(Fingerprint),
    /// Any certificate: the first connection to an unknown relay. The caller must record
    /// [`PinnedRelayVerifier::presented`] once connected, so later connections are pinned.
    FirstUse,
}

/// Verifies the relay's certificate against a [`RelayTrust`] and remembers what was presented.
#[derive(Debug)]
pub struct PinnedRelayVerifier {
    trust: RelayTrust,
    presented: Mutex<Option<Fingerprint>>,
    signatures: HandshakeSignatures,
}

impl PinnedRelayVerifier {
    /// A verifier for one connection attempt.
    pub fn new(trust: RelayTrust) -> Arc<Self> {
        Arc::new(Self {
            trust,
            presented: Mutex::new(None),
            signatures: HandshakeSignatures::ring(),
        })
    }

    /// The fingerprint the relay presented, once the handshake got that far.
    pub fn presented(&self) -> Option<Fingerprint> {
        *self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ServerCertVerifier for PinnedRelayVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_der(end_entity);
        *self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(presented);
        match self.trust {
            RelayTrust::Pinned(expected) if expected != presented => Err(rustls::Error::General(
                format!("relay certificate {presented} does not match the pinned {expected}"),
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}
