//! The first picture on a thin link: a lossless key update against a
//! progressive one (lossy JPEG of the costly tiles within a budget, then
//! lossless refinements), on the first frame of each sequence and on a
//! photo desktop. Times are computed for a link of `rate` bit/s with a
//! one-way delay of half the round trip, counting QUIC/UDP/IPv4 packet
//! overhead; both are sent back to back from consent. The times include
//! encoding the first update and decoding it (the last refinement's
//! decoding for bit-exact), measured here.

use std::time::{Duration, Instant};

use serde::Serialize;
use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};

use crate::accounting::{QUIC_PACKET_OVERHEAD, QUIC_PACKET_PAYLOAD};

/// The link of the issue: 4 Mbit/s, 60 ms round trip.
pub const RATE_BITS: f64 = 4_000_000.0;
pub const ROUND_TRIP_S: f64 = 0.060;

/// Figures of one first picture.
#[derive(Debug, Clone, Serialize)]
pub struct FirstPicture {
    pub name: String,
    pub lossless_bytes: usize,
    pub lossless_encode_ms: f64,
    pub lossless_decode_ms: f64,
    pub lossless_seconds: f64,
    pub budget: usize,
    /// The first (possibly lossy) update.
    pub first_bytes: usize,
    pub first_picture_bytes: usize,
    pub first_encode_ms: f64,
    pub first_decode_ms: f64,
    pub first_seconds: f64,
    /// PSNR of the decoder's picture after the first update, RGB, over all
    /// pixels; `None` when it is bit-exact.
    pub first_psnr_db: Option<f64>,
    pub approximate_tiles: usize,
    pub refinements: usize,
    pub refine_chunk: usize,
    pub total_bytes: usize,
    pub refine_encode_ms: f64,
    pub refine_decode_ms: f64,
    pub exact_seconds: f64,
    pub bit_exact: bool,
}

/// Seconds until the last of `bytes` arrives over the link, sent from 0.
fn seconds(bytes: usize) -> f64 {
    let packets = bytes.div_ceil(QUIC_PACKET_PAYLOAD);
    let wire = bytes + packets * QUIC_PACKET_OVERHEAD;
    ROUND_TRIP_S / 2.0 + wire as f64 * 8.0 / RATE_BITS
}

fn psnr(a: &Frame, b: &Frame) -> Option<f64> {
    let mut squares = 0u64;
    let mut count = 0u64;
    for (p, q) in a.pixels().chunks_exact(4).zip(b.pixels().chunks_exact(4)) {
        for c in 0..3 {
            let d = i64::from(p[c]) - i64::from(q[c]);
            squares += (d * d) as u64;
        }
        count += 3;
    }
    (squares > 0).then(|| 10.0 * (255.0f64 * 255.0 * count as f64 / squares as f64).log10())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Measures `frame` with the given budget and refinement chunk size.
pub fn measure(name: &str, frame: &Frame, budget: usize, chunk: usize) -> FirstPicture {
    let limits = DecoderLimits {
        max_width: frame.width(),
        max_height: frame.height(),
    };
    let started = Instant::now();
    let lossless = Encoder::new(EncoderConfig::default())
        .encode(frame)
        .expect("a first frame");
    let lossless_encode = started.elapsed();
    let started = Instant::now();
    Decoder::new(limits).apply(&lossless).expect("valid");
    let lossless_decode = started.elapsed();

    let mut encoder = Encoder::new(EncoderConfig {
        key_budget: Some(budget),
        ..EncoderConfig::default()
    });
    let mut decoder = Decoder::new(limits);
    let started = Instant::now();
    let first = encoder.encode(frame).expect("a first frame");
    let first_encode = started.elapsed();
    let first_picture_bytes = encoder.last_stats().picture_bytes;
    let started = Instant::now();
    decoder.apply(&first).expect("valid");
    let first_decode = started.elapsed();
    let first_psnr_db = psnr(decoder.framebuffer().expect("a picture"), frame);
    let approximate_tiles = decoder.approximate_tiles();

    let (mut refine_encode, mut refine_decode) = (Duration::ZERO, Duration::ZERO);
    let mut total = first.len();
    let mut refinements = 0;
    loop {
        let started = Instant::now();
        let Some(update) = encoder.refine(chunk) else {
            break;
        };
        refine_encode += started.elapsed();
        let started = Instant::now();
        decoder.apply(&update).expect("valid");
        refine_decode += started.elapsed();
        total += update.len();
        refinements += 1;
    }
    FirstPicture {
        name: name.to_string(),
        lossless_bytes: lossless.len(),
        lossless_encode_ms: ms(lossless_encode),
        lossless_decode_ms: ms(lossless_decode),
        lossless_seconds: (lossless_encode + lossless_decode).as_secs_f64()
            + seconds(lossless.len()),
        budget,
        first_bytes: first.len(),
        first_picture_bytes,
        first_encode_ms: ms(first_encode),
        first_decode_ms: ms(first_decode),
        first_seconds: (first_encode + first_decode).as_secs_f64() + seconds(first.len()),
        first_psnr_db,
        approximate_tiles,
        refinements,
        refine_chunk: chunk,
        total_bytes: total,
        refine_encode_ms: ms(refine_encode),
        refine_decode_ms: ms(refine_decode),
        exact_seconds: first_encode.as_secs_f64()
            + seconds(total)
            + refine_decode.as_secs_f64() / refinements.max(1) as f64,
        bit_exact: decoder.framebuffer() == Some(frame) && decoder.approximate_tiles() == 0,
    }
}

/// A photo desktop: `photo` (any image file) scaled over the frame, with
/// the left half of `desktop` (a real screen) on top.
pub fn photo_desktop(photo: &std::path::Path, desktop: &Frame) -> Result<Frame, String> {
    let image = image::open(photo).map_err(|e| format!("{}: {e}", photo.display()))?;
    let (width, height) = (desktop.width(), desktop.height());
    let scaled = image
        .resize_exact(width, height, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut pixels = Vec::with_capacity(desktop.pixels().len());
    for (i, rgb) in scaled.pixels().enumerate() {
        let x = i as u32 % width;
        if x < width / 2 {
            pixels.extend_from_slice(&desktop.pixels()[i * 4..i * 4 + 4]);
        } else {
            pixels.extend_from_slice(&[rgb[2], rgb[1], rgb[0], 255]);
        }
    }
    Frame::new(width, height, pixels).map_err(|e| e.to_string())
}

/// Prints one first picture.
pub fn print_text(figures: &FirstPicture) {
    let psnr = figures
        .first_psnr_db
        .map_or("exact".to_string(), |db| format!("{db:.2} dB"));
    println!(
        "first picture {}: lossless key {} bytes ({:.0} ms enc, {:.0} ms dec) = {:.2} s at 4 Mbit/s; \
         progressive (budget {}): first {} bytes (JPEG {}) {:.0} ms enc, {:.0} ms dec, complete at {:.2} s, \
         PSNR {psnr}, {} approximate tiles; {} refinements of <= {} bytes ({:.0} ms enc, {:.0} ms dec), \
         total {} bytes, bit-exact at {:.2} s: {}",
        figures.name,
        figures.lossless_bytes,
        figures.lossless_encode_ms,
        figures.lossless_decode_ms,
        figures.lossless_seconds,
        figures.budget,
        figures.first_bytes,
        figures.first_picture_bytes,
        figures.first_encode_ms,
        figures.first_decode_ms,
        figures.first_seconds,
        figures.approximate_tiles,
        figures.refinements,
        figures.refine_chunk,
        figures.refine_encode_ms,
        figures.refine_decode_ms,
        figures.total_bytes,
        figures.exact_seconds,
        if figures.bit_exact { "yes" } else { "NO" },
    );
}
