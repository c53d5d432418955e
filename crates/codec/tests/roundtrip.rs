//! Property tests: encoder/decoder round trips are bit-exact, and the decoder
//! survives hostile input.

use proptest::prelude::*;
use tether_codec::{
    DecodeError, Decoder, DecoderLimits, Encoder, EncoderConfig, Frame, Rect, UpdateSummary,
};

/// A cheap deterministic byte stream (splitmix64), so frames can be derived
/// from a small seed and shrink well.
fn noise(seed: u64) -> impl Iterator<Item = u8> {
    let mut state = seed;
    std::iter::repeat_with(move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u8
    })
}

/// A `width` x `height` frame: solid for seeds divisible by 4 (compresses
/// well), noise otherwise.
fn patterned(width: u32, height: u32, seed: u64) -> Frame {
    let len = width as usize * height as usize * 4;
    let pixels = if seed % 4 == 0 {
        vec![seed.to_le_bytes()[1]; len]
    } else {
        noise(seed).take(len).collect()
    };
    Frame::new(width, height, pixels).unwrap()
}

/// Overwrites a rectangle of `frame` (clipped to it) with seeded bytes:
/// either one solid BGRA colour or noise.
fn paint(frame: &mut Frame, x: u32, y: u32, width: u32, height: u32, seed: u64) {
    let (frame_width, frame_height) = (frame.width(), frame.height());
    let (x, y) = (x % frame_width, y % frame_height);
    let (width, height) = (width.min(frame_width - x), height.min(frame_height - y));
    let solid = seed % 2 == 0;
    let colour: Vec<u8> = noise(seed).take(4).collect();
    let mut bytes = noise(seed ^ 0x5555);
    for row in y..y + height {
        let start = (row * frame_width + x) as usize * 4;
        let line = &mut frame.pixels_mut()[start..start + width as usize * 4];
        for (i, byte) in line.iter_mut().enumerate() {
            *byte = if solid {
                colour[i % 4]
            } else {
                bytes.next().unwrap()
            };
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// Repaint a rectangle; its corner is taken modulo the frame size.
    Paint {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        seed: u64,
    },
    /// Move the whole picture by (dx, dy), like a scroll or a drag; the
    /// exposed area is painted with seeded bytes.
    Shift { dx: i32, dy: i32, seed: u64 },
    /// Go back to the picture of `back` steps ago (if of the same size), so
    /// cached tiles come back.
    Recall { back: usize },
    /// Encode the same frame again.
    Repeat,
    /// Switch to a new frame of another size.
    Resize { width: u32, height: u32, seed: u64 },
    /// Reset the encoder before the next frame.
    Reset,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<u32>(), any::<u32>(), 1..=80u32, 1..=80u32, any::<u64>()).prop_map(
            |(x, y, width, height, seed)| Step::Paint { x, y, width, height, seed }
        ),
        3 => (-40..=40i32, -40..=40i32, any::<u64>())
            .prop_map(|(dx, dy, seed)| Step::Shift { dx, dy, seed }),
        2 => (1..8usize).prop_map(|back| Step::Recall { back }),
        2 => Just(Step::Repeat),
        1 => (1..=150u32, 1..=150u32, any::<u64>())
            .prop_map(|(width, height, seed)| Step::Resize { width, height, seed }),
        1 => Just(Step::Reset),
    ]
}

/// `frame` moved by (dx, dy): the new pixel at (x, y) is the old one at
/// (x - dx, y - dy); pixels with no source get seeded bytes.
fn shifted(frame: &Frame, dx: i32, dy: i32, seed: u64) -> Frame {
    let (width, height) = (frame.width() as i32, frame.height() as i32);
    let mut out = patterned(frame.width(), frame.height(), seed | 1);
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = (x - dx, y - dy);
            if (0..width).contains(&sx) && (0..height).contains(&sy) {
                let from = (sy * width + sx) as usize * 4;
                let to = (y * width + x) as usize * 4;
                let pixel: [u8; 4] = frame.pixels()[from..from + 4].try_into().unwrap();
                out.pixels_mut()[to..to + 4].copy_from_slice(&pixel);
            }
        }
    }
    out
}

fn tile_size() -> impl Strategy<Value = u32> {
    prop_oneof![Just(8u32), Just(16), Just(64)]
}

fn contains(rect: &Rect, x: u32, y: u32) -> bool {
    (rect.x..rect.x + rect.width).contains(&x) && (rect.y..rect.y + rect.height).contains(&y)
}

/// Checks that every pixel that differs between `old` and `new` lies inside
/// one of the `changed` rectangles.
fn covers_changes(old: &Frame, new: &Frame, changed: &[Rect]) -> bool {
    let width = new.width();
    old.pixels()
        .chunks_exact(4)
        .zip(new.pixels().chunks_exact(4))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .all(|(i, _)| {
            let (x, y) = (i as u32 % width, i as u32 / width);
            changed.iter().any(|rect| contains(rect, x, y))
        })
}

/// Applies `update` and checks the decoder's promise: an error leaves the
/// framebuffer untouched, a success leaves one of the announced size.
fn apply_checked(decoder: &mut Decoder, update: &[u8]) -> Result<UpdateSummary, DecodeError> {
    let before = decoder.framebuffer().cloned();
    let result = decoder.apply(update);
    match &result {
        Err(_) => assert_eq!(decoder.framebuffer().cloned(), before),
        Ok(summary) => {
            let framebuffer = decoder.framebuffer().expect("a picture after success");
            assert_eq!(
                (framebuffer.width(), framebuffer.height()),
                (summary.width, summary.height)
            );
        }
    }
    result
}

/// Appends `value` as an unsigned LEB128 varint, as FORMAT.md says.
fn varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Truncate { len: usize },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    SetU32 { at: usize, value: u32 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        2 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        1 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        2 => (any::<usize>(), any::<u32>()).prop_map(|(at, value)| Mutation::SetU32 { at, value }),
    ]
}

fn mutate(mut update: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = update.len();
    match *mutation {
        Mutation::Flip { at, xor } => update[at % len] ^= xor,
        Mutation::Truncate { len: keep } => update.truncate(keep % len),
        Mutation::Insert { at, byte } => update.insert(at % (len + 1), byte),
        Mutation::Remove { at } => {
            update.remove(at % len);
        }
        Mutation::SetU32 { at, value } => {
            let at = at % (len - 3);
            update[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
    }
    update
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sequences_decode_bit_exactly(
        width in 1..=150u32,
        height in 1..=150u32,
        seed in any::<u64>(),
        tile_size in tile_size(),
        key_tile_size in tile_size(),
        zstd_level in -3..=3i32,
        steps in prop::collection::vec(step(), 1..16),
    ) {
        let mut encoder = Encoder::new(EncoderConfig { tile_size, key_tile_size, zstd_level, key_zstd_level: zstd_level, key_budget: None });
        let mut decoder = Decoder::new(DecoderLimits::default());
        // What the encoder should hold as its reference.
        let mut reference: Option<Frame> = None;
        let mut frame = patterned(width, height, seed);
        let mut history: Vec<Frame> = Vec::new();

        for step in std::iter::once(&Step::Repeat).chain(&steps) {
            history.push(frame.clone());
            // Painting reports its rectangle as a damage hint (unclipped:
            // hints may extend past the frame).
            let mut damage = None;
            match *step {
                Step::Paint { x, y, width, height, seed } => {
                    damage = Some(Rect { x: x % frame.width(), y: y % frame.height(), width, height });
                    paint(&mut frame, x, y, width, height, seed);
                }
                Step::Shift { dx, dy, seed } => frame = shifted(&frame, dx, dy, seed),
                Step::Recall { back } => {
                    if let Some(old) = history.iter().rev().nth(back) {
                        if (old.width(), old.height()) == (frame.width(), frame.height()) {
                            frame = old.clone();
                        }
                    }
                }
                Step::Repeat => {}
                Step::Resize { width, height, seed } => frame = patterned(width, height, seed),
                Step::Reset => {
                    encoder.reset();
                    reference = None;
                }
            }
            let update = match damage {
                Some(rect) => encoder.encode_with_damage(&frame, &[rect]),
                None => encoder.encode(&frame),
            };
            if reference.as_ref() == Some(&frame) {
                prop_assert!(update.is_none(), "unchanged frame produced an update");
                continue;
            }
            let update = update.expect("a changed frame produces an update");
            let old = decoder.framebuffer().cloned();
            let summary = apply_checked(&mut decoder, &update).expect("valid update rejected");
            let expect_key = reference.as_ref().is_none_or(|r| {
                (r.width(), r.height()) != (frame.width(), frame.height())
            });
            prop_assert_eq!(summary.key, expect_key);
            prop_assert_eq!((summary.width, summary.height), (frame.width(), frame.height()));
            prop_assert_eq!(decoder.framebuffer(), Some(&frame));
            if !summary.key {
                let old = old.expect("a delta follows a key update");
                prop_assert!(!summary.changed.is_empty());
                prop_assert!(covers_changes(&old, &frame, &summary.changed));
            }
            reference = Some(frame.clone());
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_rejected(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut fresh = Decoder::new(DecoderLimits::default());
        prop_assert!(apply_checked(&mut fresh, &bytes).is_err());

        let mut ready = Decoder::new(DecoderLimits::default());
        let key = Encoder::new(EncoderConfig::default()).encode(&patterned(9, 9, 1)).unwrap();
        ready.apply(&key).unwrap();
        prop_assert!(apply_checked(&mut ready, &bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_prefix_never_panic(
        flags in 0..=1u8,
        width in 1..=40u32,
        height in 1..=40u32,
        tile_size in 8..=16u16,
        body_len in 0..=64u32,
        tail in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut update = b"TQ\x02".to_vec();
        update.push(flags);
        if flags == 1 {
            varint(&mut update, width);
            varint(&mut update, height);
            varint(&mut update, u32::from(tile_size));
            varint(&mut update, u32::from(tile_size));
        }
        varint(&mut update, body_len);
        varint(&mut update, tail.len() as u32);
        update.extend_from_slice(&tail);
        let mut decoder = Decoder::new(DecoderLimits::default());
        let key = Encoder::new(EncoderConfig { tile_size: 8, ..EncoderConfig::default() })
            .encode(&patterned(width, height, 3))
            .unwrap();
        decoder.apply(&key).unwrap();
        let _ = apply_checked(&mut decoder, &update);
    }

    #[test]
    fn mutated_updates_never_panic(
        width in 1..=40u32,
        height in 1..=40u32,
        tile_size in tile_size(),
        seed in any::<u64>(),
        mutate_key in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut encoder = Encoder::new(EncoderConfig { tile_size, ..EncoderConfig::default() });
        let mut frame = patterned(width, height, seed);
        let key = encoder.encode(&frame).unwrap();
        paint(&mut frame, 0, 0, 9, 9, seed ^ 1);
        frame.pixels_mut()[0] ^= 1;
        let delta = encoder.encode(&frame).unwrap();

        let mut decoder = Decoder::new(DecoderLimits::default());
        let target = if mutate_key {
            // Give the decoder an unrelated picture that must survive.
            decoder.apply(&Encoder::new(EncoderConfig::default())
                .encode(&patterned(5, 5, 7)).unwrap()).unwrap();
            key
        } else {
            decoder.apply(&key).unwrap();
            delta
        };
        let mut update = target;
        for mutation in &mutations {
            if update.len() < 4 {
                break;
            }
            update = mutate(update, mutation);
        }
        let _ = apply_checked(&mut decoder, &update);
    }
}

/// A 512 x 512 frame of noise: 64 distinct 64 x 64 tiles (1 MiB).
fn noise_frame(seed: u64) -> Frame {
    Frame::new(512, 512, noise(seed).take(512 * 512 * 4).collect()).unwrap()
}

#[test]
fn cache_eviction_round_trips() {
    // 40 distinct screens of 1 MiB overflow the 32 MiB cache; going back to
    // earlier ones then mixes cache hits (recent screens), tiles that were
    // evicted and must be sent again, and copies from the key picture.
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut sizes = Vec::new();
    for seed in (0..40).chain([38, 37, 1, 0, 20, 39]) {
        let frame = noise_frame(seed);
        let update = encoder.encode(&frame).unwrap();
        decoder.apply(&update).unwrap();
        assert_eq!(decoder.framebuffer(), Some(&frame));
        sizes.push(update.len());
    }
    // Recent screens come back as cache references: tiny updates.
    assert!(sizes[40] < 4096, "{sizes:?}");
    assert!(sizes[41] < 4096, "{sizes:?}");
    // Screen 1 was evicted: it costs as much as fresh noise.
    assert!(sizes[42] > 1_000_000, "{sizes:?}");
    // Screen 0 is the key picture, which both sides keep: copied from it.
    assert!(sizes[43] < 4096, "{sizes:?}");
}

#[test]
fn every_truncation_of_a_valid_update_is_rejected() {
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut frame = patterned(100, 70, 5);
    let key = encoder.encode(&frame).unwrap();
    paint(&mut frame, 60, 60, 20, 20, 9);
    let delta = encoder.encode(&frame).unwrap();

    let mut decoder = Decoder::new(DecoderLimits::default());
    for len in 0..key.len() {
        assert!(apply_checked(&mut decoder, &key[..len]).is_err());
    }
    decoder.apply(&key).unwrap();
    for len in 0..delta.len() {
        assert!(apply_checked(&mut decoder, &delta[..len]).is_err());
    }
    decoder.apply(&delta).unwrap();
    assert_eq!(decoder.framebuffer(), Some(&frame));
}
