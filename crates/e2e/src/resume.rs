//! Taking a suspended session back on a new stream, as typestate machines, one per role.
//!
//! ```text
//! viewer                                       agent
//! ViewerResuming::start ── Resume ──────────▶ AgentResumption::respond
//!          on_resumed ◀─── Resumed ────────── AgentResuming
//! Established ──────────── Confirm ─────────▶ on_confirm
//!                                             Established
//! ```
//!
//! Both ends derive a [`ResumptionSecret`] when a session stream is established; the relay
//! never sees it. The viewer proves it holds the secret with a MAC over the session id and a
//! fresh nonce; the agent answers with its own nonce, and both derive new record keys (and the
//! next secret) from the secret, the session id and both nonces, each confirming the new key.
//! So the relay, which holds only its own resume ticket, can neither take a session over nor
//! read it, and the agent's nonce makes every resumed stream's keys new.
//!
//! Each secret resumes at most once: once the viewer confirms, both ends hold only the next
//! one, so an earlier resume request (replayed by anyone) fails. Until then the agent also
//! accepts the secret it offered, because the viewer may have lost the stream before it saw
//! the agent's answer (it then still holds the previous secret) or after (the new one).

use rand::{CryptoRng, RngCore};
use ring::hmac;
use tether_proto::{secure::Handshake, PROTOCOL_VERSION};

use crate::{
    handshake::unexpected,
    keys::{ResumptionSecret, Role, SessionKeys, NONCE_LEN},
    E2eError, Established,
};

/// What a resume request's MAC covers: the session and the viewer's nonce.
fn request_message(session_id: u64, nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    [
        b"tether/1 resume\0".as_slice(),
        &session_id.to_be_bytes(),
        nonce,
    ]
    .concat()
}

fn fresh_nonce<R: RngCore + CryptoRng>(rng: &mut R) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    nonce
}

fn nonce_of(bytes: &[u8]) -> Result<[u8; NONCE_LEN], E2eError> {
    bytes.try_into().map_err(|_| E2eError::BadKeyExchange)
}

/// The viewer has asked to resume and awaits the agent's answer.
pub struct ViewerResuming {
    secret: ResumptionSecret,
    session_id: u64,
    nonce: [u8; NONCE_LEN],
}

impl ViewerResuming {
    /// Asks to resume relay session `session_id` with the viewer's latest `secret`; send the
    /// returned message first on the new stream. The viewer keeps `secret` until the resume
    /// succeeds, and then replaces it with the established stream's.
    pub fn start<R: RngCore + CryptoRng>(
        secret: &ResumptionSecret,
        session_id: u64,
        rng: &mut R,
    ) -> (Self, Handshake) {
        let nonce = fresh_nonce(rng);
        let mac = hmac::sign(&secret.request_key(), &request_message(session_id, &nonce));
        let resume = Handshake::Resume {
            version: PROTOCOL_VERSION,
            nonce: nonce.to_vec(),
            mac: mac.as_ref().to_vec(),
        };
        let resuming = Self {
            secret: ResumptionSecret::new(*secret.bytes()),
            session_id,
            nonce,
        };
        (resuming, resume)
    }

    /// Verifies the agent's answer; returns the established stream and the viewer's key
    /// confirmation to send.
    pub fn on_resumed(self, resumed: Handshake) -> Result<(Established, Handshake), E2eError> {
        let (nonce, mac) = match resumed {
            Handshake::Resumed { nonce, mac } => (nonce, mac),
            other => return Err(unexpected("the agent's answer to the resume", other)),
        };
        let keys = SessionKeys::resumed(
            &self.secret,
            self.session_id,
            &self.nonce,
            &nonce_of(&nonce)?,
        );
        if !keys.verify_confirmation(Role::Agent, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        let confirm = Handshake::Confirm {
            mac: keys.confirmation(Role::Viewer).as_ref().to_vec(),
        };
        Ok((Established::new(&keys, Role::Viewer, Role::Agent), confirm))
    }
}

/// What the agent accepts a resume request under: the secret both ends confirmed last, and
/// the one it offered since (until the viewer confirms it).
pub struct AgentResumption {
    confirmed: ResumptionSecret,
    offered: Option<ResumptionSecret>,
}

impl AgentResumption {
    /// Starts from an established stream's secret.
    pub fn new(secret: ResumptionSecret) -> Self {
        Self {
            confirmed: secret,
            offered: None,
        }
    }

    /// Answers the viewer's resume request for relay session `session_id`; returns the answer
    /// to send. A request no secret here verifies is [`E2eError::ResumeRejected`]: it was
    /// forged or replayed, and the session must end. A stream that breaks after this call
    /// leaves `self` ready for the viewer's next attempt.
    pub fn respond<R: RngCore + CryptoRng>(
        &mut self,
        session_id: u64,
        resume: Handshake,
        rng: &mut R,
    ) -> Result<(AgentResuming, Handshake), E2eError> {
        let (nonce, mac) = match resume {
            Handshake::Resume {
                version,
                nonce,
                mac,
            } if version == PROTOCOL_VERSION => (nonce, mac),
            Handshake::Resume { version, .. } => {
                return Err(E2eError::VersionMismatch {
                    peer: version,
                    ours: PROTOCOL_VERSION,
                })
            }
            other => return Err(unexpected("the viewer's resume request", other)),
        };
        let viewer_nonce = nonce_of(&nonce)?;
        let message = request_message(session_id, &viewer_nonce);
        let verifies =
            |secret: &ResumptionSecret| hmac::verify(&secret.request_key(), &message, &mac).is_ok();
        if let Some(offered) = self.offered.take_if(|offered| verifies(offered)) {
            // The viewer saw the last answer, so it holds the secret offered there.
            self.confirmed = offered;
        } else if !verifies(&self.confirmed) {
            return Err(E2eError::ResumeRejected);
        }
        let agent_nonce = fresh_nonce(rng);
        let keys = SessionKeys::resumed(&self.confirmed, session_id, &viewer_nonce, &agent_nonce);
        self.offered = Some(keys.resumption_secret());
        let resumed = Handshake::Resumed {
            nonce: agent_nonce.to_vec(),
            mac: keys.confirmation(Role::Agent).as_ref().to_vec(),
        };
        Ok((AgentResuming { keys }, resumed))
    }
}

/// The agent has answered a resume request and awaits the viewer's confirmation.
pub struct AgentResuming {
    keys: SessionKeys,
}

impl AgentResuming {
    /// Verifies the viewer's confirmation; the stream is then established. Its `resumption`
    /// secret is the only one a later resume may use: start a new [`AgentResumption`] from it.
    pub fn on_confirm(self, confirm: Handshake) -> Result<Established, E2eError> {
        let mac = match confirm {
            Handshake::Confirm { mac } => mac,
            other => return Err(unexpected("the viewer's key confirmation", other)),
        };
        if !self.keys.verify_confirmation(Role::Viewer, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        Ok(Established::new(&self.keys, Role::Agent, Role::Viewer))
    }
}
