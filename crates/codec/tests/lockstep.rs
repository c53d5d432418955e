//! The compression stream that spans delta updates: encoder and decoder
//! keep it in lockstep, both start over at every key update, so a session
//! survives key updates, a resume (the agent resets its encoder, the viewer
//! keeps its decoder and drops what it had half received) and a lost
//! update followed by a key update, decoding bit-exactly after each.

use proptest::prelude::*;
use tether_codec::{DecodeError, Decoder, DecoderLimits, Encoder, EncoderConfig, Frame, Rect};

const WIDTH: u32 = 240;
const HEIGHT: u32 = 96;

/// A terminal-like screen: dark background, light "glyphs" of 6 x 12
/// pixels drawn from a seed.
fn terminal() -> Frame {
    Frame::new(
        WIDTH,
        HEIGHT,
        [30, 30, 30, 255].repeat((WIDTH * HEIGHT) as usize),
    )
    .unwrap()
}

/// Draws glyph `glyph` (a 6 x 12 bit pattern from its number) in cell
/// (`column`, `row`); returns the cell's rectangle (the damage).
fn type_glyph(frame: &mut Frame, column: u32, row: u32, glyph: u8) -> Rect {
    let cell = Rect {
        x: (column * 6) % (WIDTH - 6),
        y: (row * 12) % (HEIGHT - 12),
        width: 6,
        height: 12,
    };
    for dy in 0..12 {
        for dx in 0..6 {
            let on = (u32::from(glyph).wrapping_mul(2_654_435_761) >> ((dy * 6 + dx) % 29)) & 1;
            let colour = if on == 1 {
                [220, 220, 220, 255]
            } else {
                [30, 30, 30, 255]
            };
            let at = (((cell.y + dy) * WIDTH + cell.x + dx) * 4) as usize;
            frame.pixels_mut()[at..at + 4].copy_from_slice(&colour);
        }
    }
    cell
}

fn apply(decoder: &mut Decoder, update: &[u8], frame: &Frame) {
    decoder.apply(update).expect("a valid update");
    assert!(decoder.framebuffer() == Some(frame), "not bit-exact");
}

#[test]
fn repeated_glyphs_cost_little_once_in_the_history() {
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut frame = terminal();
    apply(&mut decoder, &encoder.encode(&frame).unwrap(), &frame);
    let mut sizes = Vec::new();
    for column in 0..30 {
        let damage = type_glyph(&mut frame, column, 1, b"abc"[column as usize % 3]);
        let update = encoder.encode_with_damage(&frame, &[damage]).unwrap();
        apply(&mut decoder, &update, &frame);
        sizes.push(update.len());
    }
    // A glyph seen before costs a reference into the stream's history
    // rather than its pixels: half of its first appearance or less.
    let mut late = sizes[3..].to_vec();
    late.sort_unstable();
    assert!(late[late.len() / 2] * 2 <= sizes[0], "{sizes:?}");
}

#[test]
fn lockstep_survives_key_updates_resumes_and_losses() {
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut frame = terminal();
    apply(&mut decoder, &encoder.encode(&frame).unwrap(), &frame);
    let mut column = 0;
    let mut type_some = |encoder: &mut Encoder, decoder: &mut Decoder, frame: &mut Frame| {
        for _ in 0..12 {
            column += 1;
            let damage = type_glyph(frame, column, column / 40, (column % 7) as u8 + 1);
            let update = encoder.encode_with_damage(frame, &[damage]).unwrap();
            assert!(!decoder.apply(&update).unwrap().key);
            assert!(decoder.framebuffer() == Some(frame), "not bit-exact");
        }
    };
    type_some(&mut encoder, &mut decoder, &mut frame);

    // A key update mid-session (a new size): both streams start over.
    frame = Frame::new(
        WIDTH,
        HEIGHT - 12,
        frame.pixels()[..(WIDTH * (HEIGHT - 12) * 4) as usize].to_vec(),
    )
    .unwrap();
    let key = encoder.encode(&frame).unwrap();
    assert!(decoder.apply(&key).unwrap().key);
    type_some(&mut encoder, &mut decoder, &mut frame);

    // A resume: the stream broke while an update was on its way (the viewer
    // dropped it half received); the agent resets its encoder, the viewer
    // keeps its decoder.
    let damage = type_glyph(&mut frame, 3, 3, 9);
    let _dropped = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    encoder.reset();
    let key = encoder.encode(&frame).unwrap();
    assert!(decoder.apply(&key).unwrap().key);
    assert!(decoder.framebuffer() == Some(&frame));
    type_some(&mut encoder, &mut decoder, &mut frame);

    // An update lost without a reset: here the first delta after a key
    // update, which opens the stream's zstd frame. The next delta is then
    // refused, and after that the decoder waits for a key update.
    encoder.reset();
    let key = encoder.encode(&frame).unwrap();
    assert!(decoder.apply(&key).unwrap().key);
    let damage = type_glyph(&mut frame, 50, 2, 3);
    let _lost = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    let before = decoder.framebuffer().cloned();
    let damage = type_glyph(&mut frame, 51, 2, 3);
    let next = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    assert!(matches!(
        decoder.apply(&next),
        Err(DecodeError::Decompress(_))
    ));
    let damage = type_glyph(&mut frame, 52, 2, 4);
    let after = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    assert!(matches!(
        decoder.apply(&after),
        Err(DecodeError::StreamLost)
    ));
    assert_eq!(decoder.framebuffer().cloned(), before);
    encoder.reset();
    let key = encoder.encode(&frame).unwrap();
    assert!(decoder.apply(&key).unwrap().key);
    assert!(decoder.framebuffer() == Some(&frame));
    type_some(&mut encoder, &mut decoder, &mut frame);
}

#[test]
fn a_corrupt_payload_loses_the_stream_until_a_key_update() {
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut frame = terminal();
    apply(&mut decoder, &encoder.encode(&frame).unwrap(), &frame);
    let damage = type_glyph(&mut frame, 1, 1, 1);
    let mut update = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    // The first delta after a key update opens the stream's zstd frame:
    // break its magic number.
    let magic = [0x28, 0xb5, 0x2f, 0xfd];
    let at = update
        .windows(4)
        .position(|window| window == magic)
        .expect("a zstd frame starts in the first delta");
    update[at] ^= 0xff;
    let before = decoder.framebuffer().cloned();
    assert!(matches!(
        decoder.apply(&update),
        Err(DecodeError::Decompress(_))
    ));
    assert_eq!(decoder.framebuffer().cloned(), before);
    let damage = type_glyph(&mut frame, 2, 1, 2);
    let next = encoder.encode_with_damage(&frame, &[damage]).unwrap();
    assert!(matches!(decoder.apply(&next), Err(DecodeError::StreamLost)));
    encoder.reset();
    let key = encoder.encode(&frame).unwrap();
    apply(&mut decoder, &key, &frame);
    let damage = type_glyph(&mut frame, 3, 1, 2);
    apply(
        &mut decoder,
        &encoder.encode_with_damage(&frame, &[damage]).unwrap(),
        &frame,
    );
}

#[derive(Clone, Debug)]
enum Event {
    /// Type glyph `glyph` at cell (`column`, `row`) with its cell as damage.
    Type { column: u32, row: u32, glyph: u8 },
    /// Repaint a rectangle with one colour, reporting it as damage.
    Fill {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        shade: u8,
    },
    /// The agent's encoder is reset (a resume or a new viewer).
    Reset,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        8 => (0..40u32, 0..8u32, any::<u8>()).prop_map(|(column, row, glyph)| Event::Type { column, row, glyph }),
        2 => (0..WIDTH, 0..HEIGHT, 1..=70u32, 1..=70u32, any::<u8>())
            .prop_map(|(x, y, width, height, shade)| Event::Fill { x, y, width, height, shade }),
        1 => Just(Event::Reset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random damage sequences, with resets among them, decode bit-exactly
    /// after every update, whatever the tile sizes.
    #[test]
    fn random_damage_sequences_decode_bit_exactly(
        tile_size in prop_oneof![Just(8u32), Just(16), Just(32), Just(64)],
        events in prop::collection::vec(event(), 1..40),
    ) {
        let config = EncoderConfig { tile_size, ..EncoderConfig::default() };
        let mut encoder = Encoder::new(config);
        let mut decoder = Decoder::new(DecoderLimits::default());
        let mut frame = terminal();
        decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        for event in &events {
            let damage = match *event {
                Event::Type { column, row, glyph } => type_glyph(&mut frame, column, row, glyph),
                Event::Fill { x, y, width, height, shade } => {
                    let (width, height) = (width.min(WIDTH - x), height.min(HEIGHT - y));
                    for row in y..y + height {
                        let start = ((row * WIDTH + x) * 4) as usize;
                        for pixel in frame.pixels_mut()[start..start + width as usize * 4].chunks_exact_mut(4) {
                            pixel.copy_from_slice(&[shade, shade / 2, 255 - shade, 255]);
                        }
                    }
                    Rect { x, y, width, height }
                }
                Event::Reset => {
                    encoder.reset();
                    Rect { x: 0, y: 0, width: WIDTH, height: HEIGHT }
                }
            };
            if let Some(update) = encoder.encode_with_damage(&frame, &[damage]) {
                decoder.apply(&update).unwrap();
            }
            prop_assert!(decoder.framebuffer() == Some(&frame), "not bit-exact after {:?}", event);
        }
    }
}

#[test]
fn a_large_update_restarts_the_stream_on_both_sides() {
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut frame = terminal();
    apply(&mut decoder, &encoder.encode(&frame).unwrap(), &frame);
    let damage = type_glyph(&mut frame, 1, 1, 1);
    apply(
        &mut decoder,
        &encoder.encode_with_damage(&frame, &[damage]).unwrap(),
        &frame,
    );
    // A screenful of noise: a body far over the restart threshold.
    let mut state = 1u32;
    let noise: Vec<u8> = (0..WIDTH * HEIGHT * 4 * 36)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let big = Frame::new(WIDTH * 6, HEIGHT * 6, noise).unwrap();
    apply(&mut decoder, &encoder.encode(&big).unwrap(), &big);
    let mut changed = big.clone();
    for byte in changed.pixels_mut().iter_mut().step_by(3) {
        *byte ^= 0x55;
    }
    let update = encoder.encode(&changed).unwrap();
    assert_eq!(update[3] & 4, 4, "the restart flag");
    apply(&mut decoder, &update, &changed);
    // Small updates go on in the new stream frame.
    for step in 0..5u32 {
        let at = (step * 97 * 4) as usize;
        changed.pixels_mut()[at] ^= 1;
        let update = encoder.encode(&changed).unwrap();
        assert_eq!(update[3] & 4, 0);
        apply(&mut decoder, &update, &changed);
    }
}
