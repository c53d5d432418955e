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
    /// Where the agent's key confirmation was due, something else came (such as a second
    /// reply from a party in the middle trying another message): the agent never proved the
    /// key.
    #[error(
        "key confirmation failed: {got} came instead of the agent's key confirmation; someone \
         between the two sides is tampering with the handshake"
    )]
    NotConfirmed {
        /// What came.
        got: &'static str,
    },
    /// The viewer's revealed SPAKE2 message is not the one it committed to: a party in the
    /// middle changed it after seeing the agent's reply.
    #[error(
        "the viewer's key-exchange message does not match its commitment: someone between the \
         two sides changed it"
    )]
    CommitmentMismatch,
    /// A resume request was not made with this session's resumption secret: it was forged
    /// (e.g. by a relay that knows only its own ticket) or replayed after a later resume.
    #[error(
        "the resume request does not prove this session's secret: it was forged, or replayed \
         after a later resume"
    )]
    ResumeRejected,
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
    /// A machine key could not be generated or loaded.
    #[error("invalid or unreadable machine key")]
    BadMachineKey,
    /// The peer's ephemeral key is not a valid X25519 public key.
    #[error("malformed ephemeral key from the peer")]
    BadEphemeralKey,
    /// The machine's signature does not verify with the key it enrolled: someone in between is
    /// answering for it (or it was re-enrolled with a new key).
    #[error(
        "the machine's signature does not match its enrolled key: someone in between is \
         answering for it, or it was re-enrolled"
    )]
    MachineKeyMismatch,
    /// The technician's certificate or signature did not verify.
    #[error("technician rejected: {0}")]
    TechnicianRejected(String),
    /// The technician's certificate is valid, but the machine does not serve its role: its
    /// enrollment names the roles it accepts.
    #[error("this machine does not accept technicians of role {role:?}")]
    RoleNotAccepted {
        /// The technician's role.
        role: String,
    },
    /// The technician's key could not sign.
    #[error("cannot sign with the technician's key: {0}")]
    SigningFailed(String),
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
            E2eError::CommitmentMismatch => Some(AbortReason::CommitmentMismatch),
            E2eError::RoleNotAccepted { .. } => Some(AbortReason::RoleNotAccepted),
            E2eError::ResumeRejected => Some(AbortReason::ResumeRejected),
            E2eError::MachineKeyMismatch | E2eError::TechnicianRejected(_) => {
                Some(AbortReason::IdentityRejected)
            }
            _ => None,
        }
    }
}
