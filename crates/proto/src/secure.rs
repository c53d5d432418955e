//! The end-to-end layer of a session stream: a handshake in the clear, then sealed records.
//!
//! On every session stream the viewer opens (after the relay's [`crate::control::StreamHeader`]):
//!
//! 1. viewer → agent [`Handshake::Commit`]: a hash of its SPAKE2 message (keyed by the whole
//!    session code), which it does not show yet;
//! 2. agent → viewer [`Handshake::Reply`]: the agent's SPAKE2 message;
//! 3. viewer → agent [`Handshake::Reveal`]: the committed SPAKE2 message, and proof that the
//!    viewer derived the key;
//! 4. agent → viewer [`Handshake::Confirm`]: the agent's proof.
//!
//! The commitment keeps a party in the middle from choosing its message toward either side
//! after seeing that side's (see the `tether-e2e` crate for why that makes the security digits
//! worth comparing).
//!
//! Sessions with an enrolled machine (no code, nobody at the machine) authenticate both ends
//! by their long-term keys instead, over an ephemeral X25519 exchange:
//!
//! 1. viewer → agent [`Handshake::TechnicianStart`]: the technician's certificate chain and
//!    an ephemeral public key;
//! 2. agent → viewer [`Handshake::MachineReply`]: the agent's ephemeral public key and its
//!    machine key's signature over the transcript;
//! 3. viewer → agent [`Handshake::TechnicianProof`]: the technician key's signature over the
//!    transcript, including the machine's signature;
//! 4. agent → viewer [`Handshake::Confirm`]: proof that the agent derived the same key.
//!
//! A viewer whose connection was lost takes its session back on a new stream by proving it
//! holds the resumption secret both ends derived when the session was established (the relay
//! never learns it), and both ends re-key:
//!
//! 1. viewer → agent [`Handshake::Resume`]: a fresh nonce, MACed under the resumption secret;
//! 2. agent → viewer [`Handshake::Resumed`]: the agent's nonce and its key confirmation under
//!    the new keys (derived from the secret and both nonces);
//! 3. viewer → agent [`Handshake::Confirm`]: the viewer's key confirmation.
//!
//! From then on each side sends only [`Sealed`] records: AEAD ciphertexts of session messages
//! under per-direction keys with implicit sequence numbers (see the `tether-e2e` crate). Either
//! side may send [`Handshake::Abort`] instead of its next handshake message; it is not
//! authenticated, so it only ever ends a session, never changes one.

use serde::{Deserialize, Serialize};

/// Handshake messages, in the clear (their content is safe for the relay to see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Handshake {
    /// Viewer → agent: opens the handshake, committing to the viewer's SPAKE2 message. (First,
    /// with the version first, as every protocol version's opening message is, so that a peer
    /// of another version is told so rather than sent a malformed message.)
    Commit {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// SHA-256 of a domain string, the relay's session id and the viewer's SPAKE2 message
        /// (role A), which [`Handshake::Reveal`] shows later.
        #[serde(with = "serde_bytes")]
        commitment: Vec<u8>,
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
    /// Viewer → agent, unattended: opens the handshake with the technician's identity.
    TechnicianStart {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// The technician's certificate chain, end entity first (DER).
        chain: Vec<serde_bytes::ByteBuf>,
        /// The viewer's ephemeral X25519 public key.
        #[serde(with = "serde_bytes")]
        ephemeral: Vec<u8>,
    },
    /// Agent → viewer, unattended: the agent's ephemeral key, signed by its machine key.
    MachineReply {
        /// The agent's ephemeral X25519 public key.
        #[serde(with = "serde_bytes")]
        ephemeral: Vec<u8>,
        /// Ed25519 signature by the machine key over the transcript so far.
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
    },
    /// Viewer → agent, unattended: the technician key's signature over the transcript.
    TechnicianProof {
        /// The TLS `SignatureScheme` code of the signature.
        scheme: u16,
        /// The signature.
        #[serde(with = "serde_bytes")]
        signature: Vec<u8>,
    },
    /// The sender gives up on the handshake.
    Abort {
        /// Why.
        reason: AbortReason,
    },
    /// Viewer → agent: opens a stream that takes a suspended session back.
    Resume {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// 32 fresh random bytes.
        #[serde(with = "serde_bytes")]
        nonce: Vec<u8>,
        /// HMAC-SHA256 of the session id and the nonce under the resumption secret.
        #[serde(with = "serde_bytes")]
        mac: Vec<u8>,
    },
    /// Agent → viewer: accepts the resume.
    Resumed {
        /// 32 fresh random bytes.
        #[serde(with = "serde_bytes")]
        nonce: Vec<u8>,
        /// The agent's key confirmation under the new session keys.
        #[serde(with = "serde_bytes")]
        mac: Vec<u8>,
    },
    /// Viewer → agent: the SPAKE2 message the viewer committed to, and its key confirmation.
    Reveal {
        /// The viewer's SPAKE2 message (role A).
        #[serde(with = "serde_bytes")]
        pake: Vec<u8>,
        /// HMAC-SHA256 under the viewer's confirmation key.
        #[serde(with = "serde_bytes")]
        mac: Vec<u8>,
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
    /// The peer's identity (certificate or machine key) did not verify.
    IdentityRejected,
    /// The agent did not accept the viewer's proof for taking the session back.
    ResumeRejected,
    /// The viewer's SPAKE2 message is not the one it committed to: someone in between changed
    /// it after seeing the agent's.
    CommitmentMismatch,
    /// The machine does not serve technicians of this side's role (its enrollment says which).
    RoleNotAccepted,
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
            AbortReason::IdentityRejected => {
                f.write_str("the peer did not accept this side's certificate or machine key")
            }
            AbortReason::ResumeRejected => {
                f.write_str("the agent did not accept this side's proof for resuming the session")
            }
            AbortReason::CommitmentMismatch => f.write_str(
                "the key-exchange message the agent received is not the one this side committed \
                 to: someone in between changed it",
            ),
            AbortReason::RoleNotAccepted => {
                f.write_str("the machine does not accept technicians of this side's role")
            }
        }
    }
}

/// One sealed record: ciphertext and tag of one session message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed(#[serde(with = "serde_bytes")] pub Vec<u8>);
