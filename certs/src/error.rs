//! Errors of certificate handling.

use std::path::PathBuf;

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
}

impl CertError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CertError {
        let path = path.into();
        move |source| CertError::Io { path, source }
    }
}
