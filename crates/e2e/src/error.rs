//! Everything that ends a secured session stream.

use tether_proto::secure::AbortReason;

/// Why the end-to-end layer refused to go on. None of these is recoverable on the same stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum E2eError {
    /// The peer speaks another protocol version.
    #[error("the peer speaks protocol version {peer}, this side {ours}")]
    VersionMismatch {
        /// The peer's version.
        peer: u16,
        /// Ours.
        ours: u16,
    },
    /// The peer aborted the handshake.
    #[error("the peer aborted the handshake: {0}")]
    Aborted(AbortReason),
    /// A handshake message arrived out of order.
    #[error("unexpected handshake message: expected {expected}, got {got}")]
    Unexpected {
        /// What the state machine waited for.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// The peer's SPAKE2 message is malformed.
    #[error("malformed key-exchange message from the peer")]
    BadKeyExchange,
    /// The peer's key confirmation did not verify: the code was wrong, or a party in between
    /// (such as a malicious relay) tried to take part in the exchange.
    #[error(
        "key confirmation failed: the session code was wrong, or someone between the two sides \
         tampered with the handshake"
    )]
    ConfirmationFailed,
    /// A sealed record did not authenticate: it was altered, dropped, replayed or reordered.
    #[error("record {seq} failed authentication: the stream was tampered with")]
    RecordRejected {
        /// The sequence number the record should have had.
        seq: u64,
    },
    /// A record arrived after the peer closed its direction.
    #[error("data after the peer's close record")]
    RecordAfterClose,
    /// The stream ended without the peer's authenticated close: data may have been cut off.
    #[error("the stream ended without the peer's close record: it was truncated")]
    Truncated,
    /// A record's plaintext is larger than a message may be.
    #[error("record of {len} bytes exceeds the {max}-byte limit")]
    RecordTooLarge {
        /// The size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// 2^64 records were sealed with one key; never happens in practice, but never wraps either.
    #[error("record sequence numbers exhausted")]
    SequenceExhausted,
}

impl E2eError {
    /// What to tell the peer in a [`tether_proto::secure::Handshake::Abort`], if anything: only
    /// handshake failures are worth explaining, and only in terms the peer can act on.
    pub fn abort_reason(&self) -> Option<AbortReason> {
        match self {
            E2eError::VersionMismatch { ours, .. } => {
                Some(AbortReason::VersionMismatch { ours: *ours })
            }
            E2eError::ConfirmationFailed => Some(AbortReason::ConfirmationFailed),
            _ => None,
        }
    }
}
