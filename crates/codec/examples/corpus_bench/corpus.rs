//! Reading a benchmark corpus: `NAME/meta.json` plus `NAME/frames.bgra.zst`
//! (see the corpus README).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The fields of `meta.json` the benchmark needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
}

/// One sequence folder.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub meta: Meta,
    pub dir: PathBuf,
}

/// The sequences of `corpus`, sorted by folder name.
pub fn sequences(corpus: &Path) -> Result<Vec<Sequence>, String> {
    let entries = std::fs::read_dir(corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let dir = entry.map_err(|e| e.to_string())?.path();
        let meta_path = dir.join("meta.json");
        if !meta_path.is_file() || !dir.join("frames.bgra.zst").is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&meta_path)
            .map_err(|e| format!("{}: {e}", meta_path.display()))?;
        let meta: Meta =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", meta_path.display()))?;
        found.push(Sequence { meta, dir });
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

/// Streams the frames of a sequence, at most `limit` of them.
pub struct Frames {
    decoder: zstd::stream::read::Decoder<'static, BufReader<File>>,
    left: usize,
}

impl Frames {
    pub fn open(sequence: &Sequence, limit: usize) -> Result<Frames, String> {
        let path = sequence.dir.join("frames.bgra.zst");
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut decoder = zstd::stream::read::Decoder::new(file).map_err(|e| e.to_string())?;
        decoder.window_log_max(28).map_err(|e| e.to_string())?;
        Ok(Frames {
            decoder,
            left: limit.min(sequence.meta.frames),
        })
    }

    /// Reads the next frame into `buffer` (exactly one frame long); false
    /// at the end.
    pub fn next_into(&mut self, buffer: &mut [u8]) -> Result<bool, String> {
        if self.left == 0 {
            return Ok(false);
        }
        self.left -= 1;
        self.decoder
            .read_exact(buffer)
            .map_err(|e| format!("reading frames: {e}"))?;
        Ok(true)
    }
}
