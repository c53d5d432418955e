//! Errors of certificate handling.

use std::{path::PathBuf, time::SystemTime};

/// Everything that can go wrong creating, loading or checking certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Generating a certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A fingerprint was not of the form `sha256:` followed by 64 hex digits.
    #[error("invalid fingerprint {0:?}: expected sha256: followed by 64 hex digits")]
    BadFingerprint(String),
    /// A known-relays file line could not be parsed.
    #[error("{path}:{line}: expected `HOST:PORT sha256:HEX`")]
    BadKnownRelaysLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },

    // --- Reading PKI material.
    /// A PEM input did not hold what was expected.
    #[error("{what}: {reason}")]
    BadPem {
        /// What was being read (a path or a description).
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// A certificate could not be parsed as X.509.
    #[error("malformed certificate: {0}")]
    BadCertificate(String),
    /// A certificate parsed but is not one this PKI issues (no or conflicting Tether markers).
    #[error("certificate {name:?} is not a Tether organisation certificate: {reason}")]
    NotOrgCertificate {
        /// Its subject common name.
        name: String,
        /// What is missing or conflicting.
        reason: String,
    },
    /// A CRL could not be parsed or used.
    #[error("invalid CRL: {0}")]
    BadCrl(String),
    /// The CRL was not issued and signed by this organisation's CA.
    #[error("the CRL is not signed by this organisation's CA")]
    CrlNotFromCa,
    /// A private key does not belong to the certificate it was loaded with.
    #[error("the private key does not match {0}")]
    KeyMismatch(String),

    // --- Verifying certificates and signatures.
    /// The certificate chain was empty.
    #[error("no certificate presented")]
    NoCertificate,
    /// The certificate was revoked by the organisation.
    #[error("certificate for {name} was revoked")]
    Revoked {
        /// Its subject common name.
        name: String,
    },
    /// The certificate's validity ended before the time of the check.
    #[error("certificate for {name} expired at {}", crate::times::rfc3339(*.not_after))]
    Expired {
        /// Its subject common name.
        name: String,
        /// When it expired.
        not_after: SystemTime,
    },
    /// The certificate's validity starts after the time of the check.
    #[error("certificate for {name} is not valid before {}", crate::times::rfc3339(*.not_before))]
    NotYetValid {
        /// Its subject common name.
        name: String,
        /// When it becomes valid.
        not_before: SystemTime,
    },
    /// The certificate does not chain to the organisation's CA.
    #[error("certificate for {name} was not issued by this organisation's CA")]
    UnknownIssuer {
        /// Its subject common name.
        name: String,
    },
    /// The certificate is of another kind than the check needs.
    #[error(
        "certificate for {name} is not a {expected} certificate (it is a {found} certificate)"
    )]
    WrongKind {
        /// Its subject common name.
        name: String,
        /// The kind required.
        expected: &'static str,
        /// The kind presented.
        found: &'static str,
    },
    /// The certificate's extended key usage does not allow this use.
    #[error("certificate for {name} is not valid for {usage}")]
    WrongUsage {
        /// Its subject common name.
        name: String,
        /// The use attempted, e.g. "client authentication".
        usage: &'static str,
    },
    /// The certificate was refused for another reason.
    #[error("certificate for {name} was refused: {reason}")]
    Untrusted {
        /// Its subject common name.
        name: String,
        /// The verifier's reason.
        reason: String,
    },
    /// The organisation's revocation list withdrew an endorsement: its credential was revoked,
    /// or superseded by a later enrollment of the machine.
    #[error(
        "the organisation withdrew the endorsement of this key for {machine}: {why} (see \
         `tether-certs list`)"
    )]
    EndorsementWithdrawn {
        /// The machine.
        machine: String,
        /// Why the endorsement no longer stands.
        why: &'static str,
    },
    /// An enrollment certificate endorses a machine other than the one enrolling.
    #[error("the enrollment certificate is for {certified:?}, not for machine {machine:?}")]
    MachineMismatch {
        /// The machine named in the certificate.
        certified: String,
        /// The machine that presented it.
        machine: String,
    },
    /// A signature did not verify with the certificate's key.
    #[error("the signature does not verify with the certificate's key")]
    BadSignature,
    /// The signature scheme is not one this crate accepts (or the key cannot use it).
    #[error("signature scheme {0} is not supported")]
    UnsupportedScheme(String),
    /// Building a rustls verifier or signer failed.
    #[error("TLS: {0}")]
    Tls(String),

    // --- The PKI tool.
    /// A name given to the tool is not safe to use (it becomes a file name or a URN part).
    #[error("invalid {what} {value:?}: use 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadName {
        /// What the name is for ("technician name", "role", ...).
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// A relay name is neither a DNS name nor an IP address.
    #[error("invalid relay name {0:?}: expected a DNS name or an IP address")]
    BadRelayName(String),
    /// An organisation name is empty, too long or has control characters.
    #[error("invalid organisation name {0:?}: use 1 to 64 printable characters")]
    BadOrgName(String),
    /// A validity period is zero or reaches beyond what a certificate can express.
    #[error("invalid validity period: {0}")]
    BadValidity(String),
    /// `init` was run on a directory that already has a CA.
    #[error("{0} already holds an organisation CA; refusing to overwrite it")]
    CaExists(PathBuf),
    /// The PKI directory has no CA yet.
    #[error("{0} holds no organisation CA: run `tether-certs init` first")]
    NoCa(PathBuf),
    /// A file to be issued already exists.
    #[error("{0} already exists; move it away (after revoking it if needed) to issue a new one")]
    AlreadyIssued(PathBuf),
    /// The ledger could not be read or written.
    #[error("{path}: invalid ledger: {reason}")]
    BadLedger {
        /// The ledger file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Nothing in the ledger has this name or serial.
    #[error("no revocable certificate named or numbered {0:?}")]
    NotFound(String),
    /// A name matches several unrevoked certificates.
    #[error("{name:?} matches several certificates; revoke one by serial (or narrow with --kind):\n{candidates}")]
    Ambiguous {
        /// The name given.
        name: String,
        /// One line per candidate: serial, kind, not-after.
        candidates: String,
    },
    /// The certificate was already revoked.
    #[error("certificate {serial} ({name}) is already revoked")]
    AlreadyRevoked {
        /// Its name.
        name: String,
        /// Its serial (hex).
        serial: String,
    },
}

impl CertError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CertError {
        let path = path.into();
        move |source| CertError::Io { path, source }
    }
}
