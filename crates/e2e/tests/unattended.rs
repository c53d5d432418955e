//! The unattended handshake between a technician and an enrolled machine, honest and attacked,
//! without any IO. The technician's "certificate" here is a stand-in (an ed25519 key with a
//! name); the real CA checks are tested where they live (`tether-certs`, and end to end).

use std::time::{Duration, SystemTime};

use tether_e2e::{
    unattended::{
        MachineHandshake, Technician, TechnicianAuthority, TechnicianHandshake, TechnicianKey,
    },
    E2eError, Established, MachineKey, Opened,
};
use tether_proto::secure::{AbortReason, Handshake};

const SESSION: u64 = 7;
const ED25519_SCHEME: u16 = 0x0807;

/// A technician whose chain is its name and whose key is an ed25519 key.
struct FakeTechnician {
    name: String,
    key: MachineKey,
}

impl FakeTechnician {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            key: MachineKey::generate().unwrap().0,
        }
    }
}

impl TechnicianKey for FakeTechnician {
    fn chain(&self) -> Vec<Vec<u8>> {
        let mut cert = self.name.as_bytes().to_vec();
        cert.extend_from_slice(&self.key.public_key());
        vec![cert]
    }

    fn sign(&self, message: &[u8]) -> Result<(u16, Vec<u8>), String> {
        Ok((ED25519_SCHEME, self.key.sign(message)))
    }
}

/// Accepts chains of the form name ‖ key for the names it knows, checking the signature; every
/// technician is an admin, and the machine serves the roles in `accepts`.
struct FakeAuthority {
    known: Vec<String>,
    accepts: Vec<String>,
}

impl TechnicianAuthority for FakeAuthority {
    fn verify(
        &self,
        chain: &[Vec<u8>],
        scheme: u16,
        message: &[u8],
        signature: &[u8],
    ) -> Result<Technician, String> {
        let cert = chain.first().ok_or("empty chain")?;
        let split = cert.len().checked_sub(32).ok_or("short certificate")?;
        let name = String::from_utf8(cert[..split].to_vec()).map_err(|e| e.to_string())?;
        if !self.known.contains(&name) {
            return Err(format!("{name} is not from our CA"));
        }
        let key: [u8; 32] = cert[split..].try_into().map_err(|_| "bad key")?;
        if scheme != ED25519_SCHEME
            || !tether_e2e::verify_machine_signature(&key, message, signature)
        {
            return Err("bad signature".to_owned());
        }
        Ok(Technician {
            name,
            role: "admin".to_owned(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            chain: chain.to_vec(),
        })
    }

    fn accepts_role(&self, role: &str) -> bool {
        self.accepts.iter().any(|accepted| accepted == role)
    }
}

fn authority() -> FakeAuthority {
    FakeAuthority {
        known: vec!["alice".to_owned()],
        accepts: vec!["admin".to_owned()],
    }
}

/// Runs the handshake; `tamper` may rewrite each message in flight (the relay's position).
fn run(
    technician: &FakeTechnician,
    expected_machine_key: [u8; 32],
    machine: &MachineKey,
    tamper: impl FnMut(Handshake) -> Handshake,
) -> Result<(Established, Established, Technician), E2eError> {
    run_with(
        &authority(),
        technician,
        expected_machine_key,
        machine,
        tamper,
    )
}

/// [`run`] with the machine judging technicians by `authority`.
fn run_with(
    authority: &FakeAuthority,
    technician: &FakeTechnician,
    expected_machine_key: [u8; 32],
    machine: &MachineKey,
    mut tamper: impl FnMut(Handshake) -> Handshake,
) -> Result<(Established, Established, Technician), E2eError> {
    let (viewer, start) = TechnicianHandshake::start(technician, expected_machine_key, SESSION)?;
    let (agent, reply) = MachineHandshake::respond(machine, SESSION, tamper(start))?;
    let (viewer, proof) = viewer.on_reply(technician, tamper(reply))?;
    let (agent, verified, confirm) = agent.on_proof(authority, tamper(proof))?;
    let viewer = viewer.on_confirm(tamper(confirm))?;
    Ok((viewer, agent, verified))
}

#[test]
fn an_honest_handshake_gives_both_sides_the_same_keys_and_names_the_technician() {
    let machine = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    let (mut viewer, mut agent, verified) =
        run(&alice, machine.public_key(), &machine, |m| m).unwrap();
    assert_eq!(verified.name, "alice");
    assert_eq!(viewer.sas, agent.sas);
    let record = viewer.sealer.seal(b"ls -l\n").unwrap();
    assert_eq!(
        agent.opener.open(record).unwrap(),
        Opened::Data(b"ls -l\n".to_vec())
    );
    let record = agent.sealer.seal(b"total 0").unwrap();
    assert_eq!(
        viewer.opener.open(record).unwrap(),
        Opened::Data(b"total 0".to_vec())
    );
}

#[test]
fn a_machine_answering_with_another_key_is_refused_by_the_viewer() {
    let enrolled = MachineKey::generate().unwrap().0;
    let impostor = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    let result = run(&alice, enrolled.public_key(), &impostor, |m| m);
    assert_eq!(result.err(), Some(E2eError::MachineKeyMismatch));
}

#[test]
fn a_technician_the_ca_does_not_know_is_refused_by_the_machine() {
    let machine = MachineKey::generate().unwrap().0;
    let mallory = FakeTechnician::new("mallory");
    let result = run(&mallory, machine.public_key(), &machine, |m| m);
    let error = result.err().unwrap();
    assert!(
        matches!(&error, E2eError::TechnicianRejected(reason) if reason.contains("not from our CA")),
        "{error}"
    );
    assert_eq!(error.abort_reason(), Some(AbortReason::IdentityRejected));
}

#[test]
fn a_machine_refuses_a_valid_technician_of_a_role_it_does_not_accept_and_says_so() {
    let machine = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    let support_only = FakeAuthority {
        known: vec!["alice".to_owned()],
        accepts: vec!["support".to_owned()],
    };
    let (viewer, start) =
        TechnicianHandshake::start(&alice, machine.public_key(), SESSION).unwrap();
    let (agent, reply) = MachineHandshake::respond(&machine, SESSION, start).unwrap();
    let (viewer, proof) = viewer.on_reply(&alice, reply).unwrap();
    let error = agent.on_proof(&support_only, proof).err().unwrap();
    assert_eq!(
        error,
        E2eError::RoleNotAccepted {
            role: "admin".to_owned()
        }
    );
    // The machine aborts with that reason rather than confirming, and the viewer reads it.
    let reason = error.abort_reason().unwrap();
    assert_eq!(reason, AbortReason::RoleNotAccepted);
    assert_eq!(
        viewer.on_confirm(Handshake::Abort { reason }).err(),
        Some(E2eError::Aborted(AbortReason::RoleNotAccepted))
    );
    // The same technician is served where its role is accepted.
    let admins = authority();
    assert!(run_with(&admins, &alice, machine.public_key(), &machine, |m| m).is_ok());
}

#[test]
fn a_relay_swapping_in_its_own_ephemeral_keys_is_caught() {
    let machine = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    let relay_key = MachineKey::generate().unwrap().0.public_key().to_vec();
    // The viewer's key replaced on the way to the machine: the machine signs a transcript the
    // viewer never saw.
    let result = run(&alice, machine.public_key(), &machine, |m| match m {
        Handshake::TechnicianStart { version, chain, .. } => Handshake::TechnicianStart {
            version,
            chain,
            ephemeral: relay_key.clone(),
        },
        other => other,
    });
    assert_eq!(result.err(), Some(E2eError::MachineKeyMismatch));
    // The machine's key replaced on the way back: its signature no longer covers it.
    let result = run(&alice, machine.public_key(), &machine, |m| match m {
        Handshake::MachineReply { signature, .. } => Handshake::MachineReply {
            ephemeral: relay_key.clone(),
            signature,
        },
        other => other,
    });
    assert_eq!(result.err(), Some(E2eError::MachineKeyMismatch));
}

#[test]
fn a_technician_proof_from_another_session_does_not_verify() {
    let machine = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    // Record alice's proof in one session...
    let (viewer, start) = TechnicianHandshake::start(&alice, machine.public_key(), 1).unwrap();
    let (_, reply) = MachineHandshake::respond(&machine, 1, start.clone()).unwrap();
    let (_, old_proof) = viewer.on_reply(&alice, reply).unwrap();
    // ...and replay her start and proof into a new one.
    let (agent, _) = MachineHandshake::respond(&machine, 1, start).unwrap();
    let error = agent.on_proof(&authority(), old_proof).err().unwrap();
    assert!(
        matches!(&error, E2eError::TechnicianRejected(reason) if reason.contains("bad signature")),
        "{error}"
    );
}

#[test]
fn a_forged_confirmation_is_refused_and_oversized_chains_are_rejected() {
    let machine = MachineKey::generate().unwrap().0;
    let alice = FakeTechnician::new("alice");
    let result = run(&alice, machine.public_key(), &machine, |m| match m {
        Handshake::Confirm { mut mac } => {
            mac[0] ^= 1;
            Handshake::Confirm { mac }
        }
        other => other,
    });
    assert_eq!(result.err(), Some(E2eError::ConfirmationFailed));

    let (_, start) = TechnicianHandshake::start(&alice, machine.public_key(), SESSION).unwrap();
    let Handshake::TechnicianStart {
        version,
        chain,
        ephemeral,
    } = start
    else {
        panic!("a start");
    };
    let long = Handshake::TechnicianStart {
        version,
        chain: std::iter::repeat_n(chain[0].clone(), 5).collect(),
        ephemeral,
    };
    assert!(matches!(
        MachineHandshake::respond(&machine, SESSION, long),
        Err(E2eError::TechnicianRejected(_))
    ));
}
