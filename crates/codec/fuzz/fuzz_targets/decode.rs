//! Feeds hostile updates to a decoder; it may reject any of them but must
//! never panic, and after a rejected update its picture must be unchanged.
//!
//! The first byte picks the mode. Even: the rest is split into raw updates
//! (each preceded by a little-endian u16 length). Odd: the decoder first gets
//! a valid key update of a small frame, then each chunk of the rest is used
//! as an update *body*, wrapped in a well-formed envelope with a valid zstd
//! payload, so the fuzzer reaches the tile records (copies, cache
//! references, palettes) instead of stopping at zstd.
//!
//! Run from `crates/codec`: `cargo +nightly fuzz run decode`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};

const WIDTH: u32 = 40;
const HEIGHT: u32 = 30;

/// The next chunk: a u16 length then that many bytes (clipped).
fn next_chunk<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let (chunk, tail) = match *rest {
        [low, high, tail @ ..] => {
            let len = usize::from(u16::from_le_bytes([*low, *high])).min(tail.len());
            tail.split_at(len)
        }
        other => (other, &[][..]),
    };
    *rest = tail;
    chunk
}

/// A well-formed envelope around `body`.
fn envelope(key: bool, tile_size: u16, body: &[u8]) -> Vec<u8> {
    let payload = zstd::bulk::compress(body, 1).unwrap_or_default();
    let mut update = b"TQ\x01".to_vec();
    update.push(u8::from(key));
    update.extend_from_slice(&WIDTH.to_le_bytes());
    update.extend_from_slice(&HEIGHT.to_le_bytes());
    update.extend_from_slice(&tile_size.to_le_bytes());
    update.extend_from_slice(&(body.len() as u32).to_le_bytes());
    update.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    update.extend_from_slice(&payload);
    update
}

fn apply_checked(decoder: &mut Decoder, update: &[u8]) {
    let before = decoder.framebuffer().cloned();
    if decoder.apply(update).is_err() {
        assert!(decoder.framebuffer().cloned() == before);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut decoder = Decoder::new(DecoderLimits {
        max_width: 1024,
        max_height: 1024,
    });
    if mode & 1 == 1 {
        let pixels = (0..WIDTH * HEIGHT * 4)
            .map(|i| (i % 7 * 40) as u8)
            .collect();
        let frame = Frame::new(WIDTH, HEIGHT, pixels).expect("valid frame");
        let mut encoder = Encoder::new(EncoderConfig {
            tile_size: 8,
            ..EncoderConfig::default()
        });
        let key = encoder.encode(&frame).expect("first frame");
        decoder.apply(&key).expect("valid key update");
    }
    for round in 0..=(mode >> 1) % 4 {
        let chunk = next_chunk(&mut rest);
        if mode & 1 == 1 {
            let key = (mode >> 3) & 1 == 1 && round == 0;
            let tile_size = if (mode >> 4) & 1 == 1 { 16 } else { 8 };
            apply_checked(&mut decoder, &envelope(key, tile_size, chunk));
        } else {
            apply_checked(&mut decoder, chunk);
        }
    }
});
