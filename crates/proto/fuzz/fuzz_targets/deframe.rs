//! Feeds a hostile byte stream, cut into arbitrary pieces, through everything that parses
//! network input in `tether-proto`: the deframer, every message type, the checks of shell
//! requests and cursor images, the reassembly of frame chunks, and the data port's datagrams.
//! Any of it may be rejected; none of it may panic or buffer without bound.
//!
//! Run from `crates/proto`: `RUSTC_BOOTSTRAP=1 cargo fuzz run deframe`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_proto::{
    control::{ClientMessage, RelayMessage, StreamHeader},
    data_path::{Bind, Bound, DirectPath},
    secure::{Handshake, Sealed},
    session::{AgentMessage, CursorUpdate, ViewerMessage},
    shell::{ShellRequest, ShellResponse},
    Deframer, UpdateAssembler,
};

const MAX_MESSAGE: usize = 4096;
const MAX_UPDATE: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    // The relay's data port reads whole datagrams, not a stream.
    let _ = Bind::decode(stream);
    let _ = Bound::decode(stream);
    let piece = usize::from(cut % 64) + 1;
    let mut deframer = Deframer::new(MAX_MESSAGE);
    let mut assembler = UpdateAssembler::new(MAX_UPDATE);
    for chunk in stream.chunks(piece) {
        deframer.feed(chunk);
        assert!(deframer.buffered() <= MAX_MESSAGE + 4 + piece);
        loop {
            match deframer.next_body() {
                Ok(Some(body)) => {
                    let _ = postcard::from_bytes::<ClientMessage>(&body);
                    let _ = postcard::from_bytes::<RelayMessage>(&body);
                    let _ = postcard::from_bytes::<StreamHeader>(&body);
                    let _ = postcard::from_bytes::<Handshake>(&body);
                    let _ = postcard::from_bytes::<Sealed>(&body);
                    let _ = postcard::from_bytes::<DirectPath>(&body);
                    let _ = postcard::from_bytes::<ViewerMessage>(&body);
                    let _ = postcard::from_bytes::<ShellResponse>(&body);
                    match postcard::from_bytes::<ShellRequest>(&body) {
                        Ok(ShellRequest::Open(open)) => {
                            let _ = open.check();
                        }
                        Ok(ShellRequest::Resize(size)) => {
                            let _ = size.check();
                        }
                        _ => {}
                    }
                    match postcard::from_bytes::<AgentMessage>(&body) {
                        Ok(AgentMessage::Frame(frame)) => {
                            if let Ok(Some((_, update))) = assembler.push(frame) {
                                assert!(update.len() <= MAX_UPDATE);
                            }
                        }
                        Ok(AgentMessage::Cursor(CursorUpdate {
                            shape: Some(shape), ..
                        })) => {
                            let _ = shape.check();
                        }
                        _ => {}
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = deframer.finish();
});
