//! The decoder: applies updates to a framebuffer.

use std::fmt;

use rayon::prelude::*;
use zstd::bulk::Decompressor;
use zstd::zstd_safe;

use crate::approx::ApproxMap;
use crate::cache::{tile_hash, TileCache};
use crate::error::DecodeError;
use crate::format::{TileGrid, Update};
use crate::frame::{row_ranges, Frame, Rect, BYTES_PER_PIXEL, MAX_DIMENSION};
use crate::lossy;
use crate::rebuild::{rebuild, Pictures};
use crate::record::{parse_body, Record, TileOp};
use crate::stream::StreamDecompressor;

/// Body bytes a tile record may add beyond its pixels: position varint,
/// kind, two sources, an area and a palette header.
const RECORD_OVERHEAD: u64 = 32;

/// The largest updates a [`Decoder`] accepts. They bound its memory: the
/// framebuffer, a copy of the last key picture, one body, one tile scratch
/// buffer and (for a progressive key update) one decoded lossy picture of
/// at most about `max_width * max_height * 4` bytes each, plus the
/// fixed-size tile cache (32 MiB) and the compression stream's 4 MiB window.
/// Limits above [`MAX_DIMENSION`] act as [`MAX_DIMENSION`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest frame width accepted, in pixels. Default 8192.
    pub max_width: u32,
    /// Largest frame height accepted, in pixels. Default 8192.
    pub max_height: u32,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_width: 8192,
            max_height: 8192,
        }
    }
}

/// What one applied update changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSummary {
    /// Whether it was a key update, which replaced the whole picture (and
    /// possibly its size).
    pub key: bool,
    /// Width of the framebuffer after the update.
    pub width: u32,
    /// Height of the framebuffer after the update.
    pub height: u32,
    /// The areas rewritten: a single rectangle covering the whole frame for
    /// a key update, else one rectangle per tile sent, in row-major order.
    /// Rewritten pixels may equal their old values.
    pub changed: Vec<Rect>,
}

/// Applies updates made by an [`Encoder`](crate::Encoder) to the
/// framebuffer it owns.
///
/// Tiles are rebuilt in parallel on the current rayon thread pool.
pub struct Decoder {
    limits: DecoderLimits,
    /// Decompresses key updates.
    decompressor: Decompressor<'static>,
    /// Decompresses delta updates, in lockstep with the encoder.
    stream: StreamDecompressor,
    /// Tile side of delta updates, as the last key update declared.
    delta_tile_size: u16,
    framebuffer: Option<Frame>,
    /// The picture of the last key update, a prediction source.
    key_picture: Option<Frame>,
    cache: TileCache,
    /// The tiles (on the delta grid) rebuilt from a lossy picture and not
    /// yet sent again losslessly.
    approx: ApproxMap,
    /// Scratch: the decompressed body of one update.
    body: Vec<u8>,
    /// Scratch: the rebuilt tiles of one update, rows packed, in order.
    tiles: Vec<u8>,
}

impl Decoder {
    /// Creates a decoder with no picture; it waits for a key update.
    pub fn new(limits: DecoderLimits) -> Decoder {
        Decoder {
            limits,
            decompressor: Decompressor::default(),
            stream: StreamDecompressor::new(),
            delta_tile_size: 0,
            framebuffer: None,
            key_picture: None,
            cache: TileCache::default(),
            approx: ApproxMap::new(TileGrid::new(1, 1, 8)),
            body: Vec::new(),
            tiles: Vec::new(),
        }
    }

    /// Applies one update.
    ///
    /// The update is untrusted: it is validated completely (header, limits,
    /// body length, every record, every copy source and cache reference)
    /// and every tile is rebuilt into scratch memory before the framebuffer
    /// or the tile cache is touched. On `Err` both are left exactly as they
    /// were, and the decoder stays usable: later updates are judged on their
    /// own (a delta that follows a lost update may apply cleanly but show a
    /// wrong picture, so whoever loses an update should ask for a key
    /// update).
    ///
    /// Never panics, and allocates at most the scratch buffers and the
    /// framebuffer (each bounded by the [`DecoderLimits`]), the bounded tile
    /// cache, plus one small entry per tile sent.
    pub fn apply(&mut self, update: &[u8]) -> Result<UpdateSummary, DecodeError> {
        let update = Update::parse(update)?;
        let header = update.header;
        let (width, height, grid) = match header.key {
            Some(key) => {
                let max_width = self.limits.max_width.min(MAX_DIMENSION);
                let max_height = self.limits.max_height.min(MAX_DIMENSION);
                if key.width > max_width || key.height > max_height {
                    return Err(DecodeError::DimensionsTooLarge {
                        width: key.width,
                        height: key.height,
                        max_width,
                        max_height,
                    });
                }
                let grid = TileGrid::new(key.width, key.height, key.tile_size);
                (key.width, key.height, grid)
            }
            None => {
                let framebuffer = self.framebuffer.as_ref().ok_or(DecodeError::NoKeyFrame)?;
                let (width, height) = (framebuffer.width(), framebuffer.height());
                (
                    width,
                    height,
                    TileGrid::new(width, height, self.delta_tile_size),
                )
            }
        };
        let max_body = u64::from(width) * u64::from(height) * BYTES_PER_PIXEL as u64
            + u64::from(grid.len()) * RECORD_OVERHEAD;
        if u64::from(header.body_len) > max_body {
            return Err(DecodeError::BodyTooLarge {
                body_len: header.body_len,
                max: max_body,
            });
        }
        if header.key.is_some() {
            decompress(
                &mut self.decompressor,
                update.payload,
                header.body_len as usize,
                &mut self.body,
            )?;
        } else {
            self.body.clear();
            self.body.resize(header.body_len as usize, 0);
            if header.restart {
                self.stream.restart();
            }
            self.stream.decompress(update.payload, &mut self.body)?;
        }
        let records = parse_body(&self.body, &grid)?;
        let lossy = match (header.key, header.picture) {
            (Some(key), Some(picture)) => Some(lossy::decode(picture, key.width, key.height)?),
            _ => None,
        };
        if header.key.is_some() {
            if records.len() as u64 != u64::from(grid.len()) {
                return Err(DecodeError::IncompleteKeyUpdate {
                    tile_count: records.len() as u32,
                    grid_tiles: grid.len(),
                });
            }
            if records.iter().any(|record| record.op.needs_history()) {
                return Err(DecodeError::HistoryInKeyUpdate);
            }
        }

        // Rebuild every tile into scratch memory, in parallel.
        let rects: Vec<Rect> = records.iter().map(|r| grid.rect(r.position)).collect();
        // Positions are distinct, so the tiles hold at most the frame's bytes.
        let total: usize = rects.iter().map(|rect| rect.byte_len()).sum();
        self.tiles.clear();
        self.tiles.resize(total, 0);
        let mut outputs = Vec::with_capacity(records.len());
        let mut rest = self.tiles.as_mut_slice();
        for rect in &rects {
            let (head, tail) = rest.split_at_mut(rect.byte_len());
            outputs.push(head);
            rest = tail;
        }
        let pictures = match (&self.framebuffer, &self.key_picture) {
            (Some(previous), Some(key)) if header.key.is_none() => Some(Pictures { previous, key }),
            _ => None,
        };
        let cache = &self.cache;
        let hashes: Vec<Option<u64>> = records
            .par_iter()
            .zip(rects.par_iter())
            .zip(outputs.into_par_iter())
            .map(|((record, &rect), out)| {
                rebuild(
                    &record.op,
                    rect,
                    pictures.as_ref(),
                    lossy.as_ref(),
                    cache,
                    out,
                )?;
                Ok(record
                    .op
                    .is_cached()
                    .then(|| tile_hash(out, rect.width, rect.height)))
            })
            .collect::<Result<_, DecodeError>>()?;

        // Everything is valid: from here on nothing can fail.
        if let Some(key) = header.key {
            self.cache.clear();
            self.stream.reset();
            self.delta_tile_size = key.delta_tile_size;
            self.approx = ApproxMap::new(TileGrid::new(width, height, key.delta_tile_size));
        }
        for (record, rect) in records.iter().zip(&rects) {
            match record.op {
                TileOp::Approx => self.approx.mark(*rect),
                // A patch leaves the rest of its tile as it was.
                TileOp::Patch { .. } => {}
                _ if header.key.is_none() => self.approx.clear(record.position),
                _ => {}
            }
        }
        let framebuffer = match &mut self.framebuffer {
            Some(framebuffer) if framebuffer.width() == width && framebuffer.height() == height => {
                framebuffer
            }
            slot => slot.insert(Frame::blank(width, height)),
        };
        commit(
            framebuffer,
            &mut self.cache,
            &self.tiles,
            &records,
            &rects,
            &hashes,
        );
        if header.key.is_some() {
            match &mut self.key_picture {
                Some(picture) if picture.same_size(framebuffer) => {
                    picture.pixels_mut().copy_from_slice(framebuffer.pixels());
                }
                slot => *slot = Some(framebuffer.clone()),
            }
        }
        let changed = if header.key.is_some() {
            vec![Rect {
                x: 0,
                y: 0,
                width,
                height,
            }]
        } else {
            rects
        };
        Ok(UpdateSummary {
            key: header.key.is_some(),
            width,
            height,
            changed,
        })
    }

    /// How many tiles of the picture (on the grid of delta updates) are
    /// still approximate: rebuilt from a key update's lossy picture and not
    /// yet refined losslessly. 0 when the picture is bit-exact.
    pub fn approximate_tiles(&self) -> usize {
        self.approx.count()
    }

    /// The current picture; `None` until a key update arrived.
    pub fn framebuffer(&self) -> Option<&Frame> {
        self.framebuffer.as_ref()
    }
}

/// Writes the rebuilt `tiles` into the framebuffer and updates the tile
/// cache in record order, as the encoder did.
fn commit(
    framebuffer: &mut Frame,
    cache: &mut TileCache,
    tiles: &[u8],
    records: &[Record<'_>],
    rects: &[Rect],
    hashes: &[Option<u64>],
) {
    let width = framebuffer.width();
    let mut source = tiles;
    for ((record, &rect), hash) in records.iter().zip(rects).zip(hashes) {
        let (tile, rest) = source.split_at(rect.byte_len());
        source = rest;
        let row_len = rect.width as usize * BYTES_PER_PIXEL;
        for (rows, line) in row_ranges(width, rect).zip(tile.chunks_exact(row_len)) {
            framebuffer.pixels_mut()[rows].copy_from_slice(line);
        }
        match (record.op, hash) {
            (TileOp::Cache(hash), _) => {
                cache.touch(hash);
            }
            (_, Some(hash)) => cache.insert(*hash, tile.to_vec()),
            _ => {}
        }
    }
}

/// Decompresses `payload` into `body`, which must end up holding exactly
/// `expected` bytes. zstd is given exactly `expected` bytes of room, so a
/// payload claiming more cannot make it allocate.
fn decompress(
    decompressor: &mut Decompressor<'static>,
    payload: &[u8],
    expected: usize,
    body: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let mismatch = |actual: u64| DecodeError::LengthMismatch {
        expected: expected as u64,
        actual,
    };
    // Reject a frame declaring the wrong size before doing any work.
    if let Ok(Some(declared)) = zstd_safe::get_frame_content_size(payload) {
        if declared != expected as u64 {
            return Err(mismatch(declared));
        }
    }
    body.clear();
    body.resize(expected, 0);
    let written = decompressor
        .decompress_to_buffer(payload, body.as_mut_slice())
        .map_err(|error| DecodeError::Decompress(error.to_string()))?;
    if written != expected {
        return Err(mismatch(written as u64));
    }
    Ok(())
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("framebuffer", &self.framebuffer)
            .finish_non_exhaustive()
    }
}
