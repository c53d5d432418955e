//! Sealed records under attack: every alteration of the record stream is detected.

use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use tether_e2e::{AgentHandshake, E2eError, Established, Opened, ViewerHandshake};

fn established() -> (Established, Established) {
    let code = "000-111-222-333".parse().unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let (viewer, start) = ViewerHandshake::start(code, 9, &mut rng);
    let (agent, reply) = AgentHandshake::respond(code, 9, start, &mut rng).unwrap();
    let (viewer, confirm) = viewer.on_reply(reply).unwrap();
    let (agent, confirm) = agent.on_confirm(confirm).unwrap();
    (viewer.on_confirm(confirm).unwrap(), agent)
}

fn sealed(count: usize) -> (Vec<Vec<u8>>, Established) {
    let (mut viewer, agent) = established();
    let records = (0..count)
        .map(|i| {
            viewer
                .sealer
                .seal(format!("message {i}").as_bytes())
                .unwrap()
        })
        .collect();
    (records, agent)
}

#[test]
fn a_dropped_record_is_detected() {
    let (records, mut agent) = sealed(3);
    agent.opener.open(records[0].clone()).unwrap();
    assert_eq!(
        agent.opener.open(records[2].clone()),
        Err(E2eError::RecordRejected { seq: 1 })
    );
}

#[test]
fn a_replayed_record_is_detected() {
    let (records, mut agent) = sealed(2);
    agent.opener.open(records[0].clone()).unwrap();
    assert_eq!(
        agent.opener.open(records[0].clone()),
        Err(E2eError::RecordRejected { seq: 1 })
    );
}

#[test]
fn reordered_records_are_detected() {
    let (records, mut agent) = sealed(2);
    assert_eq!(
        agent.opener.open(records[1].clone()),
        Err(E2eError::RecordRejected { seq: 0 })
    );
}

#[test]
fn a_record_for_the_other_direction_is_rejected() {
    let (mut viewer, _agent) = established();
    let own = viewer.sealer.seal(b"reflected").unwrap();
    assert!(viewer.opener.open(own).is_err());
}

#[test]
fn truncation_is_told_apart_from_a_clean_close() {
    let (mut viewer, mut agent) = established();
    agent
        .opener
        .open(viewer.sealer.seal(b"last words").unwrap())
        .unwrap();
    assert_eq!(agent.opener.finish(), Err(E2eError::Truncated));

    let close = viewer.sealer.seal_close().unwrap();
    assert_eq!(agent.opener.open(close).unwrap(), Opened::Close);
    assert_eq!(agent.opener.finish(), Ok(()));
    assert!(viewer.sealer.seal(b"after close").is_err());
}

#[test]
fn records_after_close_are_rejected() {
    let (mut viewer, mut agent) = established();
    let close = viewer.sealer.seal_close().unwrap();
    agent.opener.open(close).unwrap();
    assert_eq!(
        agent.opener.open(vec![0; 40]),
        Err(E2eError::RecordAfterClose)
    );
}

#[test]
fn oversized_messages_are_refused_before_sealing() {
    let (mut viewer, _) = established();
    let huge = vec![0; tether_proto::MAX_MESSAGE_SIZE];
    assert!(matches!(
        viewer.sealer.seal(&huge),
        Err(E2eError::RecordTooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_flipped_bit_is_detected(index in 0usize..3, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (mut records, mut agent) = sealed(3);
        let target = position.index(records[index].len());
        records[index][target] ^= 1 << bit;
        for (i, record) in records.into_iter().enumerate() {
            let opened = agent.opener.open(record);
            if i < index {
                prop_assert!(opened.is_ok());
            } else {
                prop_assert!(opened.is_err());
                break;
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let (_, mut agent) = established();
        prop_assert!(agent.opener.open(bytes).is_err());
    }
}
