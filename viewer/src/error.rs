//! Why a viewer session failed, and the process exit code each reason maps to.

use std::process::ExitCode;

use tether_proto::control::{EndReason, Refusal};
use tether_transport::ConnectError;

/// A failed or interrupted viewer session.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// The relay could not be reached or verified.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The relay refused to join (wrong, expired or used code; version mismatch).
    #[error("join refused: {0}")]
    Refused(Refusal),
    /// The session ended before the viewer was done.
    #[error("session ended: {0}")]
    Ended(EndReason),
    /// Anything else: protocol violations, broken streams, local I/O.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ViewerError {
    /// The process exit code: 3 refused, 4 ended by the other side, 5 relay unreachable or
    /// untrusted, 1 anything else (2 is clap's usage error).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            ViewerError::Refused(_) => 3,
            ViewerError::Ended(_) => 4,
            ViewerError::Connect(_) => 5,
            ViewerError::Other(_) => 1,
        })
    }
}
