//! A progressive first picture: a key update over its byte budget is sent
//! as a lossy picture of its costly tiles plus the rest exact, then refined
//! tile by tile; with live updates interleaved it converges to bit-exact.

use proptest::prelude::*;
use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame, Rect};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 200;

/// A "photo" on the left two thirds (smooth waves plus grain: thousands of
/// colours per tile) and a flat "terminal" on the right.
fn desktop(seed: u32) -> Frame {
    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 4) as usize);
    let mut state = seed.wrapping_mul(747_796_405).wrapping_add(1);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let grain = (state >> 28) as f32;
            let pixel = if x < 210 {
                let (fx, fy) = (x as f32 / 17.0, y as f32 / 23.0);
                let wave = |phase: f32| {
                    (((fx + phase).sin() + (fy * 1.3 - phase).cos()) * 60.0 + 128.0 + grain) as u8
                };
                [wave(0.0), wave(1.0), wave(2.0), 255]
            } else {
                [24, 24, 24, 255]
            };
            pixels.extend_from_slice(&pixel);
        }
    }
    Frame::new(WIDTH, HEIGHT, pixels).unwrap()
}

fn paint(frame: &mut Frame, rect: Rect, colour: [u8; 4]) {
    for y in rect.y..rect.y + rect.height {
        for x in rect.x..rect.x + rect.width {
            let at = ((y * WIDTH + x) * 4) as usize;
            frame.pixels_mut()[at..at + 4].copy_from_slice(&colour);
        }
    }
}

fn progressive_encoder(budget: usize) -> Encoder {
    Encoder::new(EncoderConfig {
        key_budget: Some(budget),
        ..EncoderConfig::default()
    })
}

#[test]
fn small_key_updates_stay_lossless() {
    let frame = desktop(1);
    let lossless = Encoder::new(EncoderConfig::default())
        .encode(&frame)
        .unwrap();
    let mut encoder = progressive_encoder(lossless.len() + 100);
    assert_eq!(encoder.encode(&frame).unwrap(), lossless);
    assert_eq!(encoder.approximate_tiles(), 0);
    assert!(encoder.refine(1 << 20).is_none());
}

#[test]
fn a_progressive_first_picture_converges_to_bit_exact() {
    let frame = desktop(2);
    let lossless = Encoder::new(EncoderConfig::default())
        .encode(&frame)
        .unwrap();
    let budget = lossless.len() / 4;
    let mut encoder = progressive_encoder(budget);
    let mut decoder = Decoder::new(DecoderLimits::default());
    let first = encoder.encode(&frame).unwrap();
    assert!(first.len() <= budget, "{} > {budget}", first.len());
    assert!(decoder.apply(&first).unwrap().key);
    let approximate = decoder.approximate_tiles();
    assert!(approximate > 0);
    assert_eq!(approximate, encoder.approximate_tiles());
    // The lossy picture resembles the frame: every channel within a few
    // levels on average.
    let picture = decoder.framebuffer().unwrap();
    assert_ne!(picture, &frame);
    let error: u64 = picture
        .pixels()
        .iter()
        .zip(frame.pixels())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    assert!(
        error < frame.pixels().len() as u64 * 6,
        "mean error {}",
        error / frame.pixels().len() as u64
    );
    // The flat part (its own key tiles, from x = 256) is exact already.
    let column = 288 * 4;
    for y in 0..HEIGHT as usize {
        let row = y * WIDTH as usize * 4;
        assert_eq!(
            picture.pixels()[row + column..row + column + 4],
            [24, 24, 24, 255]
        );
    }

    let chunk = 6000;
    let mut total = first.len();
    let mut rounds = 0;
    while let Some(refinement) = encoder.refine(chunk) {
        // A 32 x 32 tile is at most 4 KiB raw: every chunk fits.
        assert!(refinement.len() <= chunk, "{} > {chunk}", refinement.len());
        assert!(!decoder.apply(&refinement).unwrap().key);
        assert_eq!(decoder.approximate_tiles(), encoder.approximate_tiles());
        total += refinement.len();
        rounds += 1;
        assert!(rounds < 1000);
    }
    assert_eq!(decoder.approximate_tiles(), 0);
    assert_eq!(decoder.framebuffer(), Some(&frame));
    assert!(rounds > 1);
    // Progressive costs more than lossless in all, but not wildly more.
    assert!(total < lossless.len() * 2, "{total} vs {}", lossless.len());
    assert!(encoder.encode(&frame).is_none());
}

#[derive(Clone, Debug)]
enum Step {
    /// A live change: a rectangle painted one colour (damage reported).
    Paint(Rect, u8),
    /// A refinement of at most this many bytes.
    Refine(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..WIDTH - 1, 0..HEIGHT - 1, 1..=60u32, 1..=60u32, any::<u8>()).prop_map(|(x, y, w, h, shade)| {
            Step::Paint(Rect { x, y, width: w.min(WIDTH - x), height: h.min(HEIGHT - y) }, shade)
        }),
        3 => (1..=20_000usize).prop_map(Step::Refine),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Live updates interleaved with refinements: bit-exact wherever the
    /// decoder says it is, and everywhere once refinement ends.
    #[test]
    fn live_updates_and_refinements_interleave(seed in any::<u32>(), steps in prop::collection::vec(step(), 0..24)) {
        let mut frame = desktop(seed);
        let mut encoder = progressive_encoder(8_000);
        let mut decoder = Decoder::new(DecoderLimits::default());
        decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        for step in &steps {
            let update = match *step {
                Step::Paint(rect, shade) => {
                    paint(&mut frame, rect, [shade, 255 - shade, shade / 3, 255]);
                    encoder.encode_with_damage(&frame, &[rect])
                }
                Step::Refine(max) => encoder.refine(max),
            };
            if let Some(update) = update {
                decoder.apply(&update).unwrap();
            }
            prop_assert_eq!(decoder.approximate_tiles(), encoder.approximate_tiles());
            if decoder.approximate_tiles() == 0 {
                prop_assert!(decoder.framebuffer() == Some(&frame));
            }
        }
        while let Some(refinement) = encoder.refine(4096) {
            decoder.apply(&refinement).unwrap();
        }
        prop_assert_eq!(decoder.approximate_tiles(), 0);
        prop_assert!(decoder.framebuffer() == Some(&frame));
    }
}
