//! The SPAKE2 handshake as typestate machines, one per role, with the viewer's message
//! committed before the agent answers.
//!
//! ```text
//! viewer                                  agent
//! ViewerHandshake::start ── Commit ─────▶ AgentHandshake::respond
//!          on_reply ◀─────── Reply ────── AgentConfirming
//! ViewerConfirming ──────── Reveal ─────▶ on_confirm  (commitment, then key confirmation;
//!        on_confirm ◀────── Confirm ───── Established   any failure burns the code)
//! Established
//! ```
//!
//! Both SPAKE2 identities name the role and the relay's session id, so a key exchanged for
//! one session or role is useless for another. The viewer proves the key first; the agent
//! reveals nothing keyed until the viewer has.
//!
//! # What the security digits prove
//!
//! Whoever knows the code (a malicious relay that guessed or overheard it) can run SPAKE2
//! with each side: as the viewer toward the agent (leg A, key `K_A`) and as the agent toward
//! the viewer (leg V, key `K_V`). Each side then shows six digits of its own key. The digits
//! are 20 bits, so a party in the middle that could fix one key and then try fresh messages on
//! the other leg until the digits match would need about 10⁶ tries: without a commitment, the
//! viewer spoke first and the party in the middle answered it last, so it could do exactly
//! that (a proof of concept matched in 625 s on one core).
//!
//! With the commitment, each key has a contribution that the party in the middle cannot see
//! or change when it makes its own choice on that leg:
//!
//! - Leg A: the party in the middle is the viewer. It must send `Commit` before the agent's
//!   `Reply`, and its `Reveal` must match the commitment, so its SPAKE2 message is fixed
//!   before it sees the agent's fresh one. `K_A` is then a random function of the agent's
//!   message: the party in the middle cannot steer it. The agent answers one commitment per
//!   code (a failed handshake burns the code), so leg A gives one draw of `K_A` per code.
//! - Leg V: the party in the middle is the agent. It must send `Reply` while it holds only the
//!   viewer's commitment, a hash that hides a SPAKE2 message with 252 random bits. `K_V` is
//!   then a random function of the viewer's message, which it learns only after its own
//!   choice is made. The viewer takes one reply per session (a second one is an unexpected
//!   message and ends it), so leg V gives one draw of `K_V` per session.
//!
//! Whatever the order in which the party in the middle runs the two legs (A first, V first,
//! or interleaved: V's commitment, A's commitment, A's reply, V's reply, reveals), the last
//! key to be determined is one it drew blindly, while the other is known to it: the digits
//! match with probability 10⁻⁶ per session, and a failed comparison cannot be retried on the
//! same session. It cannot even choose which leg to finish first to its advantage: both
//! orders leave one blind draw. What the digits prove is therefore: "nobody in the middle
//! knew the code, or one who did was lucky at odds of one in a million for this session".
//!
//! # Why the commitment covers exactly what it covers
//!
//! The commitment is SHA-256 over a domain string, the relay's session id and the viewer's
//! SPAKE2 message, each length-prefixed, and nothing else:
//!
//! - **The SPAKE2 message, whole**: it is the viewer's only contribution to the key (its
//!   identity is fixed by the session id), so committing to it is what makes leg A binding
//!   and leg V blind. Committing to anything less would leave the rest free to grind.
//! - **Not the code, nor anything derived from it alone**: the commitment travels in the clear
//!   before any proof, and a hash of the 10⁶ possible secrets could be searched offline. The
//!   SPAKE2 message is safe to hash: it is blinded by a fresh random scalar and reveals
//!   nothing about the code even when shown (SPAKE2's usual guarantee).
//! - **No salt**: the message's own randomness hides it; a salt would add nothing.
//! - **The session id and a domain string**: a commitment means something only for this
//!   handshake of this session, so one seen elsewhere (another session, another protocol
//!   that hashes 33-byte strings) can never be presented as this one's.
//! - **Not the agent's message**: it does not exist yet when the viewer commits.
//!
//! The agent compares the revealed message's hash with the commitment in constant time; a
//! mismatch is [`E2eError::CommitmentMismatch`], and like any other failure it burns the code.

use rand::{CryptoRng, RngCore};
use ring::digest;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use tether_proto::{secure::Handshake, SessionCode, PROTOCOL_VERSION};

use crate::{
    keys::{Role, SessionKeys},
    E2eError, Opener, ResumptionSecret, Sealer, ShortAuthString,
};

/// Domain separation of the viewer's commitment.
const COMMITMENT_DOMAIN: &[u8] = b"tether/1 viewer commitment to its SPAKE2 message";

/// A keyed, confirmed session stream.
pub struct Established {
    /// Digits both sides may show to compare.
    pub sas: ShortAuthString,
    /// Seals what this side sends.
    pub sealer: Sealer,
    /// Opens what the peer sends.
    pub opener: Opener,
    /// What a later stream may take the session back with (see [`crate::resume`]).
    pub resumption: ResumptionSecret,
}

impl Established {
    pub(crate) fn new(keys: &SessionKeys, me: Role, peer: Role) -> Self {
        Self {
            sas: keys.short_auth_string(),
            sealer: Sealer::new(keys.record_key(me)),
            opener: Opener::new(keys.record_key(peer)),
            resumption: keys.resumption_secret(),
        }
    }
}

/// The viewer's first step: it has sent [`Handshake::Commit`] and awaits the agent's reply.
pub struct ViewerHandshake {
    spake: Spake2<Ed25519Group>,
    /// The SPAKE2 message committed to, revealed after the agent's reply.
    pake: Vec<u8>,
}

impl ViewerHandshake {
    /// Starts the exchange for `code` in relay session `session_id`; send the returned
    /// commitment.
    pub fn start<R: RngCore + CryptoRng>(
        code: SessionCode,
        session_id: u64,
        rng: &mut R,
    ) -> (Self, Handshake) {
        let (viewer, agent) = identities(session_id);
        let (spake, pake) =
            Spake2::<Ed25519Group>::start_a_with_rng(&password(code), &viewer, &agent, rng);
        let commit = Handshake::Commit {
            version: PROTOCOL_VERSION,
            commitment: commitment(session_id, &pake).as_ref().to_vec(),
        };
        (Self { spake, pake }, commit)
    }

    /// Takes the agent's reply; returns the viewer's reveal (its SPAKE2 message and key
    /// confirmation) to send.
    pub fn on_reply(self, reply: Handshake) -> Result<(ViewerConfirming, Handshake), E2eError> {
        let pake = match reply {
            Handshake::Reply { pake } => pake,
            other => return Err(unexpected("the agent's reply", other)),
        };
        let secret = self
            .spake
            .finish(&pake)
            .map_err(|_| E2eError::BadKeyExchange)?;
        let keys = SessionKeys::from_shared_secret(&secret);
        let reveal = Handshake::Reveal {
            pake: self.pake,
            mac: keys.confirmation(Role::Viewer).as_ref().to_vec(),
        };
        Ok((ViewerConfirming { keys }, reveal))
    }
}

/// The viewer has revealed its message, confirmed its key, and awaits the agent's
/// confirmation. Anything else (a second reply included) ends the handshake: a party in the
/// middle gets one reply per session.
pub struct ViewerConfirming {
    keys: SessionKeys,
}

impl ViewerConfirming {
    /// Verifies the agent's confirmation; the stream is then established. Anything but a
    /// confirmation or an abort is [`E2eError::NotConfirmed`].
    pub fn on_confirm(self, confirm: Handshake) -> Result<Established, E2eError> {
        let mac = match confirm {
            Handshake::Confirm { mac } => mac,
            Handshake::Abort { reason } => return Err(E2eError::Aborted(reason)),
            other => {
                return Err(E2eError::NotConfirmed {
                    got: describe(&other),
                })
            }
        };
        if !self.keys.verify_confirmation(Role::Agent, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        Ok(Established::new(&self.keys, Role::Viewer, Role::Agent))
    }
}

/// The agent's side: it answers a viewer's [`Handshake::Commit`].
pub struct AgentHandshake;

impl AgentHandshake {
    /// Answers the viewer's commitment for the agent's `code` in relay session `session_id`;
    /// returns the reply to send.
    pub fn respond<R: RngCore + CryptoRng>(
        code: SessionCode,
        session_id: u64,
        commit: Handshake,
        rng: &mut R,
    ) -> Result<(AgentConfirming, Handshake), E2eError> {
        let commitment = match commit {
            Handshake::Commit {
                version,
                commitment,
            } if version == PROTOCOL_VERSION => commitment,
            Handshake::Commit { version, .. } => {
                return Err(E2eError::VersionMismatch {
                    peer: version,
                    ours: PROTOCOL_VERSION,
                })
            }
            other => return Err(unexpected("the viewer's commitment", other)),
        };
        let commitment: [u8; COMMITMENT_LEN] = commitment
            .try_into()
            .map_err(|_| E2eError::BadKeyExchange)?;
        let (viewer, agent) = identities(session_id);
        let (spake, pake) =
            Spake2::<Ed25519Group>::start_b_with_rng(&password(code), &viewer, &agent, rng);
        let awaiting = AgentConfirming {
            spake,
            session_id,
            commitment,
        };
        Ok((awaiting, Handshake::Reply { pake }))
    }
}

/// The agent has replied and awaits the viewer's reveal and confirmation. Any outcome other
/// than a valid confirmation (a message that is not the one committed to, a wrong MAC, an
/// abort, a closed stream) must burn the code: it may have been an attacker's one guess.
pub struct AgentConfirming {
    spake: Spake2<Ed25519Group>,
    session_id: u64,
    commitment: [u8; COMMITMENT_LEN],
}

impl AgentConfirming {
    /// Checks the viewer's revealed message against its commitment, then its key
    /// confirmation; returns the established stream and the agent's confirmation to send.
    pub fn on_confirm(self, reveal: Handshake) -> Result<(Established, Handshake), E2eError> {
        let (pake, mac) = match reveal {
            Handshake::Reveal { pake, mac } => (pake, mac),
            other => {
                return Err(unexpected(
                    "the viewer's reveal and key confirmation",
                    other,
                ))
            }
        };
        let revealed = commitment(self.session_id, &pake);
        // The values are public; constant time keeps the check free of any doubt anyway.
        if !bool::from(revealed.as_ref().ct_eq(&self.commitment)) {
            return Err(E2eError::CommitmentMismatch);
        }
        let secret = self
            .spake
            .finish(&pake)
            .map_err(|_| E2eError::BadKeyExchange)?;
        let keys = SessionKeys::from_shared_secret(&secret);
        if !keys.verify_confirmation(Role::Viewer, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        let reply = Handshake::Confirm {
            mac: keys.confirmation(Role::Agent).as_ref().to_vec(),
        };
        Ok((Established::new(&keys, Role::Agent, Role::Viewer), reply))
    }
}

/// Bytes of a commitment (SHA-256).
const COMMITMENT_LEN: usize = 32;

/// The viewer's commitment to its SPAKE2 message `pake` in relay session `session_id`.
fn commitment(session_id: u64, pake: &[u8]) -> digest::Digest {
    let mut hash = digest::Context::new(&digest::SHA256);
    for field in [COMMITMENT_DOMAIN, &session_id.to_be_bytes(), pake] {
        hash.update(&(field.len() as u64).to_be_bytes());
        hash.update(field);
    }
    hash.finish()
}

fn password(code: SessionCode) -> Password {
    Password::new(code.password())
}

fn identities(session_id: u64) -> (Identity, Identity) {
    (
        Identity::new(format!("tether/1 viewer, relay session {session_id}").as_bytes()),
        Identity::new(format!("tether/1 agent, relay session {session_id}").as_bytes()),
    )
}

pub(crate) fn unexpected(expected: &'static str, got: Handshake) -> E2eError {
    match got {
        Handshake::Abort { reason } => E2eError::Aborted(reason),
        other => E2eError::Unexpected {
            expected,
            got: describe(&other),
        },
    }
}

/// What a handshake message is, in words for an error.
fn describe(message: &Handshake) -> &'static str {
    match message {
        Handshake::Commit { .. } => "a commitment",
        Handshake::Reply { .. } => "a reply",
        Handshake::Reveal { .. } => "a reveal",
        Handshake::Confirm { .. } => "a key confirmation",
        Handshake::Abort { .. } => "an abort",
        Handshake::TechnicianStart { .. } => "a technician's start",
        Handshake::MachineReply { .. } => "a machine's reply",
        Handshake::TechnicianProof { .. } => "a technician's proof",
        Handshake::Resume { .. } => "a resume request",
        Handshake::Resumed { .. } => "an answer to a resume request",
    }
}
