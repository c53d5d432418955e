//! The handshake of a session with an enrolled machine, where nobody reads out a code: the
//! technician's certificate and the machine's enrolled key authenticate an ephemeral X25519
//! exchange, so the relay (which pairs the two) can neither read nor take over the session.
//!
//! ```text
//! viewer (technician)                             agent (machine)
//! TechnicianHandshake::start ─ TechnicianStart ─▶ MachineHandshake::respond
//!                  on_reply ◀── MachineReply ───── (signed by the machine key)
//! TechnicianConfirming ────── TechnicianProof ──▶ on_proof (certificate checked against the CA,
//!                                                  then its role against the machine's)
//!                on_confirm ◀───── Confirm ─────── Established
//! Established
//! ```
//!
//! Both signatures cover a transcript hash of the session id, the technician's chain, both
//! ephemeral keys and the machine key; the technician's also covers the machine's signature.
//! The session keys come from the X25519 secret and that transcript, through the same key
//! schedule as attended sessions. Certificate checks are the caller's (through
//! [`TechnicianAuthority`]), so this module stays free of clocks and files.
//!
//! A machine serves only the roles its enrollment named ([`TechnicianAuthority::accepts_role`]):
//! the relay's access policy decides who may open a session, and the machine checks the role
//! the CA signed again, so a relay that lets everyone through still gets no one a shell on a
//! machine that does not accept their role. The check comes after the certificate and its
//! signature, so only a proven role is ever judged, and its refusal is an abort the viewer can
//! explain ([`E2eError::RoleNotAccepted`]).

use std::time::SystemTime;

use ring::{
    agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519},
    digest,
    rand::SystemRandom,
};
use serde_bytes::ByteBuf;
use tether_proto::{secure::Handshake, PROTOCOL_VERSION};

use crate::{
    handshake::unexpected,
    keys::{Role, SessionKeys},
    machine_key::verify_machine_signature,
    E2eError, Established, MachineKey,
};

/// The most certificates a technician's chain may hold.
const MAX_CHAIN: usize = 4;
const MACHINE_SIGNS: &[u8] = b"tether/1 unattended: the machine signs\0";
const TECHNICIAN_SIGNS: &[u8] = b"tether/1 unattended: the technician signs\0";

/// A technician as its verified certificate names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technician {
    /// The certificate's name.
    pub name: String,
    /// The role the certificate grants.
    pub role: String,
    /// When the certificate expires: a session it opened must end then.
    pub expires_at: SystemTime,
    /// The certificate chain it was verified with, end entity first (DER): checked again when
    /// the organisation revokes certificates, since a session it opened must end then too.
    pub chain: Vec<Vec<u8>>,
}

/// The technician's side of its identity: a certificate chain and its private key.
pub trait TechnicianKey {
    /// The certificate chain, end entity first (DER).
    fn chain(&self) -> Vec<Vec<u8>>;
    /// Signs `message`; returns the TLS `SignatureScheme` code used and the signature.
    fn sign(&self, message: &[u8]) -> Result<(u16, Vec<u8>), String>;
}

/// The machine's judge of technicians: the organisation's CA.
pub trait TechnicianAuthority {
    /// Verifies `chain` against the organisation's CA (validity, revocation, kind) and
    /// `signature` by its end entity's key over `message`.
    fn verify(
        &self,
        chain: &[Vec<u8>],
        scheme: u16,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Technician, String>;

    /// Whether this machine serves technicians of `role` (a role already verified).
    fn accepts_role(&self, role: &str) -> bool;
}

/// The viewer's first step: it has sent [`Handshake::TechnicianStart`].
pub struct TechnicianHandshake {
    ephemeral: EphemeralPrivateKey,
    transcript: Transcript,
}

impl TechnicianHandshake {
    /// Starts a session with the machine whose enrolled (and CA-endorsed) key is
    /// `machine_key`, in relay session `session_id`; send the returned message.
    pub fn start(
        key: &dyn TechnicianKey,
        machine_key: [u8; 32],
        session_id: u64,
    ) -> Result<(Self, Handshake), E2eError> {
        let (ephemeral, public) = ephemeral_key()?;
        let chain = key.chain();
        let transcript = Transcript {
            session_id,
            chain: chain.clone(),
            viewer_ephemeral: public.clone(),
            machine_key,
        };
        let start = Handshake::TechnicianStart {
            version: PROTOCOL_VERSION,
            chain: chain.into_iter().map(ByteBuf::from).collect(),
            ephemeral: public,
        };
        Ok((
            Self {
                ephemeral,
                transcript,
            },
            start,
        ))
    }

    /// Checks the machine's signed reply; returns the technician's proof to send.
    pub fn on_reply(
        self,
        key: &dyn TechnicianKey,
        reply: Handshake,
    ) -> Result<(TechnicianConfirming, Handshake), E2eError> {
        let (agent_ephemeral, machine_signature) = match reply {
            Handshake::MachineReply {
                ephemeral,
                signature,
            } => (ephemeral, signature),
            other => return Err(unexpected("the machine's reply", other)),
        };
        let first = self.transcript.first(&agent_ephemeral);
        let signed = [MACHINE_SIGNS, first.as_ref()].concat();
        if !verify_machine_signature(&self.transcript.machine_key, &signed, &machine_signature) {
            return Err(E2eError::MachineKeyMismatch);
        }
        let second = Transcript::second(&first, &machine_signature);
        let (scheme, signature) = key
            .sign(&[TECHNICIAN_SIGNS, second.as_ref()].concat())
            .map_err(E2eError::SigningFailed)?;
        let keys = session_keys(self.ephemeral, &agent_ephemeral, &second)?;
        let proof = Handshake::TechnicianProof { scheme, signature };
        Ok((TechnicianConfirming { keys }, proof))
    }
}

/// The viewer has proven the technician's identity and awaits the machine's confirmation.
pub struct TechnicianConfirming {
    keys: SessionKeys,
}

impl TechnicianConfirming {
    /// Verifies the machine's key confirmation; the stream is then established.
    pub fn on_confirm(self, confirm: Handshake) -> Result<Established, E2eError> {
        let mac = match confirm {
            Handshake::Confirm { mac } => mac,
            other => return Err(unexpected("the machine's key confirmation", other)),
        };
        if !self.keys.verify_confirmation(Role::Agent, &mac) {
            return Err(E2eError::ConfirmationFailed);
        }
        Ok(Established::new(&self.keys, Role::Viewer, Role::Agent))
    }
}

/// The agent's side of a session with a technician.
pub struct MachineHandshake;

impl MachineHandshake {
    /// Answers a technician's start in relay session `session_id`, signing with the machine
    /// key; returns the reply to send.
    pub fn respond(
        machine: &MachineKey,
        session_id: u64,
        start: Handshake,
    ) -> Result<(MachineAwaitingProof, Handshake), E2eError> {
        let (chain, viewer_ephemeral) = match start {
            Handshake::TechnicianStart {
                version,
                chain,
                ephemeral,
            } if version == PROTOCOL_VERSION => (chain, ephemeral),
            Handshake::TechnicianStart { version, .. } => {
                return Err(E2eError::VersionMismatch {
                    peer: version,
                    ours: PROTOCOL_VERSION,
                })
            }
            other => return Err(unexpected("the technician's start", other)),
        };
        if chain.is_empty() || chain.len() > MAX_CHAIN {
            return Err(E2eError::TechnicianRejected(format!(
                "a certificate chain of {} certificates (expected 1 to {MAX_CHAIN})",
                chain.len()
            )));
        }
        let (ephemeral, public) = ephemeral_key()?;
        let transcript = Transcript {
            session_id,
            chain: chain.into_iter().map(ByteBuf::into_vec).collect(),
            viewer_ephemeral,
            machine_key: machine.public_key(),
        };
        let first = transcript.first(&public);
        let signature = machine.sign(&[MACHINE_SIGNS, first.as_ref()].concat());
        let second = Transcript::second(&first, &signature);
        let keys = session_keys(ephemeral, &transcript.viewer_ephemeral, &second)?;
        let reply = Handshake::MachineReply {
            ephemeral: public,
            signature,
        };
        Ok((
            MachineAwaitingProof {
                chain: transcript.chain,
                second,
                keys,
            },
            reply,
        ))
    }
}

/// The agent has replied and awaits the technician's proof.
pub struct MachineAwaitingProof {
    chain: Vec<Vec<u8>>,
    second: digest::Digest,
    keys: SessionKeys,
}

impl MachineAwaitingProof {
    /// Verifies the technician's certificate (through `authority`) and its signature over the
    /// transcript, then that the machine accepts its role; returns the established stream, the verified technician, and the agent's
    /// key confirmation to send.
    pub fn on_proof(
        self,
        authority: &dyn TechnicianAuthority,
        proof: Handshake,
    ) -> Result<(Established, Technician, Handshake), E2eError> {
        let (scheme, signature) = match proof {
            Handshake::TechnicianProof { scheme, signature } => (scheme, signature),
            other => return Err(unexpected("the technician's proof", other)),
        };
        let signed = [TECHNICIAN_SIGNS, self.second.as_ref()].concat();
        let technician = authority
            .verify(&self.chain, scheme, &signed, &signature)
            .map_err(E2eError::TechnicianRejected)?;
        if !authority.accepts_role(&technician.role) {
            return Err(E2eError::RoleNotAccepted {
                role: technician.role,
            });
        }
        let confirm = Handshake::Confirm {
            mac: self.keys.confirmation(Role::Agent).as_ref().to_vec(),
        };
        Ok((
            Established::new(&self.keys, Role::Agent, Role::Viewer),
            technician,
            confirm,
        ))
    }
}

/// Everything both signatures bind.
struct Transcript {
    session_id: u64,
    chain: Vec<Vec<u8>>,
    viewer_ephemeral: Vec<u8>,
    machine_key: [u8; 32],
}

impl Transcript {
    /// The hash the machine signs, once the agent's ephemeral key is known.
    fn first(&self, agent_ephemeral: &[u8]) -> digest::Digest {
        let mut hash = digest::Context::new(&digest::SHA256);
        let mut field = |bytes: &[u8]| {
            hash.update(&(bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"tether/1 unattended transcript");
        field(&self.session_id.to_be_bytes());
        field(&(self.chain.len() as u64).to_be_bytes());
        for cert in &self.chain {
            field(cert);
        }
        field(&self.viewer_ephemeral);
        field(agent_ephemeral);
        field(&self.machine_key);
        hash.finish()
    }

    /// The hash the technician signs and the keys bind: the first one and the machine's
    /// signature over it.
    fn second(first: &digest::Digest, machine_signature: &[u8]) -> digest::Digest {
        let mut hash = digest::Context::new(&digest::SHA256);
        hash.update(first.as_ref());
        hash.update(machine_signature);
        hash.finish()
    }
}

fn ephemeral_key() -> Result<(EphemeralPrivateKey, Vec<u8>), E2eError> {
    let private = EphemeralPrivateKey::generate(&X25519, &SystemRandom::new())
        .map_err(|_| E2eError::BadEphemeralKey)?;
    let public = private
        .compute_public_key()
        .map_err(|_| E2eError::BadEphemeralKey)?;
    Ok((private, public.as_ref().to_vec()))
}

/// The session keys: from the X25519 secret and the transcript.
fn session_keys(
    private: EphemeralPrivateKey,
    peer: &[u8],
    transcript: &digest::Digest,
) -> Result<SessionKeys, E2eError> {
    agreement::agree_ephemeral(private, &UnparsedPublicKey::new(&X25519, peer), |secret| {
        SessionKeys::from_shared_secret(&[secret, transcript.as_ref()].concat())
    })
    .map_err(|_| E2eError::BadEphemeralKey)
}
