//! The encoder: turns frames into updates.

use std::fmt;

use zstd::bulk::Compressor;

use crate::format::{
    self, Header, TileGrid, HEADER_LEN, MAX_TILE_SIZE, MIN_TILE_SIZE, PAYLOAD_LEN_LEN,
    TILE_INDEX_LEN,
};
use crate::frame::{row_ranges, Frame};

/// Settings of an [`Encoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Side of the square tiles, in pixels, between 8 and 256 inclusive.
    /// Smaller tiles send less around small changes but cost more index
    /// bytes and comparisons. Default 64.
    pub tile_size: u32,
    /// zstd compression level; values outside zstd's supported range are
    /// clamped into it. Default 1 (fast).
    pub zstd_level: i32,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            tile_size: 64,
            zstd_level: 1,
        }
    }
}

/// Encodes a sequence of frames into updates for a [`Decoder`](crate::Decoder).
///
/// It keeps a copy of the last frame it encoded (its reference) and sends
/// only the tiles that differ from it.
pub struct Encoder {
    tile_size: u16,
    compressor: Compressor<'static>,
    /// The last frame encoded; `None` at first and after `reset`.
    reference: Option<Frame>,
    /// Scratch: indices of the tiles being sent.
    tiles: Vec<(u16, u16)>,
    /// Scratch: pixel bytes of the tiles being sent, before compression.
    pixels: Vec<u8>,
}

impl Encoder {
    /// Creates an encoder with no reference: its first update is a key update.
    ///
    /// # Panics
    ///
    /// Panics when `config.tile_size` is outside 8..=256, a programming error.
    pub fn new(config: EncoderConfig) -> Encoder {
        let tile_size = u16::try_from(config.tile_size)
            .ok()
            .filter(|size| (MIN_TILE_SIZE..=MAX_TILE_SIZE).contains(size))
            .unwrap_or_else(|| {
                panic!(
                    "EncoderConfig::tile_size {} outside {MIN_TILE_SIZE}..={MAX_TILE_SIZE}",
                    config.tile_size
                )
            });
        let range = zstd::compression_level_range();
        let level = config.zstd_level.clamp(*range.start(), *range.end());
        // Creating a context fails only when zstd cannot allocate it, and a
        // level inside zstd's own range is always accepted.
        let compressor = Compressor::new(level).expect("zstd compression context");
        Encoder {
            tile_size,
            compressor,
            reference: None,
            tiles: Vec::new(),
            pixels: Vec::new(),
        }
    }

    /// Encodes `frame` against the last frame this encoder encoded. Returns
    /// `None` when nothing changed.
    ///
    /// The first frame, a frame of a new size, or the first frame after
    /// [`reset`](Encoder::reset) is a key update (all tiles).
    pub fn encode(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        let grid = TileGrid::new(frame.width(), frame.height(), self.tile_size);
        let reference = self.reference.as_ref().filter(|r| r.same_size(frame));
        let key = reference.is_none();

        self.tiles.clear();
        self.pixels.clear();
        for (column, row) in grid.tiles() {
            let rect = grid.rect(column, row);
            let changed = reference.is_none_or(|reference| {
                row_ranges(frame.width(), rect)
                    .any(|rows| frame.pixels()[rows.clone()] != reference.pixels()[rows])
            });
            if changed {
                self.tiles.push((column, row));
                for rows in row_ranges(frame.width(), rect) {
                    self.pixels.extend_from_slice(&frame.pixels()[rows]);
                }
            }
        }
        // A key update lists every tile, and a grid has at least one.
        if self.tiles.is_empty() {
            return None;
        }

        // Compressing into a buffer of zstd's worst-case bound (what
        // `compress` allocates) fails only when zstd cannot allocate.
        let payload = self
            .compressor
            .compress(&self.pixels)
            .expect("zstd compression into a worst-case sized buffer");
        let header = Header {
            key,
            width: frame.width(),
            height: frame.height(),
            tile_size: self.tile_size,
            // At most `grid.len()` tiles, itself a u32.
            tile_count: self.tiles.len() as u32,
        };
        let mut update = Vec::with_capacity(
            HEADER_LEN + TILE_INDEX_LEN * self.tiles.len() + PAYLOAD_LEN_LEN + payload.len(),
        );
        header.write(&mut update);
        for &(column, row) in &self.tiles {
            format::write_tile_index(&mut update, column, row);
        }
        // The pixels are at most 1 GiB (MAX_DIMENSION^2 * 4), so the payload
        // is well under 4 GiB.
        format::write_payload(&mut update, &payload);

        match &mut self.reference {
            Some(reference) if !key => reference.pixels_mut().copy_from_slice(frame.pixels()),
            _ => self.reference = Some(frame.clone()),
        }
        Some(update)
    }

    /// Forgets the reference so the next [`encode`](Encoder::encode) emits a
    /// key update (e.g. a new viewer joined, or an update was lost).
    pub fn reset(&mut self) {
        self.reference = None;
    }
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
    use crate::format::Update;

    fn encoder(tile_size: u32) -> Encoder {
        Encoder::new(EncoderConfig {
            tile_size,
            ..EncoderConfig::default()
        })
    }

    #[test]
    fn first_frame_is_key_with_every_tile() {
        let update = encoder(16).encode(&Frame::blank(40, 20)).unwrap();
        let parsed = Update::parse(&update).unwrap();
        assert!(parsed.header.key);
        assert_eq!(parsed.header.tile_count, 3 * 2);
        assert_eq!(parsed.tiles().count(), 6);
    }

    #[test]
    fn unchanged_frame_gives_none_and_reset_gives_key() {
        let mut encoder = encoder(16);
        let frame = Frame::blank(40, 20);
        assert!(encoder.encode(&frame).is_some());
        assert!(encoder.encode(&frame).is_none());
        encoder.reset();
        let update = encoder.encode(&frame).unwrap();
        assert!(Update::parse(&update).unwrap().header.key);
    }

    #[test]
    fn one_pixel_change_sends_one_tile() {
        let mut encoder = encoder(16);
        let mut frame = Frame::blank(40, 20);
        encoder.encode(&frame);
        // Pixel (x = 33, y = 17) lies in tile column 2, row 1.
        let offset = (17 * 40 + 33) * 4;
        frame.pixels_mut()[offset + 3] = 9;
        let update = encoder.encode(&frame).unwrap();
        let parsed = Update::parse(&update).unwrap();
        assert!(!parsed.header.key);
        assert_eq!(parsed.tiles().collect::<Vec<_>>(), vec![(2, 1)]);
        // The reference now holds the change.
        assert!(encoder.encode(&frame).is_none());
    }

    #[test]
    fn new_size_is_key() {
        let mut encoder = encoder(8);
        encoder.encode(&Frame::blank(10, 10));
        let update = encoder.encode(&Frame::blank(10, 11)).unwrap();
        let parsed = Update::parse(&update).unwrap();
        assert!(parsed.header.key);
        assert_eq!(parsed.header.height, 11);
    }

    #[test]
    fn out_of_range_levels_are_clamped() {
        for zstd_level in [i32::MIN, i32::MAX] {
            let mut encoder = Encoder::new(EncoderConfig {
                tile_size: 8,
                zstd_level,
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
