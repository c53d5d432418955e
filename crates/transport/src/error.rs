//! Errors of the transport layer.

use std::{error::Error, path::PathBuf};

use tether_certs::Fingerprint;

/// A message stream failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The peer sent bytes that are not a valid message.
    #[error(transparent)]
    Proto(#[from] tether_proto::ProtoError),
    /// Reading from the stream failed.
    #[error("read failed: {0}")]
    Read(#[from] quinn::ReadError),
    /// Writing to the stream failed.
    #[error("write failed: {0}")]
    Write(#[from] quinn::WriteError),
    /// The connection is gone.
    #[error(transparent)]
    Connection(#[from] quinn::ConnectionError),
    /// The stream was already finished.
    #[error("stream already closed")]
    ClosedStream(#[from] quinn::ClosedStream),
    /// The end-to-end layer failed: a bad handshake or a tampered record.
    #[error(transparent)]
    E2e(#[from] tether_e2e::E2eError),
    /// The peer did not complete the end-to-end handshake in time: it is gone, or someone in
    /// between is stalling it.
    #[error("the peer did not complete the end-to-end handshake within {} s", .0.as_secs())]
    HandshakeTimeout(std::time::Duration),
    /// The peer broke the data path's negotiation (see [`crate::direct`]).
    #[error("data path negotiation: {0}")]
    DirectPath(&'static str),
}

/// Dialling the relay failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address did not resolve.
    #[error("cannot resolve relay address {relay:?}: {reason}")]
    Resolve {
        /// What was dialled.
        relay: String,
        /// Why it failed.
        reason: String,
    },
    /// The relay presented another certificate than the pinned one: possibly an attack.
    #[error(
        "RELAY IDENTITY CHANGED for {relay}: expected {expected}, but the relay presented \
         {presented}. Someone could be intercepting the connection, or the relay's certificate \
         was replaced. If the change is legitimate, remove the line for {relay} from {} or pass \
         --relay-fingerprint.",
        known_relays.display()
    )]
    IdentityChanged {
        /// What was dialled.
        relay: String,
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// The fingerprint presented.
        presented: Fingerprint,
        /// The known-relays file consulted.
        known_relays: PathBuf,
    },
    /// The QUIC or TLS handshake failed.
    #[error("cannot connect to relay {relay}: {source}")]
    Handshake {
        /// What was dialled.
        relay: String,
        /// The underlying error.
        source: quinn::ConnectionError,
    },
    /// The local endpoint could not be set up.
    #[error("cannot set up a QUIC endpoint: {0}")]
    Endpoint(String),
    /// The known-relays file could not be read or written.
    #[error(transparent)]
    KnownRelays(#[from] tether_certs::CertError),
}

impl ConnectError {
    /// Whether dialling may work later: an unreachable relay may come back; a relay with
    /// another identity, or a broken known-relays file, will not fix itself.
    pub fn worth_retrying(&self) -> bool {
        matches!(
            self,
            ConnectError::Resolve { .. } | ConnectError::Handshake { .. }
        )
    }
}

impl TransportError {
    /// Whether the peer (or its connection) simply went away, as opposed to misbehaving.
    pub fn is_disconnect(&self) -> bool {
        let connection = match self {
            TransportError::Read(quinn::ReadError::ConnectionLost(e))
            | TransportError::Write(quinn::WriteError::ConnectionLost(e))
            | TransportError::Connection(e) => e,
            TransportError::Read(quinn::ReadError::Reset(_))
            | TransportError::Write(quinn::WriteError::Stopped(_)) => return true,
            _ => return false,
        };
        matches!(
            connection,
            quinn::ConnectionError::ApplicationClosed(_)
                | quinn::ConnectionError::ConnectionClosed(_)
                | quinn::ConnectionError::TimedOut
                | quinn::ConnectionError::Reset
                | quinn::ConnectionError::LocallyClosed
        )
    }
}

/// Whether `error`, or an error it wraps (by `anyhow` context or as its source), is a
/// [`TransportError`] saying that the peer merely went away, as opposed to misbehaving.
pub fn is_disconnect(error: &(impl AsRef<dyn Error + 'static> + ?Sized)) -> bool {
    let error: &(dyn Error + 'static) = error.as_ref();
    std::iter::successors(Some(error), |&error| error.source())
        .find_map(|error| error.downcast_ref::<TransportError>())
        .is_some_and(TransportError::is_disconnect)
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    fn timed_out() -> TransportError {
        TransportError::Connection(quinn::ConnectionError::TimedOut)
    }

    #[test]
    fn a_peer_that_went_away_is_a_disconnect_however_wrapped() {
        assert!(timed_out().is_disconnect());
        assert!(is_disconnect(&anyhow::Error::from(timed_out())));
        let wrapped = Err::<(), _>(timed_out())
            .context("lost the relay")
            .unwrap_err();
        assert!(is_disconnect(&wrapped));
        let reset = TransportError::Read(quinn::ReadError::Reset(0u32.into()));
        assert!(is_disconnect(&anyhow::Error::from(reset)));
    }

    #[test]
    fn misbehaviour_and_other_errors_are_not_disconnects() {
        let tampered = TransportError::E2e(tether_e2e::E2eError::RecordRejected { seq: 3 });
        assert!(!is_disconnect(&anyhow::Error::from(tampered)));
        assert!(!is_disconnect(&anyhow::anyhow!(
            "forwarded stream has a bad header"
        )));
        let refused = quinn::ConnectionError::VersionMismatch;
        assert!(!is_disconnect(&anyhow::Error::from(
            TransportError::Connection(refused)
        )));
    }
}
