//! Feeds a hostile byte stream, cut into arbitrary pieces, through both readings of a control
//! stream: the relay's of a client's (at the small [`MAX_CLIENT_MESSAGE`] limit) and a client's
//! of the relay's. Any of it may be refused; whatever is accepted must hold its fields within
//! their bounds and encode back to a message that decodes the same, and neither reader may
//! buffer more than one message and the piece it was fed.
//!
//! Run from `crates/proto`: `RUSTC_BOOTSTRAP=1 cargo fuzz run control`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_proto::{
    bounds::{MAX_CERTIFICATE_LEN, MAX_CRL_LEN, MAX_NAME_LEN, MAX_SIGNATURE_LEN},
    control::{
        ClientMessage, MachineIdentity, RelayMessage, MAX_CLIENT_MESSAGE, MAX_RELAY_MESSAGE,
    },
    encode_message, Deframer,
};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let piece = usize::from(cut % 64) + 1;
    let mut from_client = Some(Deframer::new(MAX_CLIENT_MESSAGE));
    let mut from_relay = Some(Deframer::new(MAX_RELAY_MESSAGE));
    for chunk in stream.chunks(piece) {
        read(&mut from_client, chunk, MAX_CLIENT_MESSAGE, check_client);
        read(&mut from_relay, chunk, MAX_RELAY_MESSAGE, check_relay);
    }
});

/// Feeds `chunk` to a reader still going and checks each message it accepts; the first
/// refusal ends the stream, as it ends the connection.
fn read<T>(reader: &mut Option<Deframer>, chunk: &[u8], max: usize, check: fn(&T))
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let Some(deframer) = reader else {
        return;
    };
    deframer.feed(chunk);
    assert!(deframer.buffered() <= max + 4 + chunk.len());
    loop {
        match deframer.next_message::<T>() {
            Ok(Some(message)) => {
                check(&message);
                let mut bytes = Vec::new();
                encode_message(&message, &mut bytes).expect("an accepted message encodes");
                let mut again = Deframer::new(max);
                again.feed(&bytes);
                assert_eq!(again.next_message::<T>().unwrap(), Some(message));
            }
            Ok(None) => return,
            Err(_) => {
                *reader = None;
                return;
            }
        }
    }
}

fn check_client(message: &ClientMessage) {
    match message {
        ClientMessage::Hello { software: name, .. }
        | ClientMessage::Register { name, .. }
        | ClientMessage::Join { name, .. }
        | ClientMessage::Open { machine: name } => assert!(name.len() <= MAX_NAME_LEN),
        ClientMessage::Enroll {
            machine,
            endorsement: signature,
            ..
        }
        | ClientMessage::Online {
            machine,
            proof: signature,
        } => {
            assert!(machine.len() <= MAX_NAME_LEN);
            assert!(signature.len() <= MAX_SIGNATURE_LEN);
        }
        ClientMessage::ListMachines
        | ClientMessage::Resume { .. }
        | ClientMessage::Leaving { .. } => {}
    }
}

fn check_relay(message: &RelayMessage) {
    match message {
        RelayMessage::Paired { peer: name, .. } => assert!(name.len() <= MAX_NAME_LEN),
        RelayMessage::Enrolled { machine, group } => {
            assert!(machine.len() <= MAX_NAME_LEN && group.len() <= MAX_NAME_LEN);
        }
        RelayMessage::Machines { machines } => {
            for machine in machines {
                assert!(machine.name.len() <= MAX_NAME_LEN && machine.group.len() <= MAX_NAME_LEN);
            }
        }
        RelayMessage::Opened {
            machine:
                MachineIdentity {
                    name,
                    group,
                    enrollment_cert,
                    endorsement,
                    ..
                },
            ..
        } => {
            assert!(name.len() <= MAX_NAME_LEN && group.len() <= MAX_NAME_LEN);
            assert!(enrollment_cert.len() <= MAX_CERTIFICATE_LEN);
            assert!(endorsement.len() <= MAX_SIGNATURE_LEN);
        }
        RelayMessage::Revocations { crl } => assert!(crl.len() <= MAX_CRL_LEN),
        _ => {}
    }
}
