//! Feeds a hostile message to each step of the end-to-end state machines where that step takes
//! the peer's word: the attended (code) and unattended (certificate) handshakes on both sides,
//! resumption on both sides, and the records that follow. Honest messages lead up to the step
//! under attack, so it runs in its real state. Any message may be refused and none may panic;
//! where the step checks a commitment, a key confirmation, a MAC or a signature, a forged
//! message must be refused. The attended handshake's commitment is attacked whole (any
//! message as the reveal) and by its key confirmation alone (the honest message revealed with
//! the input as its MAC).
//!
//! Run from `crates/e2e`: `RUSTC_BOOTSTRAP=1 cargo fuzz run handshake`.

#![no_main]

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use libfuzzer_sys::fuzz_target;
use rand::{rngs::StdRng, SeedableRng};
use tether_e2e::{
    unattended::{
        MachineAwaitingProof, MachineHandshake, Technician, TechnicianAuthority,
        TechnicianHandshake, TechnicianKey,
    },
    verify_machine_signature, AgentConfirming, AgentHandshake, AgentResumption, Established,
    MachineKey, ViewerHandshake, ViewerResuming,
};
use tether_proto::{secure::Handshake, Nameplate, SessionCode};

const SESSION: u64 = 7;
const ED25519_SCHEME: u16 = 0x0807;

/// The machine's key and a technician's, made once.
struct Keys {
    machine: MachineKey,
    technician: FuzzTechnician,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        machine: MachineKey::generate().expect("machine key").0,
        technician: FuzzTechnician(MachineKey::generate().expect("technician key").0),
    })
}

/// A technician whose "certificate" is its ed25519 public key.
struct FuzzTechnician(MachineKey);

impl TechnicianKey for FuzzTechnician {
    fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.0.public_key().to_vec()]
    }

    fn sign(&self, message: &[u8]) -> Result<(u16, Vec<u8>), String> {
        Ok((ED25519_SCHEME, self.0.sign(message)))
    }
}

/// Accepts a chain that is one ed25519 public key, if the signature is that key's, as an admin,
/// on a machine that serves admins.
struct SignatureAuthority;

impl TechnicianAuthority for SignatureAuthority {
    fn verify(
        &self,
        chain: &[Vec<u8>],
        scheme: u16,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Technician, String> {
        let [certificate] = chain else {
            return Err("not one certificate".into());
        };
        let key: [u8; 32] = certificate.as_slice().try_into().map_err(|_| "not a key")?;
        if scheme != ED25519_SCHEME || !verify_machine_signature(&key, message, signature) {
            return Err("bad signature".into());
        }
        Ok(Technician {
            name: "fuzz".into(),
            role: "admin".into(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            chain: chain.to_vec(),
        })
    }

    fn accepts_role(&self, role: &str) -> bool {
        role == "admin"
    }
}

/// An honest attended handshake up to the agent's reply: the viewer awaiting it, the agent
/// awaiting the viewer's reveal, and the reply.
fn attended_replied(
    code: SessionCode,
    rng: &mut StdRng,
) -> (ViewerHandshake, AgentConfirming, Handshake) {
    let (viewer, commit) = ViewerHandshake::start(code, SESSION, rng);
    let (agent, reply) = AgentHandshake::respond(code, SESSION, commit, rng).expect("commit");
    (viewer, agent, reply)
}

/// The agent takes the viewer's honest revealed message with `mac` as its key confirmation:
/// only the viewer's own MAC may pass.
fn forged_confirmation(mac: &[u8], code: SessionCode, rng: &mut StdRng) {
    let (viewer, agent, reply) = attended_replied(code, rng);
    let (_, reveal) = viewer.on_reply(reply).expect("reply");
    let Handshake::Reveal { pake, mac: honest } = reveal else {
        panic!("the viewer reveals its message");
    };
    let forged = Handshake::Reveal {
        pake,
        mac: mac.to_vec(),
    };
    assert!(
        agent.on_confirm(forged).is_err() || mac == honest.as_slice(),
        "a forged key confirmation"
    );
}

/// An honest attended handshake: the viewer's and the agent's established streams.
fn attended(code: SessionCode, rng: &mut StdRng) -> (Established, Established) {
    let (viewer, agent, reply) = attended_replied(code, rng);
    let (viewer, confirm) = viewer.on_reply(reply).expect("reply");
    let (agent, confirm) = agent.on_confirm(confirm).expect("confirm");
    (viewer.on_confirm(confirm).expect("confirm"), agent)
}

/// The technician's honest start: its handshake awaiting the machine's reply, and the start.
fn technician_started(keys: &Keys) -> (TechnicianHandshake, Handshake) {
    TechnicianHandshake::start(&keys.technician, keys.machine.public_key(), SESSION).expect("start")
}

/// An honest unattended handshake up to the machine's signed reply: the technician awaiting
/// it, the machine awaiting the technician's proof, and the reply.
fn unattended_replied(keys: &Keys) -> (TechnicianHandshake, MachineAwaitingProof, Handshake) {
    let (technician, start) = technician_started(keys);
    let (machine, reply) = MachineHandshake::respond(&keys.machine, SESSION, start).expect("start");
    (technician, machine, reply)
}

/// Opens each record of `data` (a length byte, then that many bytes) on the agent's side of an
/// honest session: none of them is the viewer's, so none may open.
fn records(data: &[u8], code: SessionCode, rng: &mut StdRng) {
    let (_viewer, mut agent) = attended(code, rng);
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (record, tail) = tail.split_at(usize::from(len).min(tail.len()));
        assert!(
            agent.opener.open(record.to_vec()).is_err(),
            "a forged record opened"
        );
        rest = tail;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(u64::from(step));
    let code = SessionCode::generate(Nameplate::generate(&mut rng), &mut rng);
    match step % 12 {
        10 => return forged_confirmation(rest, code, &mut rng),
        11 => return records(rest, code, &mut rng),
        _ => {}
    }
    let Ok(message) = postcard::from_bytes::<Handshake>(rest) else {
        return;
    };
    let keys = keys();
    match step % 12 {
        // The agent takes a viewer's commitment, then its reveal: nothing but the message
        // committed to, with the viewer's MAC, may pass.
        0 => {
            let _ = AgentHandshake::respond(code, SESSION, message, &mut rng);
        }
        1 => {
            let (_, agent, _) = attended_replied(code, &mut rng);
            assert!(agent.on_confirm(message).is_err(), "a forged reveal");
        }
        // The viewer takes an agent's reply, then its key confirmation (a second reply
        // included).
        2 => {
            let (viewer, _) = ViewerHandshake::start(code, SESSION, &mut rng);
            let _ = viewer.on_reply(message);
        }
        3 => {
            let (viewer, _, reply) = attended_replied(code, &mut rng);
            let (viewer, _) = viewer.on_reply(reply).expect("reply");
            assert!(viewer.on_confirm(message).is_err(), "a forged confirmation");
        }
        // The machine takes a technician's start, then its proof.
        4 => {
            let _ = MachineHandshake::respond(&keys.machine, SESSION, message);
        }
        5 => {
            let (_, machine, _) = unattended_replied(keys);
            assert!(
                machine.on_proof(&SignatureAuthority, message).is_err(),
                "a forged proof"
            );
        }
        // The technician takes the machine's signed reply, then its confirmation.
        6 => {
            let (technician, _) = technician_started(keys);
            assert!(
                technician.on_reply(&keys.technician, message).is_err(),
                "a forged machine signature"
            );
        }
        7 => {
            let (technician, _, reply) = unattended_replied(keys);
            let (technician, _) = technician.on_reply(&keys.technician, reply).expect("reply");
            assert!(
                technician.on_confirm(message).is_err(),
                "a forged confirmation"
            );
        }
        // Resumption: the agent takes a resume request, the viewer the agent's answer.
        8 => {
            let (_, agent) = attended(code, &mut rng);
            let mut resumption = AgentResumption::new(agent.resumption);
            assert!(
                resumption.respond(SESSION, message, &mut rng).is_err(),
                "a forged resume request"
            );
        }
        _ => {
            let (viewer, _) = attended(code, &mut rng);
            let (viewer, _) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
            assert!(
                viewer.on_resumed(message).is_err(),
                "a forged resume answer"
            );
        }
    }
});
