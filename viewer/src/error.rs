//! Why a viewer session failed, and the process exit code each reason maps to.

use std::process::ExitCode;

use tether_cli::exit;
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
    /// The user declined the session (or granted nothing to see).
    #[error("the user declined the session")]
    Declined,
    /// The session could not be secured end to end (wrong code, tampering) or a record was
    /// tampered with: nothing from it was trusted.
    #[error("session not secure: {0}")]
    Insecure(tether_e2e::E2eError),
    /// The session ended before the viewer was done.
    #[error("session ended: {0}")]
    Ended(EndReason),
    /// Anything else: protocol violations, broken streams, local I/O.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ViewerError {
    /// The process exit code ([`tether_cli::exit`]): refused by the relay or the user, ended
    /// by the other side, relay unreachable or untrusted, session not secure, or a failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            ViewerError::Refused(_) | ViewerError::Declined => exit::REFUSED,
            ViewerError::Insecure(_) => exit::INSECURE,
            ViewerError::Ended(_) => exit::ENDED,
            ViewerError::Connect(_) => exit::UNREACHABLE,
            ViewerError::Other(_) => exit::FAILURE,
        })
    }
}

impl From<tether_transport::TransportError> for ViewerError {
    fn from(error: tether_transport::TransportError) -> Self {
        match error {
            tether_transport::TransportError::E2e(e) => ViewerError::Insecure(e),
            other => ViewerError::Other(other.into()),
        }
    }
}
