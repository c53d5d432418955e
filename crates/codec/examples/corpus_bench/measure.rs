//! In-process measurements: Tether (one thread and all threads), zstd-1 and
//! PNG of each full frame, and the memcmp floor.

use std::time::{Duration, Instant};

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rayon::ThreadPool;
use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};

use crate::accounting::Accounting;
use crate::corpus::{Frames, Sequence};
use crate::report::{CodecFigures, TetherExtras};

/// Accumulated time and bytes of one codec.
#[derive(Default)]
struct Totals {
    bytes: u64,
    encode: Duration,
    encode_mt: Duration,
    decode: Duration,
}

impl Totals {
    fn figures(&self, frames: usize, mt: bool) -> CodecFigures {
        let per_frame = |d: Duration| d.as_secs_f64() * 1000.0 / frames.max(1) as f64;
        CodecFigures {
            bytes_per_frame: self.bytes as f64 / frames.max(1) as f64,
            encode_ms_per_frame: per_frame(self.encode),
            encode_ms_per_frame_mt: mt.then(|| per_frame(self.encode_mt)),
            decode_ms_per_frame: per_frame(self.decode),
        }
    }
}

/// The in-process results for one sequence.
pub struct InProcess {
    pub frames: usize,
    pub memcmp_ms: f64,
    pub tether: CodecFigures,
    pub zstd1: Option<CodecFigures>,
    pub png: Option<CodecFigures>,
    pub extras: TetherExtras,
    pub accounting: Accounting,
}

fn timed<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    *total += start.elapsed();
    value
}

/// PNG of a BGRA frame, written as RGB (alpha is constant in the corpus),
/// with the image crate's fast compression and adaptive filtering.
fn png_encode(frame: &Frame) -> Result<Vec<u8>, String> {
    let rgb: Vec<u8> = frame
        .pixels()
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(&rgb, frame.width(), frame.height(), ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Runs every in-process codec over the first `limit` frames.
pub fn measure(
    sequence: &Sequence,
    limit: usize,
    baselines: bool,
    one: &ThreadPool,
    all: &ThreadPool,
) -> Result<InProcess, String> {
    let (width, height) = (sequence.meta.width, sequence.meta.height);
    let limits = DecoderLimits {
        max_width: width,
        max_height: height,
    };
    let mut frames = Frames::open(sequence, limit)?;
    let mut current = Frame::blank(width, height);
    let mut previous = Frame::blank(width, height);
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut encoder_mt = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(limits);
    let mut zstd_compressor = zstd::bulk::Compressor::new(1).map_err(|e| e.to_string())?;
    let mut zstd_decompressor = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    let (mut tether, mut zstd1, mut png) =
        (Totals::default(), Totals::default(), Totals::default());
    let mut memcmp = Duration::ZERO;
    let mut memcmp_count = 0u32;
    let mut unchanged = Duration::ZERO;
    let mut unchanged_count = 0u32;
    let mut extras = TetherExtras {
        unchanged_encode_ms_per_frame: None,
        mismatched_frames: 0,
        nondeterministic_frames: 0,
        threads: all.current_num_threads(),
    };
    let mut accounting = Accounting::default();
    let mut count = 0usize;
    while frames.next_into(current.pixels_mut())? {
        let repeat = count > 0 && timed(&mut memcmp, || current == previous);
        if repeat {
            memcmp_count += 1;
        }
        let mut encode_time = Duration::ZERO;
        let update = one.install(|| timed(&mut encode_time, || encoder.encode(&current)));
        tether.encode += encode_time;
        if repeat {
            unchanged += encode_time;
            unchanged_count += 1;
        }
        let update_mt =
            all.install(|| timed(&mut tether.encode_mt, || encoder_mt.encode(&current)));
        if update != update_mt {
            extras.nondeterministic_frames += 1;
        }
        if let Some(update) = &update {
            accounting.add(encoder.last_stats(), update.len(), count as u64);
            tether.bytes += update.len() as u64;
            let applied = one.install(|| timed(&mut tether.decode, || decoder.apply(update)));
            if let Err(error) = applied {
                return Err(format!("frame {count}: tether decode failed: {error}"));
            }
        }
        if decoder.framebuffer() != Some(&current) {
            extras.mismatched_frames += 1;
        }

        if !baselines {
            std::mem::swap(&mut current, &mut previous);
            count += 1;
            continue;
        }
        let compressed = timed(&mut zstd1.encode, || {
            zstd_compressor.compress(current.pixels())
        })
        .map_err(|e| e.to_string())?;
        zstd1.bytes += compressed.len() as u64;
        let restored = timed(&mut zstd1.decode, || {
            zstd_decompressor.decompress(&compressed, current.pixels().len())
        })
        .map_err(|e| e.to_string())?;
        if restored != current.pixels() {
            return Err(format!("frame {count}: zstd round trip differs"));
        }

        let encoded = timed(&mut png.encode, || png_encode(&current))?;
        png.bytes += encoded.len() as u64;
        timed(&mut png.decode, || image::load_from_memory(&encoded)).map_err(|e| e.to_string())?;

        std::mem::swap(&mut current, &mut previous);
        count += 1;
    }
    if memcmp_count == 0 {
        // No repeated frame: time a full comparison of two equal frames.
        let twin = previous.clone();
        memcmp_count = 1;
        timed(&mut memcmp, || twin == previous);
    }
    if unchanged_count > 0 {
        extras.unchanged_encode_ms_per_frame =
            Some(unchanged.as_secs_f64() * 1000.0 / f64::from(unchanged_count));
    }
    Ok(InProcess {
        frames: count,
        memcmp_ms: memcmp.as_secs_f64() * 1000.0 / f64::from(memcmp_count),
        tether: tether.figures(count, true),
        zstd1: baselines.then(|| zstd1.figures(count, false)),
        png: baselines.then(|| png.figures(count, false)),
        extras,
        accounting,
    })
}
