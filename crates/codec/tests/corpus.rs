//! Corpus-derived round trips: real desktop sequences (see the corpus
//! README) go through one encoder/decoder pair and must decode bit-exactly,
//! including the size changes between sequences and a reset in each.
//!
//! The corpus is read from `$TETHER_CORPUS`, else `<workspace>/../shared/corpus`.
//! Without it the test is skipped, unless `$CI` is set, where it fails.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};

/// Frames read from the start of each sequence, and the step between the
/// frames encoded (larger steps make larger changes).
const FRAMES_1080P: usize = 90;
const FRAMES_4K: usize = 24;
const STEP: usize = 2;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("TETHER_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    }
}

/// (name, width, height, frames) of every sequence, sorted by folder.
fn sequences(dir: &PathBuf) -> Vec<(PathBuf, u32, u32, usize)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(path.join("meta.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        let number = |key: &str| meta[key].as_u64().unwrap();
        found.push((
            path,
            number("width") as u32,
            number("height") as u32,
            number("frames") as usize,
        ));
    }
    found.sort();
    found
}

#[test]
fn corpus_sequences_round_trip_bit_exactly() {
    let dir = corpus_dir();
    if !dir.join("README.md").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus not found at {} (set TETHER_CORPUS)",
            dir.display()
        );
        eprintln!(
            "SKIPPED: corpus not found at {}; set TETHER_CORPUS to run this test",
            dir.display()
        );
        return;
    }
    let sequences = sequences(&dir);
    assert!(!sequences.is_empty(), "no sequence in {}", dir.display());

    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut decoder = Decoder::new(DecoderLimits {
        max_width: 7680,
        max_height: 4320,
    });
    let (mut updates, mut bytes) = (0usize, 0usize);
    for (path, width, height, frames) in sequences {
        let limit = if width > 1920 {
            FRAMES_4K
        } else {
            FRAMES_1080P
        }
        .min(frames);
        let file = File::open(path.join("frames.bgra.zst")).unwrap();
        let mut stream = zstd::stream::read::Decoder::new(file).unwrap();
        stream.window_log_max(28).unwrap();
        let mut frame = Frame::blank(width, height);
        for index in 0..limit {
            stream.read_exact(frame.pixels_mut()).unwrap();
            if index % STEP != 0 {
                continue;
            }
            if index == limit / 2 {
                encoder.reset();
            }
            if let Some(update) = encoder.encode(&frame) {
                let summary = decoder.apply(&update).unwrap();
                assert_eq!((summary.width, summary.height), (width, height));
                updates += 1;
                bytes += update.len();
            }
            assert!(
                decoder.framebuffer() == Some(&frame),
                "{} frame {index} differs after decoding",
                path.display()
            );
        }
    }
    assert!(updates > 0);
    eprintln!("corpus round trip: {updates} updates, {bytes} bytes");
}
