//! Feeds hostile updates to a decoder; it may reject any of them but must
//! never panic, and after a rejected update its picture must be unchanged.
//!
//! The first byte picks the mode. Even: the rest is split into raw updates
//! (each preceded by a little-endian u16 length). Odd: the decoder first gets
//! a valid key update of a small frame, then each chunk of the rest is used
//! as an update *body*, wrapped in a well-formed envelope whose payload is
//! compressed the way the encoder does it (a key update's as a zstd frame of
//! its own, a delta's as the next flushed part of the compression stream
//! shared with the decoder), so the fuzzer reaches the tile records
//! (copies, cache references, palettes, patches) instead of stopping at
//! zstd. After a rejected update the stream is started again with a valid
//! key update, as a session would. With bit 5 of the first byte set, the
//! updates are instead a real progressive key update (a JPEG picture and
//! approximate records) and its refinements, each XORed with a chunk at an
//! offset the chunk names, so the picture's decoder meets near-valid JPEG.
//!
//! Run from `crates/codec`: `cargo +nightly fuzz run decode`.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};
use zstd::stream::raw::{CParameter, Encoder as RawEncoder, InBuffer, Operation, OutBuffer};

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

fn varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The encoder's side of the compression stream.
struct Stream(RawEncoder<'static>);

impl Stream {
    fn new() -> Stream {
        let mut encoder = RawEncoder::new(1).expect("zstd context");
        encoder
            .set_parameter(CParameter::WindowLog(22))
            .expect("window");
        Stream(encoder)
    }

    /// `body` as the stream's next flushed part.
    fn compress(&mut self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 1024);
        let mut input = InBuffer::around(body);
        let mut output = OutBuffer::around(&mut out);
        while input.pos() < body.len() {
            self.0.run(&mut input, &mut output).expect("compress");
        }
        while self.0.flush(&mut output).expect("flush") > 0 {}
        out
    }
}

/// A well-formed envelope around `body`.
fn envelope(key: bool, tile_size: u16, body: &[u8], stream: &mut Stream) -> Vec<u8> {
    let mut update = b"TQ\x02".to_vec();
    update.push(u8::from(key));
    let payload = if key {
        varint(&mut update, WIDTH);
        varint(&mut update, HEIGHT);
        varint(&mut update, u32::from(tile_size));
        varint(&mut update, u32::from(tile_size));
        zstd::bulk::compress(body, 1).unwrap_or_default()
    } else {
        stream.compress(body)
    };
    varint(&mut update, body.len() as u32);
    varint(&mut update, payload.len() as u32);
    update.extend_from_slice(&payload);
    update
}

/// A valid key update of a small frame with tiles of `tile_size` (8 or 16),
/// made once.
fn valid_key(tile_size: u16) -> &'static [u8] {
    static KEYS: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let pixels = (0..WIDTH * HEIGHT * 4)
            .map(|i| (i % 7 * 40) as u8)
            .collect();
        let frame = Frame::new(WIDTH, HEIGHT, pixels).expect("valid frame");
        [8u32, 16].map(|size| {
            Encoder::new(EncoderConfig {
                tile_size: size,
                key_tile_size: size,
                ..EncoderConfig::default()
            })
            .encode(&frame)
            .expect("first frame")
        })
    });
    &keys[usize::from(tile_size == 16)]
}

/// Applies `update`; on rejection checks the picture is unchanged and
/// returns false.
fn apply_checked(decoder: &mut Decoder, update: &[u8]) -> bool {
    let before = decoder.framebuffer().cloned();
    let accepted = decoder.apply(update).is_ok();
    if !accepted {
        assert!(decoder.framebuffer().cloned() == before);
    }
    accepted
}

/// A progressive key update of a grainy frame and its refinements, made
/// once.
fn progressive() -> &'static [Vec<u8>] {
    static UPDATES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    UPDATES.get_or_init(make_progressive)
}

fn make_progressive() -> Vec<Vec<u8>> {
    let mut state = 7u32;
    let pixels = (0..WIDTH * HEIGHT * 4)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (i % 4 * 50) as u8 ^ (state >> 27) as u8
        })
        .collect();
    let frame = Frame::new(WIDTH, HEIGHT, pixels).expect("valid frame");
    let mut encoder = Encoder::new(EncoderConfig {
        tile_size: 8,
        key_tile_size: 16,
        key_budget: Some(500),
        ..EncoderConfig::default()
    });
    let mut updates = vec![encoder.encode(&frame).expect("first frame")];
    while let Some(refinement) = encoder.refine(700) {
        updates.push(refinement);
    }
    updates
}

/// `update` with `chunk[2..]` XORed in at the offset `chunk[..2]` names.
fn xored(update: &[u8], chunk: &[u8]) -> Vec<u8> {
    let mut update = update.to_vec();
    if let [low, high, mask @ ..] = chunk {
        let at = usize::from(u16::from_le_bytes([*low, *high])) % update.len();
        for (byte, m) in update[at..].iter_mut().zip(mask) {
            *byte ^= m;
        }
    }
    update
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    if (mode >> 5) & 1 == 1 {
        let mut decoder = Decoder::new(DecoderLimits {
            max_width: 1024,
            max_height: 1024,
        });
        for update in progressive() {
            let chunk = next_chunk(&mut rest);
            apply_checked(&mut decoder, &xored(update, chunk));
        }
        return;
    }
    let mut decoder = Decoder::new(DecoderLimits {
        max_width: 1024,
        max_height: 1024,
    });
    let tile_size = if (mode >> 4) & 1 == 1 { 16 } else { 8 };
    let valid_key = valid_key(tile_size);
    let mut stream = Stream::new();
    if mode & 1 == 1 {
        decoder.apply(valid_key).expect("valid key update");
    }
    for round in 0..=(mode >> 1) % 4 {
        let chunk = next_chunk(&mut rest);
        let accepted = if mode & 1 == 1 {
            let key = (mode >> 3) & 1 == 1 && round == 0;
            let update = envelope(key, tile_size, chunk, &mut stream);
            apply_checked(&mut decoder, &update)
        } else {
            apply_checked(&mut decoder, chunk)
        };
        if mode & 1 == 1 && !accepted {
            decoder.apply(valid_key).expect("valid key update");
            stream = Stream::new();
        }
    }
});
