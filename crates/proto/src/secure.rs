//! The end-to-end layer of a session stream: a handshake in the clear, then sealed records.
//!
//! On every session stream the viewer opens (after the relay's [`crate::control::StreamHeader`]):
//!
//! 1. viewer → agent [`Handshake::Start`]: its SPAKE2 message, keyed by the whole session code;
//! 2. agent → viewer [`Handshake::Reply`]: the agent's SPAKE2 message;
//! 3. viewer → agent [`Handshake::Confirm`]: proof that the viewer derived the same key;
//! 4. agent → viewer [`Handshake::Confirm`]: the agent's proof.
//!
//! From then on each side sends only [`Sealed`] records: AEAD ciphertexts of session messages
//! under per-direction keys with implicit sequence numbers (see the `tether-e2e` crate). Either
//! side may send [`Handshake::Abort`] instead of its next handshake message; it is not
//! authenticated, so it only ever ends a session, never changes one.

use serde::{Deserialize, Serialize};

/// Handshake messages, in the clear (their content is safe for the relay to see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Handshake {
    /// Viewer → agent: opens the handshake.
    Start {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// The viewer's SPAKE2 message (role A).
        #[serde(with = "serde_bytes")]
        pake: Vec<u8>,
    },
    /// Agent → viewer: the agent's SPAKE2 message (role B).
    Reply {
        /// The agent's SPAKE2 message.
        #[serde(with = "serde_bytes")]
        pake: Vec<u8>,
    },
    /// Key confirmation: a MAC only the holder of the session key can compute.
    Confirm {
        /// HMAC-SHA256 under the sender's confirmation key.
        #[serde(with = "serde_bytes")]
        mac: Vec<u8>,
    },
    /// The sender gives up on the handshake.
    Abort {
        /// Why.
        reason: AbortReason,
    },
}

/// Why a side aborted the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AbortReason {
    /// The peer speaks another protocol version.
    VersionMismatch {
        /// The aborting side's version.
        ours: u16,
    },
    /// Key confirmation failed: the code was wrong, or someone in between tampered.
    ConfirmationFailed,
}

impl std::fmt::Display for AbortReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbortReason::VersionMismatch { ours } => {
                write!(f, "the peer speaks protocol version {ours}")
            }
            AbortReason::ConfirmationFailed => {
                f.write_str("key confirmation failed: wrong session code, or tampering on the way")
            }
        }
    }
}

/// One sealed record: ciphertext and tag of one session message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed(#[serde(with = "serde_bytes")] pub Vec<u8>);
