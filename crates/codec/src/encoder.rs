//! The encoder: turns frames into updates.

use std::fmt;

use rayon::prelude::*;
use zstd::bulk::Compressor;

use crate::approx::ApproxMap;
use crate::cache::TileCache;
use crate::choose::{self, CacheAction, Coded, Context};
use crate::detect::changed_tiles;
use crate::format::{Header, KeyFields, TileGrid, MAX_TILE_SIZE, MIN_TILE_SIZE};
use crate::frame::{row_ranges, Frame, Rect};
use crate::lossy;
use crate::motion;
use crate::record::{RecordKind, TileOp};
use crate::stats::UpdateStats;
use crate::stream::{flush_bound, StreamCompressor};

/// JPEG qualities tried for a lossy first picture, best first: the first
/// whose key update fits the budget is sent (else the last).
const LOSSY_QUALITIES: [u8; 4] = [70, 50, 35, 20];
/// Delta bodies larger than this start the compression stream anew: history
/// does not pay for them (video, full-screen changes), and compressing them
/// against it costs zstd more.
const RESTART_BODY: usize = 1 << 20;
/// Bytes of a refinement update outside its compressed body, at most: the
/// envelope of a delta update.
const DELTA_ENVELOPE_MAX: usize = 4 + 5 + 5;

/// Fewer changed tiles than this are not searched for moved content.
const MIN_TILES_FOR_MOTION: usize = 4;

/// Settings of an [`Encoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Side of the square tiles of delta updates, in pixels, between 8 and
    /// 256 inclusive. Smaller tiles send less around small changes and
    /// moved window edges but cost more records and comparisons. Default 32.
    pub tile_size: u32,
    /// Side of the square tiles of key updates, same range. Larger tiles
    /// compress a whole screen better. Default 64.
    pub key_tile_size: u32,
    /// zstd compression level of the body of delta updates; values outside
    /// zstd's supported range are clamped into it. Default 1 (fast).
    pub zstd_level: i32,
    /// zstd compression level of key updates, which are rare and large:
    /// a slower level pays off. Clamped like `zstd_level`. Default 6.
    pub key_zstd_level: i32,
    /// Largest key update to send losslessly, in bytes; `None` (the
    /// default) always sends key updates losslessly. A larger key update
    /// goes out progressively: its costly tiles (photos, gradients) as a
    /// lossy JPEG picture within about this many bytes, the rest exact, and
    /// [`Encoder::refine`] then sends the approximate tiles losslessly.
    pub key_budget: Option<usize>,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            tile_size: 32,
            key_tile_size: 64,
            zstd_level: 1,
            key_zstd_level: 6,
            key_budget: None,
        }
    }
}

/// Encodes a sequence of frames into updates for a [`Decoder`](crate::Decoder).
///
/// It keeps a copy of the last frame it encoded (its reference) and a tile
/// cache mirroring the decoder's, and sends only the tiles that differ from
/// the reference, each coded as a solid fill, a cache reference, a copy of
/// moved content, an XOR residual, a palette or raw pixels.
///
/// Tiles are analysed in parallel on the current rayon thread pool (run
/// `encode` inside `ThreadPool::install` to choose the thread count); the
/// output does not depend on the number of threads.
pub struct Encoder {
    tile_size: u16,
    key_tile_size: u16,
    /// Compresses key updates, each a zstd frame of its own.
    compressor: Compressor<'static>,
    /// Compresses delta updates: one stream from key update to key update.
    stream: StreamCompressor,
    /// The last frame encoded; `None` at first and after `reset`.
    reference: Option<Frame>,
    /// The frame of the last key update, a prediction source.
    key_picture: Option<Frame>,
    key_budget: Option<usize>,
    /// Tiles (on the delta grid) the decoder holds only approximately; the
    /// reference holds their true pixels.
    approx: ApproxMap,
    /// The same at the last key update: where the key picture is
    /// approximate on the decoder's side, for good.
    key_approx: ApproxMap,
    cache: TileCache,
    /// Scratch: the uncompressed body.
    body: Vec<u8>,
    /// Scratch: the compressed body.
    payload: Vec<u8>,
    /// The composition of the last update.
    stats: UpdateStats,
    /// Whether the last delta body started the stream anew.
    restart: bool,
}

impl Encoder {
    /// Creates an encoder with no reference: its first update is a key update.
    ///
    /// # Panics
    ///
    /// Panics when `config.tile_size` or `config.key_tile_size` is outside
    /// 8..=256, a programming error.
    pub fn new(config: EncoderConfig) -> Encoder {
        let tile_size = checked_tile_size("tile_size", config.tile_size);
        let key_tile_size = checked_tile_size("key_tile_size", config.key_tile_size);
        let range = zstd::compression_level_range();
        let delta_level = config.zstd_level.clamp(*range.start(), *range.end());
        let key_level = config.key_zstd_level.clamp(*range.start(), *range.end());
        // Creating a context fails only when zstd cannot allocate it, and a
        // level inside zstd's own range is always accepted.
        let compressor = Compressor::new(key_level).expect("zstd compression context");
        Encoder {
            tile_size,
            key_tile_size,
            compressor,
            stream: StreamCompressor::new(delta_level),
            reference: None,
            key_picture: None,
            key_budget: config.key_budget,
            approx: ApproxMap::new(TileGrid::new(1, 1, tile_size)),
            key_approx: ApproxMap::new(TileGrid::new(1, 1, tile_size)),
            cache: TileCache::default(),
            body: Vec::new(),
            payload: Vec::new(),
            stats: UpdateStats::default(),
            restart: false,
        }
    }

    /// Encodes `frame` against the last frame this encoder encoded. Returns
    /// `None` when nothing changed.
    ///
    /// The first frame, a frame of a new size, or the first frame after
    /// [`reset`](Encoder::reset) is a key update (all tiles).
    pub fn encode(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        self.encode_inner(frame, None)
    }

    /// Like [`encode`](Encoder::encode), but only looks for changes inside
    /// `damage`, the rectangles the capturer reports as possibly changed
    /// (they may extend past the frame). Pixels outside every rectangle must
    /// equal the previous frame's, or the decoder's picture will differ from
    /// `frame` there. Key updates ignore `damage`.
    pub fn encode_with_damage(&mut self, frame: &Frame, damage: &[Rect]) -> Option<Vec<u8>> {
        self.encode_inner(frame, Some(damage))
    }

    /// The composition of the last update returned (empty before the
    /// first): where its bytes went, by record kind.
    pub fn last_stats(&self) -> &UpdateStats {
        &self.stats
    }

    /// Forgets the reference (and the tile cache) so the next
    /// [`encode`](Encoder::encode) emits a key update (e.g. a new viewer
    /// joined, or an update was lost).
    pub fn reset(&mut self) {
        self.reference = None;
        self.approx = ApproxMap::new(TileGrid::new(1, 1, self.tile_size));
    }

    /// Changes [`EncoderConfig::key_budget`] for the key updates to come
    /// (for example once the link's rate is known).
    pub fn set_key_budget(&mut self, budget: Option<usize>) {
        self.key_budget = budget;
    }

    /// How many tiles (of the delta grid) the decoder holds only
    /// approximately, from a progressive key update; 0 once bit-exact.
    pub fn approximate_tiles(&self) -> usize {
        self.approx.count()
    }

    /// The next refinement of a progressive key update: a delta update
    /// sending approximate tiles losslessly, at most `max_bytes` long (but
    /// at least one tile), or `None` when nothing is approximate. The tiles
    /// are sent as they were last encoded; changes since then are the next
    /// [`encode`](Encoder::encode)'s business. Live updates should go
    /// first: call this only when there is room to spare.
    pub fn refine(&mut self, max_bytes: usize) -> Option<Vec<u8>> {
        let reference = self
            .reference
            .as_ref()
            .filter(|_| self.approx.count() > 0)?;
        let key_picture = self.key_picture.as_ref()?;
        let grid = TileGrid::new(reference.width(), reference.height(), self.tile_size);
        let context = Context {
            frame: reference,
            pictures: Some((reference, key_picture)),
            cache: &self.cache,
            candidates: &[],
            approximate: Some((&self.approx, &self.key_approx)),
        };
        let limit = max_bytes.saturating_sub(DELTA_ENVELOPE_MAX);
        let mut coded = Vec::new();
        let mut body_len = 0;
        for position in self.approx.positions() {
            let tile = choose::code(&context, position, grid.rect(position));
            if !coded.is_empty() && flush_bound(body_len + tile.record.len()) > limit {
                break;
            }
            body_len += tile.record.len();
            coded.push((position, tile));
        }
        for (position, _) in &coded {
            self.approx.clear(*position);
        }
        let tiles: Vec<Coded> = coded.into_iter().map(|(_, tile)| tile).collect();
        self.assemble(&tiles, false);
        self.apply_cache(tiles);
        Some(self.finish_update(None, None))
    }

    fn encode_inner(&mut self, frame: &Frame, damage: Option<&[Rect]>) -> Option<Vec<u8>> {
        let reference = self.reference.as_ref().filter(|r| r.same_size(frame));
        let key = reference.is_none();
        let tile_size = if key {
            self.key_tile_size
        } else {
            self.tile_size
        };
        let grid = TileGrid::new(frame.width(), frame.height(), tile_size);
        let positions: Vec<u32> = match reference {
            Some(reference) => changed_tiles(frame, reference, &grid, damage),
            None => (0..grid.len()).collect(),
        };
        if positions.is_empty() {
            return None;
        }
        if key {
            self.cache.clear();
        }
        let rects: Vec<Rect> = positions.iter().map(|&p| grid.rect(p)).collect();
        let candidates = match reference {
            Some(reference) if rects.len() >= MIN_TILES_FOR_MOTION => {
                motion::candidates(frame, reference, &rects)
            }
            _ => Vec::new(),
        };
        let pictures = reference.zip(self.key_picture.as_ref());
        let context = Context {
            frame,
            pictures,
            cache: &self.cache,
            candidates: &candidates,
            approximate: (!key && self.approx.count() > 0)
                .then_some((&self.approx, &self.key_approx)),
        };
        let mut coded: Vec<Coded> = positions
            .par_iter()
            .zip(rects.par_iter())
            .map(|(&position, &rect)| choose::code(&context, position, rect))
            .collect();

        let mut picture = None;
        let go_lossy = key
            && self
                .key_budget
                .is_some_and(|budget| self.too_big_for(&coded, budget));
        if go_lossy {
            let delta_grid = TileGrid::new(frame.width(), frame.height(), self.tile_size);
            self.approx = ApproxMap::new(delta_grid);
            let budget = self.key_budget.unwrap_or(usize::MAX);
            picture = self.go_lossy(frame, &mut coded, &positions, &rects, budget);
        }
        if picture.is_none() {
            self.assemble(&coded, key);
        }
        let key_fields = key.then_some(KeyFields {
            width: frame.width(),
            height: frame.height(),
            tile_size,
            delta_tile_size: self.tile_size,
        });
        if key {
            if picture.is_none() {
                let delta_grid = TileGrid::new(frame.width(), frame.height(), self.tile_size);
                self.approx = ApproxMap::new(delta_grid);
            }
            self.key_approx = self.approx.clone();
        } else {
            for (tile, &position) in coded.iter().zip(&positions) {
                if tile.kind != RecordKind::Patch {
                    self.approx.clear(position);
                }
            }
        }
        self.apply_cache(coded);
        let update = self.finish_update(key_fields, picture.as_deref());

        match &mut self.reference {
            Some(reference) if !key => {
                for rect in rects {
                    for rows in row_ranges(frame.width(), rect) {
                        reference.pixels_mut()[rows.clone()].copy_from_slice(&frame.pixels()[rows]);
                    }
                }
            }
            _ => {
                self.reference = Some(frame.clone());
                self.key_picture = Some(frame.clone());
            }
        }
        Some(update)
    }

    /// Whether the lossless key update of `coded` would exceed `budget`
    /// bytes. A fast compression decides the clear cases; only a body
    /// near the budget is compressed at the key level to tell.
    fn too_big_for(&mut self, coded: &[Coded], budget: usize) -> bool {
        let body_len: usize = coded.iter().map(|tile| tile.record.len()).sum();
        if body_len + 32 <= budget {
            return false;
        }
        let body: Vec<u8> = coded
            .iter()
            .flat_map(|tile| tile.record.iter().copied())
            .collect();
        // A fast level compresses worse than the key level, but not by a
        // third on screen content.
        let quick = zstd::bulk::compress(&body, 1).map_or(body.len(), |payload| payload.len());
        if quick + 32 <= budget {
            return false;
        }
        if quick * 2 > budget * 3 {
            return true;
        }
        self.assemble(coded, true);
        self.payload.len() + 32 > budget
    }

    /// Turns the key update `coded` (tiles at `rects`) progressive: its
    /// costly tiles become approximate records and a JPEG of them, of the
    /// best quality whose update fits `budget`. Marks them approximate and
    /// returns the picture; the body is assembled again.
    fn go_lossy(
        &mut self,
        frame: &Frame,
        coded: &mut [Coded],
        positions: &[u32],
        rects: &[Rect],
        budget: usize,
    ) -> Option<Vec<u8>> {
        let mut kept = Vec::new();
        for ((tile, &rect), &position) in coded.iter_mut().zip(rects).zip(positions) {
            // Raw pixels, or a palette with a byte per pixel: natural
            // images, which JPEG sends at a fraction of the cost.
            let pixels = rect.width as usize * rect.height as usize;
            let costly = tile.kind == RecordKind::Raw
                || (tile.kind == RecordKind::Palette && tile.record.len() > pixels);
            if costly {
                let mut record = Vec::new();
                TileOp::Approx.write(position, &mut record);
                *tile = Coded {
                    record,
                    kind: RecordKind::Approx,
                    cache: CacheAction::Keep,
                };
                kept.push(rect);
                self.approx.mark(rect);
            }
        }
        if kept.is_empty() {
            return None;
        }
        self.assemble(coded, true);
        let mut picture = Vec::new();
        for quality in LOSSY_QUALITIES {
            picture = lossy::encode(frame, &kept, quality);
            if picture.len() + self.payload.len() + 32 <= budget {
                break;
            }
        }
        Some(picture)
    }

    /// Makes the body of `coded` and its payload (a key update's own zstd
    /// frame, which also restarts the stream, or the stream's next part),
    /// and counts it in the stats.
    fn assemble(&mut self, coded: &[Coded], key: bool) {
        self.body.clear();
        self.stats = UpdateStats::new(key);
        for tile in coded {
            self.stats.count(tile.kind, tile.record.len());
            self.body.extend_from_slice(&tile.record);
        }
        self.payload.clear();
        if key {
            // Compressing into a buffer of zstd's worst-case bound (what
            // `compress` allocates) fails only when zstd cannot allocate.
            self.payload
                .reserve(zstd::zstd_safe::compress_bound(self.body.len()));
            self.compressor
                .compress_to_buffer(&self.body, &mut self.payload)
                .expect("zstd compression into a worst-case sized buffer");
            self.stream.reset();
        } else {
            self.restart = self.body.len() > RESTART_BODY;
            if self.restart {
                self.stream.reset();
            }
            self.stream.compress(&self.body, &mut self.payload);
        }
    }

    /// Applies the cache operations of `coded`, in order, as the decoder will.
    fn apply_cache(&mut self, coded: Vec<Coded>) {
        for tile in coded {
            match tile.cache {
                CacheAction::Keep => {}
                CacheAction::Touch(hash) => {
                    self.cache.touch(hash);
                }
                CacheAction::Insert(hash, pixels) => self.cache.insert(hash, pixels),
            }
        }
    }

    /// The update of the assembled body.
    fn finish_update(&mut self, key: Option<KeyFields>, picture: Option<&[u8]>) -> Vec<u8> {
        let payload = &self.payload;
        let header = Header {
            key,
            // A body is at most the frame's pixels plus a few bytes per tile:
            // below 2^31 for the largest frame.
            body_len: self.body.len() as u32,
            picture,
            restart: key.is_none() && self.restart,
        };
        let mut update = Vec::with_capacity(payload.len() + picture.map_or(0, <[u8]>::len) + 32);
        header.write(&mut update, payload);
        self.stats.picture_bytes = picture.map_or(0, <[u8]>::len);
        self.stats.header_bytes = update.len() - payload.len() - self.stats.picture_bytes;
        self.stats.body_bytes = self.body.len();
        self.stats.payload_bytes = payload.len();
        update
    }
}

/// `size` as a tile side, panicking outside 8..=256.
fn checked_tile_size(field: &str, size: u32) -> u16 {
    u16::try_from(size)
        .ok()
        .filter(|size| (MIN_TILE_SIZE..=MAX_TILE_SIZE).contains(size))
        .unwrap_or_else(|| {
            panic!("EncoderConfig::{field} {size} outside {MIN_TILE_SIZE}..={MAX_TILE_SIZE}")
        })
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("tile_size", &self.tile_size)
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, DecoderLimits};

    fn encoder(tile_size: u32) -> Encoder {
        Encoder::new(EncoderConfig {
            tile_size,
            key_tile_size: tile_size,
            ..EncoderConfig::default()
        })
    }

    #[test]
    fn first_frame_is_key_and_unchanged_frame_is_none() {
        let mut encoder = encoder(16);
        let frame = Frame::blank(40, 20);
        let mut decoder = Decoder::new(DecoderLimits::default());
        let summary = decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        assert!(summary.key);
        assert!(encoder.encode(&frame).is_none());
        encoder.reset();
        assert!(decoder.apply(&encoder.encode(&frame).unwrap()).unwrap().key);
    }

    #[test]
    fn one_pixel_change_sends_one_tile() {
        let mut encoder = encoder(16);
        let mut decoder = Decoder::new(DecoderLimits::default());
        let mut frame = Frame::blank(40, 20);
        decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        frame.pixels_mut()[(17 * 40 + 33) * 4 + 3] = 9;
        let summary = decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        assert!(!summary.key);
        assert_eq!(
            summary.changed,
            vec![Rect {
                x: 32,
                y: 16,
                width: 8,
                height: 4
            }]
        );
        assert_eq!(decoder.framebuffer(), Some(&frame));
        assert!(encoder.encode(&frame).is_none());
    }

    #[test]
    fn damage_limits_detection() {
        let mut encoder = encoder(16);
        let mut frame = Frame::blank(40, 20);
        encoder.encode(&frame);
        frame.pixels_mut()[0] = 1;
        let far = Rect {
            x: 30,
            y: 10,
            width: 5,
            height: 5,
        };
        assert!(encoder.encode_with_damage(&frame, &[far]).is_none());
        let near = Rect { x: 0, y: 0, ..far };
        assert!(encoder.encode_with_damage(&frame, &[near]).is_some());
    }

    #[test]
    fn format_md_example_holds() {
        let pixels = [0, 0, 0, 255].repeat(20 * 9);
        let frame = Frame::new(20, 9, pixels).unwrap();
        let update = Encoder::new(EncoderConfig {
            tile_size: 32,
            key_tile_size: 8,
            ..EncoderConfig::default()
        })
        .encode(&frame)
        .unwrap();
        assert_eq!(&update[..9], &[0x54, 0x51, 2, 1, 20, 9, 8, 32, 36]);
        let payload_len = usize::from(update[9]);
        assert_eq!(update.len(), 10 + payload_len);
        let body = zstd::bulk::decompress(&update[10..], 36).unwrap();
        let expected: Vec<u8> = (0..6u8).flat_map(|p| [p, 0, 0, 0, 0, 255]).collect();
        assert_eq!(body, expected);
    }

    #[test]
    fn out_of_range_levels_are_clamped() {
        for zstd_level in [i32::MIN, i32::MAX] {
            let mut encoder = Encoder::new(EncoderConfig {
                tile_size: 8,
                key_tile_size: 8,
                zstd_level,
                key_zstd_level: zstd_level,
                key_budget: None,
            });
            assert!(encoder.encode(&Frame::blank(3, 3)).is_some());
        }
    }

    #[test]
    #[should_panic(expected = "tile_size")]
    fn tile_size_out_of_range_panics() {
        encoder(257);
    }

    #[test]
    fn debug_omits_pixels() {
        let mut encoder = encoder(8);
        encoder.encode(&Frame::blank(2, 2));
        let text = format!("{encoder:?}");
        assert!(text.contains("Frame { width: 2, height: 2, .. }"), "{text}");
    }
}
