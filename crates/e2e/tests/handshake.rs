//! The handshake between a viewer and an agent, honest and attacked, without any IO.

use rand::{rngs::StdRng, SeedableRng};
use tether_e2e::{AgentHandshake, E2eError, Established, ViewerHandshake};
use tether_proto::{
    secure::{AbortReason, Handshake},
    Nameplate, SessionCode,
};

const SESSION: u64 = 42;

fn code(text: &str) -> SessionCode {
    text.parse().unwrap()
}

/// Runs the whole handshake; returns (viewer, agent) or the first side's error.
fn handshake(
    viewer_code: SessionCode,
    agent_code: SessionCode,
    viewer_session: u64,
    agent_session: u64,
) -> Result<(Established, Established), E2eError> {
    let mut rng = StdRng::seed_from_u64(7);
    let (viewer, start) = ViewerHandshake::start(viewer_code, viewer_session, &mut rng);
    let (agent, reply) = AgentHandshake::respond(agent_code, agent_session, start, &mut rng)?;
    let (viewer, confirm) = viewer.on_reply(reply)?;
    let (agent, confirm) = agent.on_confirm(confirm)?;
    let viewer = viewer.on_confirm(confirm)?;
    Ok((viewer, agent))
}

#[test]
fn the_same_code_gives_both_sides_the_same_keys_and_digits() {
    let c = code("123-456-789-012");
    let (mut viewer, mut agent) = handshake(c, c, SESSION, SESSION).unwrap();
    assert_eq!(viewer.sas, agent.sas);
    assert_eq!(viewer.sas.to_string().len(), 7, "shown as `123 456`");

    let record = viewer.sealer.seal(b"hello agent").unwrap();
    assert!(
        !record.windows(11).any(|w| w == b"hello agent"),
        "records are encrypted"
    );
    assert_eq!(
        agent.opener.open(record).unwrap(),
        tether_e2e::Opened::Data(b"hello agent".to_vec())
    );
    let record = agent.sealer.seal(b"hello viewer").unwrap();
    assert_eq!(
        viewer.opener.open(record).unwrap(),
        tether_e2e::Opened::Data(b"hello viewer".to_vec())
    );
}

#[test]
fn different_sessions_have_different_digits() {
    let c = code("123-456-789-012");
    let (first, _) = handshake(c, c, SESSION, SESSION).unwrap();
    let (second, _) = handshake(c, c, SESSION + 1, SESSION + 1).unwrap();
    assert_ne!(first.sas, second.sas);
}

#[test]
fn a_wrong_secret_fails_at_the_agent_before_it_reveals_anything_keyed() {
    let result = handshake(
        code("123-456-789-012"),
        code("123-456-789-013"),
        SESSION,
        SESSION,
    );
    assert_eq!(result.err(), Some(E2eError::ConfirmationFailed));
    assert_eq!(
        E2eError::ConfirmationFailed.abort_reason(),
        Some(AbortReason::ConfirmationFailed)
    );
}

#[test]
fn a_relay_that_gives_each_side_another_session_id_is_caught() {
    let c = code("123-456-789-012");
    assert_eq!(
        handshake(c, c, SESSION, SESSION + 1).err(),
        Some(E2eError::ConfirmationFailed)
    );
}

/// A relay knows the nameplate, guesses the secret, and runs its own handshake with each side.
#[test]
fn a_relay_in_the_middle_with_a_guessed_secret_fails_on_both_sides() {
    let real = code("123-456-789-012");
    let nameplate: Nameplate = real.nameplate();
    let mut rng = StdRng::seed_from_u64(99);
    let guess = SessionCode::generate(nameplate, &mut rng);
    assert_ne!(guess, real);

    // Towards the agent, the relay plays a viewer.
    let (fake_viewer, start) = ViewerHandshake::start(guess, SESSION, &mut rng);
    let (agent, reply) = AgentHandshake::respond(real, SESSION, start, &mut rng).unwrap();
    let (_, confirm) = fake_viewer.on_reply(reply).unwrap();
    assert_eq!(
        agent.on_confirm(confirm).err(),
        Some(E2eError::ConfirmationFailed)
    );

    // Towards the viewer, it plays an agent; the viewer's confirmation fails at the relay, and
    // the relay cannot forge the agent's confirmation either.
    let (viewer, start) = ViewerHandshake::start(real, SESSION, &mut rng);
    let (fake_agent, reply) = AgentHandshake::respond(guess, SESSION, start, &mut rng).unwrap();
    let (viewer, viewer_confirm) = viewer.on_reply(reply).unwrap();
    assert_eq!(
        fake_agent.on_confirm(viewer_confirm.clone()).err(),
        Some(E2eError::ConfirmationFailed)
    );
    // Its best move is to reflect the viewer's own confirmation back.
    assert_eq!(
        viewer.on_confirm(viewer_confirm).err(),
        Some(E2eError::ConfirmationFailed)
    );
}

#[test]
fn out_of_order_messages_and_aborts_are_errors() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(1);
    let (viewer, start) = ViewerHandshake::start(c, SESSION, &mut rng);
    assert!(matches!(
        viewer.on_reply(start.clone()),
        Err(E2eError::Unexpected { .. })
    ));
    let abort = Handshake::Abort {
        reason: AbortReason::ConfirmationFailed,
    };
    assert_eq!(
        AgentHandshake::respond(c, SESSION, abort, &mut rng).err(),
        Some(E2eError::Aborted(AbortReason::ConfirmationFailed))
    );
    let old = Handshake::Start {
        version: 0,
        pake: vec![0; 33],
    };
    assert!(matches!(
        AgentHandshake::respond(c, SESSION, old, &mut rng),
        Err(E2eError::VersionMismatch { peer: 0, .. })
    ));
}

#[test]
fn malformed_key_exchange_messages_are_rejected() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(1);
    for pake in [vec![], vec![0x41; 5], vec![0x42; 33], vec![0xff; 1000]] {
        let start = Handshake::Start {
            version: tether_proto::PROTOCOL_VERSION,
            pake,
        };
        assert!(AgentHandshake::respond(c, SESSION, start, &mut rng).is_err());
    }
}
