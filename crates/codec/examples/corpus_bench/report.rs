//! Figures and their presentation: a text table or one JSON object.

use serde::Serialize;

use crate::accounting::{self, Accounting};

/// One codec's figures on one sequence, per frame.
#[derive(Debug, Clone, Serialize)]
pub struct CodecFigures {
    pub bytes_per_frame: f64,
    /// CPU on one thread.
    pub encode_ms_per_frame: f64,
    /// Wall time on all threads, where the codec is parallel.
    pub encode_ms_per_frame_mt: Option<f64>,
    pub decode_ms_per_frame: f64,
}

/// Tether-only extras.
#[derive(Debug, Clone, Serialize)]
pub struct TetherExtras {
    /// Encode time of frames equal to their predecessor (1 thread).
    pub unchanged_encode_ms_per_frame: Option<f64>,
    /// Frames whose decoded picture was not bit-exact.
    pub mismatched_frames: usize,
    /// Frames whose update differed between 1 thread and all threads.
    pub nondeterministic_frames: usize,
    /// Worker threads of the "all threads" pool.
    pub threads: usize,
}

/// Everything measured on one sequence.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceReport {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    pub memcmp_ms: f64,
    pub codecs: Codecs,
    pub tether_extras: TetherExtras,
    pub accounting: Accounting,
}

/// The codecs of the issue, by name; baselines are `None` when skipped
/// (x264 also without ffmpeg).
#[derive(Debug, Clone, Serialize)]
pub struct Codecs {
    pub tether: CodecFigures,
    pub zstd1: Option<CodecFigures>,
    pub png: Option<CodecFigures>,
    pub x264_crf23: Option<CodecFigures>,
    pub x264rgb_lossless: Option<CodecFigures>,
}

fn ratio(a: f64, b: Option<&CodecFigures>, pick: fn(&CodecFigures) -> f64) -> String {
    match b.map(pick) {
        Some(b) if b > 0.0 => format!("{:.3}", a / b),
        _ => "n/a".to_string(),
    }
}

/// Prints one sequence as a table plus the ratios the targets use.
pub fn print_text(report: &SequenceReport) {
    println!(
        "== {} {}x{}, {} frames; floor (memcmp of two frames): {:.3} ms",
        report.name, report.width, report.height, report.frames, report.memcmp_ms
    );
    println!(
        "{:<18} {:>12} {:>14} {:>16} {:>12}",
        "codec", "bytes/frame", "enc ms (1 thr)", "enc ms (all thr)", "dec ms"
    );
    let codecs = &report.codecs;
    let rows: [(&str, Option<&CodecFigures>); 5] = [
        ("tether", Some(&codecs.tether)),
        ("zstd1", codecs.zstd1.as_ref()),
        ("png", codecs.png.as_ref()),
        ("x264_crf23", codecs.x264_crf23.as_ref()),
        ("x264rgb_lossless", codecs.x264rgb_lossless.as_ref()),
    ];
    for (name, figures) in rows {
        match figures {
            Some(f) => println!(
                "{:<18} {:>12.0} {:>14.3} {:>16} {:>12.3}",
                name,
                f.bytes_per_frame,
                f.encode_ms_per_frame,
                f.encode_ms_per_frame_mt
                    .map_or("-".to_string(), |v| format!("{v:.3}")),
                f.decode_ms_per_frame
            ),
            None => println!("{name:<18} (not measured)"),
        }
    }
    let tether = &codecs.tether;
    let extras = &report.tether_extras;
    println!(
        "tether/x264_crf23: bytes {}, encode CPU {}; tether/x264rgb_lossless: bytes {}",
        ratio(tether.bytes_per_frame, codecs.x264_crf23.as_ref(), |f| f
            .bytes_per_frame),
        ratio(
            tether.encode_ms_per_frame,
            codecs.x264_crf23.as_ref(),
            |f| f.encode_ms_per_frame
        ),
        ratio(
            tether.bytes_per_frame,
            codecs.x264rgb_lossless.as_ref(),
            |f| f.bytes_per_frame
        ),
    );
    println!(
        "tether: unchanged frame {} ms ({} x memcmp); encode/decode {:.1}x; {} threads; \
         mismatched frames {}, nondeterministic frames {}",
        extras
            .unchanged_encode_ms_per_frame
            .map_or("n/a".to_string(), |v| format!("{v:.3}")),
        extras
            .unchanged_encode_ms_per_frame
            .map_or("n/a".to_string(), |v| format!(
                "{:.2}",
                v / report.memcmp_ms
            )),
        tether.encode_ms_per_frame / tether.decode_ms_per_frame.max(1e-9),
        extras.threads,
        extras.mismatched_frames,
        extras.nondeterministic_frames
    );
    accounting::print_text(&report.accounting);
    println!();
}
