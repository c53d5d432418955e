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
    /// A record was tampered with: nothing from it was trusted.
    #[error("session not secure: {0}")]
    Insecure(tether_e2e::E2eError),
    /// The session could not be secured end to end (a wrong code, tampering, no answer in
    /// time): the code is spent, and trying it again could only help someone guessing it.
    #[error("session not secure: {0}\n{CODE_SPENT}")]
    HandshakeFailed(tether_transport::TransportError),
    /// The session ended before the viewer was done.
    #[error("session ended: {0}")]
    Ended(EndReason),
    /// Anything else: protocol violations, broken streams, local I/O.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a technician must know after a failed handshake. The agent burns its code on any
/// handshake that does not finish, and one in the middle (a relay posing as the agent) gets a
/// guess at the code from each attempt without the agent seeing it: so a code is tried once.
pub(crate) const CODE_SPENT: &str = "That code is spent: do not try it again (each attempt \
     could give whoever tampered with the handshake another guess at it). Ask the user to read \
     you a new code: their agent shows one after a failed handshake, and if it still shows this \
     one (the handshake never reached it), restarting it gives a new one.";

impl ViewerError {
    /// The process exit code ([`tether_cli::exit`]): refused by the relay or the user, ended
    /// by the other side, relay unreachable or untrusted, session not secure, or a failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            ViewerError::Refused(_) | ViewerError::Declined => exit::REFUSED,
            ViewerError::Insecure(_) | ViewerError::HandshakeFailed(_) => exit::INSECURE,
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

#[cfg(test)]
mod tests {
    use tether_e2e::E2eError;
    use tether_transport::TransportError;

    use super::*;

    #[test]
    fn a_failed_handshake_says_the_code_is_spent() {
        let failed =
            ViewerError::HandshakeFailed(TransportError::E2e(E2eError::ConfirmationFailed));
        assert_eq!(failed.exit_code(), ExitCode::from(exit::INSECURE));
        let text = failed.to_string();
        assert!(
            text.starts_with("session not secure: key confirmation failed"),
            "{text}"
        );
        assert!(text.contains("That code is spent"), "{text}");
        assert!(text.contains("do not try it again"), "{text}");
        // A record tampered with mid-session is insecure too, without a code to spend.
        let tampered = ViewerError::Insecure(E2eError::RecordRejected { seq: 3 });
        assert_eq!(tampered.exit_code(), ExitCode::from(exit::INSECURE));
        assert!(!tampered.to_string().contains("spent"));
    }
}
