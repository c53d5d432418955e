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
    // The viewer's commitment names its session, so the agent catches the swap before it
    // derives any key (it would fail the key confirmation otherwise: the SPAKE2 identities
    // name the session too).
    assert_eq!(
        handshake(c, c, SESSION, SESSION + 1).err(),
        Some(E2eError::CommitmentMismatch)
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
    let (viewer, viewer_reveal) = viewer.on_reply(reply).unwrap();
    assert_eq!(
        fake_agent.on_confirm(viewer_reveal.clone()).err(),
        Some(E2eError::ConfirmationFailed)
    );
    // Its best move is to reflect the viewer's own confirmation back.
    let Handshake::Reveal { mac, .. } = viewer_reveal else {
        panic!("a reveal");
    };
    assert_eq!(
        viewer.on_confirm(Handshake::Confirm { mac }).err(),
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
    let old = Handshake::Commit {
        version: 0,
        commitment: vec![0; 32],
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
        // As the agent's reply.
        let (viewer, _) = ViewerHandshake::start(c, SESSION, &mut rng);
        let reply = Handshake::Reply { pake: pake.clone() };
        assert!(viewer.on_reply(reply).is_err());
        // As a commitment.
        let commit = Handshake::Commit {
            version: tether_proto::PROTOCOL_VERSION,
            commitment: pake.clone(),
        };
        assert!(AgentHandshake::respond(c, SESSION, commit, &mut rng).is_err());
        // As the viewer's revealed message.
        let (_, commit) = ViewerHandshake::start(c, SESSION, &mut rng);
        let (agent, _) = AgentHandshake::respond(c, SESSION, commit, &mut rng).unwrap();
        let reveal = Handshake::Reveal {
            pake,
            mac: vec![0; 32],
        };
        assert!(agent.on_confirm(reveal).is_err());
    }
}

/// A relay that knows the code (it overheard it, or guessed it) runs its own SPAKE2 with the
/// agent, and after seeing the agent's reply would like to pick another message of its own
/// (the one that makes the digits come out as it wants). Its commitment holds it to the first.
#[test]
fn a_relay_that_changes_its_message_after_the_commitment_is_caught_on_both_ends() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(5);
    let (viewer, commit) = ViewerHandshake::start(c, SESSION, &mut rng);
    let (agent, reply) = AgentHandshake::respond(c, SESSION, commit, &mut rng).unwrap();
    // The relay keeps the viewer's commitment but reveals a message of its own, with a valid
    // key confirmation for it (it knows the code).
    let (other, _) = ViewerHandshake::start(c, SESSION, &mut rng);
    let (_, swapped) = other.on_reply(reply.clone()).unwrap();
    assert!(matches!(swapped, Handshake::Reveal { .. }));
    let error = agent.on_confirm(swapped).err().unwrap();
    assert_eq!(error, E2eError::CommitmentMismatch);
    // The agent aborts with that reason (and burns the code); the viewer, waiting for the
    // agent's confirmation, is told so and fails too.
    let reason = error.abort_reason().unwrap();
    assert_eq!(reason, AbortReason::CommitmentMismatch);
    let (viewer, _) = viewer.on_reply(reply).unwrap();
    assert_eq!(
        viewer.on_confirm(Handshake::Abort { reason }).err(),
        Some(E2eError::Aborted(AbortReason::CommitmentMismatch))
    );
}

/// A relay that knows the code plays the agent toward the viewer: it must reply before it sees
/// the viewer's message, so it learns the viewer's digits only afterwards. It would like to try
/// another reply until those digits match the agent's; the viewer takes one reply per session.
#[test]
fn a_grinding_relay_gets_one_candidate_per_session() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(6);
    let (viewer, commit) = ViewerHandshake::start(c, SESSION, &mut rng);
    let (fake_agent, first) =
        AgentHandshake::respond(c, SESSION, commit.clone(), &mut rng).unwrap();
    let (viewer, reveal) = viewer.on_reply(first).unwrap();
    // Only now does the relay learn the key (and digits) of its candidate: after it is bound.
    assert!(fake_agent.on_confirm(reveal).is_ok());
    // A second candidate is refused, and the session ends.
    let (_, second) = AgentHandshake::respond(c, SESSION, commit, &mut rng).unwrap();
    let refused = viewer.on_confirm(second).err().unwrap();
    assert_eq!(refused, E2eError::NotConfirmed { got: "a reply" });
    assert!(refused.to_string().starts_with("key confirmation failed"));
}

/// Toward the agent, a relay playing the viewer commits first; it cannot take its message back
/// once it has seen the agent's reply, and the agent answers one commitment per code.
#[test]
fn the_agent_answers_one_commitment_and_takes_only_the_reveal_after_it() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(8);
    let (_, commit) = ViewerHandshake::start(c, SESSION, &mut rng);
    let (agent, _) = AgentHandshake::respond(c, SESSION, commit.clone(), &mut rng).unwrap();
    assert!(matches!(
        agent.on_confirm(commit),
        Err(E2eError::Unexpected {
            got: "a commitment",
            ..
        })
    ));
}

#[test]
fn a_commitment_is_bound_to_its_session_and_hides_its_message() {
    let c = code("123-456-789-012");
    let mut rng = StdRng::seed_from_u64(9);
    // Moved into another session, a viewer's commitment and reveal do not match.
    let (viewer, commit) = ViewerHandshake::start(c, SESSION, &mut rng);
    let (agent, reply) = AgentHandshake::respond(c, SESSION + 1, commit, &mut rng).unwrap();
    let (_, reveal) = viewer.on_reply(reply).unwrap();
    assert_eq!(
        agent.on_confirm(reveal).err(),
        Some(E2eError::CommitmentMismatch)
    );
    // The same code and session commit to a fresh message every time.
    let commitments: Vec<Handshake> = (0..3)
        .map(|_| ViewerHandshake::start(c, SESSION, &mut rng).1)
        .collect();
    assert_ne!(commitments[0], commitments[1]);
    assert_ne!(commitments[1], commitments[2]);
}
