//! Benchmarks the Tether codec on a screen-content corpus against zstd-1,
//! PNG and x264 (through `ffmpeg`), per sequence. See `docs/benchmarks.md`.
//!
//! ```sh
//! cargo run --release -p tether-codec --example corpus_bench -- ../shared/corpus [--json]
//! ```
//!
//! Exits non-zero if any Tether decode is not bit-exact (or the output
//! depends on the thread count).
//!
//! With `--first-picture`, measures instead the first picture of each
//! sequence (and of a photo desktop with `--photo FILE`) sent losslessly and
//! progressively, with times on a 4 Mbit/s, 60 ms link.

mod accounting;
mod corpus;
mod measure;
mod progressive;
mod report;
mod x264;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use report::{Codecs, SequenceReport};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Tether codec vs zstd-1, PNG and x264 on a screen-content corpus")]
struct Args {
    /// The corpus folder: one sub-folder per sequence with meta.json and
    /// frames.bgra.zst.
    corpus: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Use at most this many frames of each sequence.
    #[arg(long, default_value_t = usize::MAX)]
    frames: usize,
    /// Only the sequences with these names (comma separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip the x264 baselines.
    #[arg(long)]
    no_x264: bool,
    /// Measure Tether alone (no baseline at all), for quick iterations.
    #[arg(long)]
    tether_only: bool,
    /// Measure the first picture (frame 0) of each sequence, lossless and
    /// progressive, instead of the sequences.
    #[arg(long)]
    first_picture: bool,
    /// With --first-picture: the key update budget in bytes (1 s at 4 Mbit/s).
    #[arg(long, default_value_t = 500_000)]
    budget: usize,
    /// With --first-picture: the largest refinement update in bytes.
    #[arg(long, default_value_t = 65_536)]
    chunk: usize,
    /// With --first-picture: also a photo desktop, this image scaled over
    /// the screen with the left half of the first sequence's frame on top.
    #[arg(long)]
    photo: Option<PathBuf>,
}

fn first_pictures(args: &Args) -> Result<bool, String> {
    let mut all = Vec::new();
    let mut photo_done = false;
    for sequence in corpus::sequences(&args.corpus)? {
        if !args.only.is_empty() && !args.only.contains(&sequence.meta.name) {
            continue;
        }
        eprintln!("first picture of {} ...", sequence.meta.name);
        let (width, height) = (sequence.meta.width, sequence.meta.height);
        let mut frame = tether_codec::Frame::blank(width, height);
        corpus::Frames::open(&sequence, 1)?.next_into(frame.pixels_mut())?;
        let mut frames = vec![(sequence.meta.name.clone(), frame.clone())];
        if let Some(photo) = args.photo.as_ref().filter(|_| !photo_done) {
            let name = format!(
                "photo-desktop ({} + half of {})",
                photo.display(),
                sequence.meta.name
            );
            frames.push((name, progressive::photo_desktop(photo, &frame)?));
            photo_done = true;
        }
        for (name, frame) in frames {
            let figures = progressive::measure(&name, &frame, args.budget, args.chunk);
            if !args.json {
                progressive::print_text(&figures);
            }
            all.push(figures);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?
        );
    }
    Ok(all.iter().all(|figures| figures.bit_exact))
}

#[derive(Serialize)]
struct Output {
    sequences: Vec<SequenceReport>,
}

fn run(args: &Args) -> Result<bool, String> {
    if args.first_picture {
        return first_pictures(args);
    }
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| e.to_string())?;
    let all = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| e.to_string())?;
    let skip_x264 = args.no_x264 || args.tether_only;
    let use_x264 = !skip_x264 && x264::available();
    if !skip_x264 && !use_x264 {
        eprintln!("warning: ffmpeg not found; x264 baselines skipped (apt-get install ffmpeg)");
    }
    let scratch = std::env::temp_dir().join(format!("corpus_bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    let mut exact = true;
    for sequence in corpus::sequences(&args.corpus)? {
        if !args.only.is_empty() && !args.only.contains(&sequence.meta.name) {
            continue;
        }
        eprintln!("measuring {} ...", sequence.meta.name);
        let measured = measure::measure(&sequence, args.frames, !args.tether_only, &one, &all)?;
        let (x264_crf23, x264rgb_lossless) = if use_x264 {
            let mut figures = x264::measure(&sequence, args.frames, &scratch)?.into_iter();
            (figures.next(), figures.next())
        } else {
            (None, None)
        };
        exact &=
            measured.extras.mismatched_frames == 0 && measured.extras.nondeterministic_frames == 0;
        let report = SequenceReport {
            name: sequence.meta.name.clone(),
            width: sequence.meta.width,
            height: sequence.meta.height,
            frames: measured.frames,
            memcmp_ms: measured.memcmp_ms,
            codecs: Codecs {
                tether: measured.tether,
                zstd1: measured.zstd1,
                png: measured.png,
                x264_crf23,
                x264rgb_lossless,
            },
            tether_extras: measured.extras,
            accounting: measured.accounting,
        };
        if !args.json {
            report::print_text(&report);
        }
        reports.push(report);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if reports.is_empty() {
        return Err(format!("no sequence found in {}", args.corpus.display()));
    }
    if args.json {
        let output = Output { sequences: reports };
        println!(
            "{}",
            serde_json::to_string_pretty(&output).map_err(|e| e.to_string())?
        );
    }
    Ok(exact)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: a Tether decode was not bit-exact or not deterministic");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
