//! Signatures by a certificate's key outside TLS: enrollment endorsements.

use rustls::{pki_types::CertificateDer, SignatureScheme};
use webpki::EndEntityCert;

use crate::CertError;

/// The schemes this crate signs and verifies with, in order of preference: the TLS 1.3 schemes
/// the ring provider implements (no PKCS#1 v1.5, no SHA-1).
pub(crate) const SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
];

/// Separates endorsements from every other use of an enrollment key.
const ENDORSEMENT_CONTEXT: &[u8] = b"tether enrollment endorsement v1\0";

/// The bytes an enrollment credential signs to endorse a machine key: a context string, the
/// machine name's length (u32, big endian) and bytes, then the 32-byte key.
pub fn endorsement_message(machine: &str, machine_key: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(ENDORSEMENT_CONTEXT.len() + 4 + machine.len() + 32);
    message.extend_from_slice(ENDORSEMENT_CONTEXT);
    // Names are at most 64 bytes when issued; saturate rather than wrap for anything else.
    let len = u32::try_from(machine.len()).unwrap_or(u32::MAX);
    message.extend_from_slice(&len.to_be_bytes());
    message.extend_from_slice(machine.as_bytes());
    message.extend_from_slice(machine_key);
    message
}

/// Verifies `signature` by the key of `cert` over `message` with `scheme` (ring, through
/// webpki). Schemes outside the TLS 1.3 set (PKCS#1 v1.5, SHA-1, unknown) are refused, as is a
/// scheme that does not fit the key (e.g. P-384 for a P-256 key).
pub fn verify_signature(
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    let unsupported = || CertError::UnsupportedScheme(format!("{scheme:?}"));
    if !SCHEMES.contains(&scheme) {
        return Err(unsupported());
    }
    let algorithms = rustls::crypto::ring::default_provider().signature_verification_algorithms;
    // As rustls does for TLS 1.3: the scheme names exactly one algorithm, the first mapped.
    let algorithm = algorithms
        .mapping
        .iter()
        .find(|(mapped, _)| *mapped == scheme)
        .and_then(|(_, algs)| algs.first())
        .ok_or_else(unsupported)?;
    let cert =
        EndEntityCert::try_from(cert).map_err(|e| CertError::BadCertificate(format!("{e:?}")))?;
    match cert.verify_signature(*algorithm, message, signature) {
        Ok(()) => Ok(()),
        Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => {
            Err(unsupported())
        }
        Err(_) => Err(CertError::BadSignature),
    }
}

/// Verifies a signature made with the one scheme of [`SCHEMES`] that fits the key of `cert`
/// (the one [`Credential::sign`](crate::Credential::sign) picks), for callers that were not
/// told the scheme.
pub(crate) fn verify_with_key_scheme(
    cert: &CertificateDer<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    for scheme in SCHEMES {
        match verify_signature(cert, scheme, message, signature) {
            Err(CertError::UnsupportedScheme(_)) => continue,
            result => return result,
        }
    }
    Err(CertError::UnsupportedScheme(
        "(none fits the certificate's key)".into(),
    ))
}
