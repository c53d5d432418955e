//! The SPAKE2 handshake as typestate machines, one per role.
//!
//! ```text
//! viewer                                  agent
//! ViewerHandshake::start ── Start ──────▶ AgentHandshake::respond
//!          on_reply ◀─────── Reply ────── AgentConfirming
//! ViewerConfirming ──────── Confirm ────▶ on_confirm  (wrong: the agent burns the code)
//!        on_confirm ◀────── Confirm ───── Established
//! Established
//! ```
//!
//! Both SPAKE2 identities name the role and the relay's session id, so a key exchanged for
//! one session or role is useless for another. The viewer proves the key first; the agent
//! reveals nothing keyed until the viewer has.

use rand::{CryptoRng, RngCore};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use tether_proto::{secure::Handshake, SessionCode, PROTOCOL_VERSION};

use crate::{
    keys::{Role, SessionKeys},
    E2eError, Opener, ResumptionSecret, Sealer, ShortAuthString,
};

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

/// The viewer's first step: it has sent [`Handshake::Start`] and awaits the agent's reply.
pub struct ViewerHandshake {
    spake: Spake2<Ed25519Group>,
}

impl ViewerHandshake {
    /// Starts the exchange for `code` in relay session `session_id`; send the returned message.
    pub fn start<R: RngCore + CryptoRng>(
        code: SessionCode,
        session_id: u64,
        rng: &mut R,
    ) -> (Self, Handshake) {
        let (viewer, agent) = identities(session_id);
        let (spake, pake) =
            Spake2::<Ed25519Group>::start_a_with_rng(&password(code), &viewer, &agent, rng);
        let start = Handshake::Start {
            version: PROTOCOL_VERSION,
            pake,
        };
        (Self { spake }, start)
    }

    /// Takes the agent's reply; returns the viewer's confirmation to send.
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
        let confirm = Handshake::Confirm {
            mac: keys.confirmation(Role::Viewer).as_ref().to_vec(),
        };
        Ok((ViewerConfirming { keys }, confirm))
    }
}

/// The viewer has confirmed its key and awaits the agent's confirmation.
pub struct ViewerConfirming {
    keys: SessionKeys,
}

impl ViewerConfirming {
    /// Verifies the agent's confirmation; the stream is then established.
    pub fn on_confirm(self, confirm: Handshake) -> Result<Established, E2eError> {
        let mac = match confirm {
            Handshake::Confirm { mac } => mac,
            other => return Err(unexpected("the agent's key confirmation", other)),
        };
        if !self.keys.verify_confirmation(Role::Agent, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        Ok(Established::new(&self.keys, Role::Viewer, Role::Agent))
    }
}

/// The agent's side: it answers a viewer's [`Handshake::Start`].
pub struct AgentHandshake;

impl AgentHandshake {
    /// Answers the viewer's start for the agent's `code` in relay session `session_id`;
    /// returns the reply to send.
    pub fn respond<R: RngCore + CryptoRng>(
        code: SessionCode,
        session_id: u64,
        start: Handshake,
        rng: &mut R,
    ) -> Result<(AgentConfirming, Handshake), E2eError> {
        let viewer_pake = match start {
            Handshake::Start { version, pake } if version == PROTOCOL_VERSION => pake,
            Handshake::Start { version, .. } => {
                return Err(E2eError::VersionMismatch {
                    peer: version,
                    ours: PROTOCOL_VERSION,
                })
            }
            other => return Err(unexpected("the viewer's start", other)),
        };
        let (viewer, agent) = identities(session_id);
        let (spake, pake) =
            Spake2::<Ed25519Group>::start_b_with_rng(&password(code), &viewer, &agent, rng);
        let secret = spake
            .finish(&viewer_pake)
            .map_err(|_| E2eError::BadKeyExchange)?;
        let keys = SessionKeys::from_shared_secret(&secret);
        Ok((AgentConfirming { keys }, Handshake::Reply { pake }))
    }
}

/// The agent has replied and awaits the viewer's confirmation. Any outcome other than a valid
/// confirmation (a wrong MAC, an abort, a closed stream) must burn the code: it may have been
/// an attacker's one guess.
pub struct AgentConfirming {
    keys: SessionKeys,
}

impl AgentConfirming {
    /// Verifies the viewer's confirmation; returns the established stream and the agent's
    /// confirmation to send.
    pub fn on_confirm(self, confirm: Handshake) -> Result<(Established, Handshake), E2eError> {
        let mac = match confirm {
            Handshake::Confirm { mac } => mac,
            other => return Err(unexpected("the viewer's key confirmation", other)),
        };
        if !self.keys.verify_confirmation(Role::Viewer, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        let reply = Handshake::Confirm {
            mac: self.keys.confirmation(Role::Agent).as_ref().to_vec(),
        };
        Ok((
            Established::new(&self.keys, Role::Agent, Role::Viewer),
            reply,
        ))
    }
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
            got: match other {
                Handshake::Start { .. } => "a start",
                Handshake::Reply { .. } => "a reply",
                Handshake::Confirm { .. } => "a key confirmation",
                Handshake::Abort { .. } => "an abort",
                Handshake::TechnicianStart { .. } => "a technician's start",
                Handshake::MachineReply { .. } => "a machine's reply",
                Handshake::TechnicianProof { .. } => "a technician's proof",
                Handshake::Resume { .. } => "a resume request",
                Handshake::Resumed { .. } => "an answer to a resume request",
            },
        },
    }
}
