//! Taking a suspended session back on a new stream, honest and attacked, without any IO.

use rand::{rngs::StdRng, RngCore, SeedableRng};
use tether_e2e::{
    AgentHandshake, AgentResumption, E2eError, Established, Opened, ResumptionSecret,
    ViewerHandshake, ViewerResuming,
};
use tether_proto::{secure::Handshake, SessionCode};

const SESSION: u64 = 42;

/// A session established with the code's handshake: (viewer, agent).
fn established(rng: &mut StdRng, session_id: u64) -> (Established, Established) {
    let code: SessionCode = "123-456-789-012".parse().unwrap();
    let (viewer, start) = ViewerHandshake::start(code, session_id, rng);
    let (agent, reply) = AgentHandshake::respond(code, session_id, start, rng).unwrap();
    let (viewer, confirm) = viewer.on_reply(reply).unwrap();
    let (agent, confirm) = agent.on_confirm(confirm).unwrap();
    (viewer.on_confirm(confirm).unwrap(), agent)
}

/// A whole resume: the viewer's new stream and the agent's.
fn resume(
    rng: &mut StdRng,
    viewer_secret: &ResumptionSecret,
    agent: &mut AgentResumption,
) -> Result<(Established, Established), E2eError> {
    let (viewer, request) = ViewerResuming::start(viewer_secret, SESSION, rng);
    let (agent_side, answer) = agent.respond(SESSION, request, rng)?;
    let (viewer, confirm) = viewer.on_resumed(answer)?;
    Ok((viewer, agent_side.on_confirm(confirm)?))
}

/// Both directions carry a message on the streams, and the relay sees only ciphertext.
fn assert_talks(viewer: &mut Established, agent: &mut Established) {
    let record = viewer.sealer.seal(b"ack 7").unwrap();
    assert!(!record.windows(5).any(|w| w == b"ack 7"));
    assert_eq!(
        agent.opener.open(record).unwrap(),
        Opened::Data(b"ack 7".to_vec())
    );
    let record = agent.sealer.seal(b"frame 8").unwrap();
    assert_eq!(
        viewer.opener.open(record).unwrap(),
        Opened::Data(b"frame 8".to_vec())
    );
}

#[test]
fn an_honest_resume_rekeys_both_sides_and_can_happen_again() {
    let mut rng = StdRng::seed_from_u64(1);
    let (mut old_viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);

    let (mut viewer, mut agent) =
        resume(&mut rng, &old_viewer.resumption, &mut resumption).unwrap();
    assert_talks(&mut viewer, &mut agent);
    // The resumed stream has keys of its own: a record of the old stream does not open on it.
    let stale = old_viewer.sealer.seal(b"old").unwrap();
    assert!(agent.opener.open(stale).is_err());

    // A second blip: the secret of the resumed stream takes it back again.
    let mut resumption = AgentResumption::new(agent.resumption);
    let (mut viewer, mut agent) = resume(&mut rng, &viewer.resumption, &mut resumption).unwrap();
    assert_talks(&mut viewer, &mut agent);
}

#[test]
fn another_sessions_secret_is_rejected() {
    let mut rng = StdRng::seed_from_u64(2);
    let (_, agent) = established(&mut rng, SESSION);
    let (other_viewer, _) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let result = resume(&mut rng, &other_viewer.resumption, &mut resumption);
    assert_eq!(result.err(), Some(E2eError::ResumeRejected));
}

#[test]
fn a_request_for_another_session_id_is_rejected() {
    let mut rng = StdRng::seed_from_u64(3);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let (_, request) = ViewerResuming::start(&viewer.resumption, SESSION + 1, &mut rng);
    let result = resumption.respond(SESSION, request, &mut rng);
    assert_eq!(result.err(), Some(E2eError::ResumeRejected));
}

#[test]
fn a_replayed_resume_request_is_rejected_once_a_later_resume_was_confirmed() {
    let mut rng = StdRng::seed_from_u64(4);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let (viewer_side, request) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
    let (agent_side, answer) = resumption
        .respond(SESSION, request.clone(), &mut rng)
        .unwrap();
    let (_, confirm) = viewer_side.on_resumed(answer).unwrap();
    let agent = agent_side.on_confirm(confirm).unwrap();

    // The relay kept the request and plays it again on a new stream.
    let mut resumption = AgentResumption::new(agent.resumption);
    let result = resumption.respond(SESSION, request, &mut rng);
    assert_eq!(result.err(), Some(E2eError::ResumeRejected));
}

#[test]
fn a_relay_replaying_a_request_in_flight_gets_an_answer_it_cannot_confirm() {
    let mut rng = StdRng::seed_from_u64(5);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let (_, request) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
    let (agent_side, _answer) = resumption.respond(SESSION, request, &mut rng).unwrap();
    // Without the secret, the relay can only guess the viewer's confirmation.
    let forged = Handshake::Confirm { mac: vec![0; 32] };
    assert_eq!(
        agent_side.on_confirm(forged).err(),
        Some(E2eError::ConfirmationFailed)
    );
}

#[test]
fn a_relay_forging_macs_fails_on_both_sides() {
    let mut rng = StdRng::seed_from_u64(6);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let mut bytes = || {
        let mut bytes = vec![0; 32];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    // To the agent: a request the relay made up.
    let forged = Handshake::Resume {
        version: tether_proto::PROTOCOL_VERSION,
        nonce: bytes(),
        mac: bytes(),
    };
    let mut rng = StdRng::seed_from_u64(7);
    assert_eq!(
        resumption.respond(SESSION, forged, &mut rng).err(),
        Some(E2eError::ResumeRejected)
    );
    // To the viewer: an answer the relay made up.
    let (viewer_side, _) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
    let forged = Handshake::Resumed {
        nonce: vec![9; 32],
        mac: vec![9; 32],
    };
    assert_eq!(
        viewer_side.on_resumed(forged).err(),
        Some(E2eError::ConfirmationFailed)
    );
}

#[test]
fn a_viewer_that_lost_the_answer_resumes_with_the_secret_it_still_holds() {
    let mut rng = StdRng::seed_from_u64(8);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    // The agent answers, but the stream breaks before the viewer reads it.
    let (_, request) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
    let _unread = resumption.respond(SESSION, request, &mut rng).unwrap();
    let (mut viewer, mut agent) = resume(&mut rng, &viewer.resumption, &mut resumption).unwrap();
    assert_talks(&mut viewer, &mut agent);
}

#[test]
fn a_viewer_whose_confirmation_was_lost_resumes_with_the_new_secret() {
    let mut rng = StdRng::seed_from_u64(9);
    let (original, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    // The viewer reads the answer and confirms, but the confirmation never arrives.
    let (viewer_side, request) = ViewerResuming::start(&original.resumption, SESSION, &mut rng);
    let (_, answer) = resumption.respond(SESSION, request, &mut rng).unwrap();
    let (viewer, _lost_confirm) = viewer_side.on_resumed(answer).unwrap();
    let (mut viewer, mut agent) = resume(&mut rng, &viewer.resumption, &mut resumption).unwrap();
    assert_talks(&mut viewer, &mut agent);
    // The original secret is spent: nobody can resume with it any more.
    let mut resumption = AgentResumption::new(agent.resumption);
    assert_eq!(
        resume(&mut rng, &original.resumption, &mut resumption).err(),
        Some(E2eError::ResumeRejected)
    );
}

#[test]
fn malformed_and_out_of_order_messages_are_errors() {
    let mut rng = StdRng::seed_from_u64(10);
    let (viewer, agent) = established(&mut rng, SESSION);
    let mut resumption = AgentResumption::new(agent.resumption);
    let short_nonce = Handshake::Resume {
        version: tether_proto::PROTOCOL_VERSION,
        nonce: vec![1; 5],
        mac: vec![0; 32],
    };
    assert_eq!(
        resumption.respond(SESSION, short_nonce, &mut rng).err(),
        Some(E2eError::BadKeyExchange)
    );
    let (_, start) = ViewerHandshake::start("123-456-789-012".parse().unwrap(), SESSION, &mut rng);
    assert!(matches!(
        resumption.respond(SESSION, start, &mut rng),
        Err(E2eError::Unexpected { .. })
    ));
    let (_, request) = ViewerResuming::start(&viewer.resumption, SESSION, &mut rng);
    let old_version = match request {
        Handshake::Resume { nonce, mac, .. } => Handshake::Resume {
            version: 0,
            nonce,
            mac,
        },
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        resumption.respond(SESSION, old_version, &mut rng),
        Err(E2eError::VersionMismatch { peer: 0, .. })
    ));
}
