//! The decoder: applies updates to a framebuffer.

use std::fmt;

use zstd::bulk::Decompressor;
use zstd::zstd_safe;

use crate::error::DecodeError;
use crate::format::{TileGrid, Update};
use crate::frame::{row_ranges, Frame, Rect, MAX_DIMENSION};

/// The largest updates a [`Decoder`] accepts. They bound its memory: the
/// framebuffer plus one scratch buffer of at most `max_width * max_height * 4`
/// bytes each. Limits above [`MAX_DIMENSION`] act as [`MAX_DIMENSION`].
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
pub struct Decoder {
    limits: DecoderLimits,
    decompressor: Decompressor<'static>,
    framebuffer: Option<Frame>,
    /// Scratch: the decompressed pixel bytes of the tiles of one update.
    pixels: Vec<u8>,
}

impl Decoder {
    /// Creates a decoder with no picture; it waits for a key update.
    pub fn new(limits: DecoderLimits) -> Decoder {
        Decoder {
            limits,
            decompressor: Decompressor::default(),
            framebuffer: None,
            pixels: Vec::new(),
        }
    }

    /// Applies one update.
    ///
    /// The update is untrusted: it is validated completely (header, limits,
    /// tile indices, exact decompressed length) before the framebuffer is
    /// touched. On `Err` the framebuffer is left exactly as it was, and the
    /// decoder stays usable: later updates are judged on their own (a delta
    /// that follows a lost update would apply cleanly but show a wrong
    /// picture, so whoever loses an update should ask for a key update).
    ///
    /// Never panics, and allocates at most the scratch buffer and the
    /// framebuffer (each bounded by the [`DecoderLimits`]) plus the list of
    /// changed rectangles (one per tile sent).
    pub fn apply(&mut self, update: &[u8]) -> Result<UpdateSummary, DecodeError> {
        let update = Update::parse(update)?;
        let header = update.header;
        let (width, height) = (header.width, header.height);

        let max_width = self.limits.max_width.min(MAX_DIMENSION);
        let max_height = self.limits.max_height.min(MAX_DIMENSION);
        if width > max_width || height > max_height {
            return Err(DecodeError::DimensionsTooLarge {
                width,
                height,
                max_width,
                max_height,
            });
        }

        let grid = TileGrid::new(width, height, header.tile_size);
        if header.key {
            if header.tile_count != grid.len() {
                return Err(DecodeError::IncompleteKeyUpdate {
                    tile_count: header.tile_count,
                    grid_tiles: grid.len(),
                });
            }
        } else {
            let framebuffer = self.framebuffer.as_ref().ok_or(DecodeError::NoKeyFrame)?;
            if (width, height) != (framebuffer.width(), framebuffer.height()) {
                return Err(DecodeError::SizeMismatch {
                    width,
                    height,
                    expected_width: framebuffer.width(),
                    expected_height: framebuffer.height(),
                });
            }
            if header.tile_count > grid.len() {
                return Err(DecodeError::TooManyTiles {
                    tile_count: header.tile_count,
                    grid_tiles: grid.len(),
                });
            }
        }

        // Tiles in the grid, strictly increasing; together they need exactly
        // `expected` pixel bytes, at most width * height * 4.
        let mut expected = 0usize;
        let mut previous = None;
        for (column, row) in update.tiles() {
            if !grid.contains(column, row) {
                return Err(DecodeError::TileOutOfBounds { column, row });
            }
            let position = grid.position(column, row);
            if previous.is_some_and(|previous| position <= previous) {
                return Err(DecodeError::TilesNotIncreasing { column, row });
            }
            previous = Some(position);
            expected += grid.rect(column, row).byte_len();
        }

        self.decompress(update.payload, expected)?;

        // Everything is valid: from here on nothing can fail.
        let framebuffer = match &mut self.framebuffer {
            Some(framebuffer) if framebuffer.width() == width && framebuffer.height() == height => {
                framebuffer
            }
            slot => slot.insert(Frame::blank(width, height)),
        };
        let mut changed = Vec::new();
        let mut source = self.pixels.as_slice();
        for (column, row) in update.tiles() {
            let rect = grid.rect(column, row);
            for rows in row_ranges(width, rect) {
                let (line, rest) = source.split_at(rows.len());
                framebuffer.pixels_mut()[rows].copy_from_slice(line);
                source = rest;
            }
            if !header.key {
                changed.push(rect);
            }
        }
        if header.key {
            changed.push(Rect {
                x: 0,
                y: 0,
                width,
                height,
            });
        }
        Ok(UpdateSummary {
            key: header.key,
            width,
            height,
            changed,
        })
    }

    /// The current picture; `None` until a key update arrived.
    pub fn framebuffer(&self) -> Option<&Frame> {
        self.framebuffer.as_ref()
    }

    /// Decompresses `payload` into the scratch buffer, which must end up
    /// holding exactly `expected` bytes. zstd is given exactly `expected`
    /// bytes of room, so a payload claiming more cannot make it allocate.
    fn decompress(&mut self, payload: &[u8], expected: usize) -> Result<(), DecodeError> {
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
        self.pixels.clear();
        self.pixels.resize(expected, 0);
        let written = self
            .decompressor
            .decompress_to_buffer(payload, self.pixels.as_mut_slice())
            .map_err(|error| DecodeError::Decompress(error.to_string()))?;
        if written != expected {
            return Err(mismatch(written as u64));
        }
        Ok(())
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("framebuffer", &self.framebuffer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{self, Header};
    use crate::{Encoder, EncoderConfig};

    /// Builds an update by hand: `pixels` is compressed as the payload.
    fn raw(key: bool, size: (u32, u32), tiles: &[(u16, u16)], pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            key,
            width: size.0,
            height: size.1,
            tile_size: 8,
            tile_count: tiles.len() as u32,
        }
        .write(&mut out);
        for &(column, row) in tiles {
            format::write_tile_index(&mut out, column, row);
        }
        format::write_payload(&mut out, &zstd::bulk::compress(pixels, 1).unwrap());
        out
    }

    /// A 16x8 key update (two tiles) whose pixels are all `value`.
    fn key_16x8(value: u8) -> Vec<u8> {
        raw(true, (16, 8), &[(0, 0), (1, 0)], &[value; 16 * 8 * 4])
    }

    /// A decoder holding a 16x8 picture of 7s.
    fn ready() -> Decoder {
        let mut decoder = Decoder::new(DecoderLimits::default());
        decoder.apply(&key_16x8(7)).unwrap();
        decoder
    }

    /// Applies `update` to a ready decoder, checks that it was rejected
    /// without touching the framebuffer, and returns the error.
    fn reject(update: &[u8]) -> DecodeError {
        let mut decoder = ready();
        let before = decoder.framebuffer().cloned();
        let error = decoder.apply(update).unwrap_err();
        assert_eq!(decoder.framebuffer().cloned(), before);
        error
    }

    #[test]
    fn hand_built_updates_apply() {
        let mut decoder = ready();
        assert!(decoder
            .framebuffer()
            .unwrap()
            .pixels()
            .iter()
            .all(|&b| b == 7));
        let summary = decoder
            .apply(&raw(false, (16, 8), &[(1, 0)], &[9; 256]))
            .unwrap();
        assert_eq!(
            summary,
            UpdateSummary {
                key: false,
                width: 16,
                height: 8,
                changed: vec![Rect {
                    x: 8,
                    y: 0,
                    width: 8,
                    height: 8
                }],
            }
        );
        let pixels = decoder.framebuffer().unwrap().pixels();
        assert_eq!(&pixels[..32], &[7; 32]);
        assert_eq!(&pixels[32..64], &[9; 32]);
    }

    #[test]
    fn key_summary_covers_the_frame() {
        let mut decoder = Decoder::new(DecoderLimits::default());
        let summary = decoder.apply(&key_16x8(1)).unwrap();
        assert!(summary.key);
        assert_eq!(
            summary.changed,
            vec![Rect {
                x: 0,
                y: 0,
                width: 16,
                height: 8
            }]
        );
    }

    #[test]
    fn empty_delta_changes_nothing() {
        let mut decoder = ready();
        let summary = decoder.apply(&raw(false, (16, 8), &[], &[])).unwrap();
        assert!(summary.changed.is_empty());
        assert!(decoder
            .framebuffer()
            .unwrap()
            .pixels()
            .iter()
            .all(|&b| b == 7));
    }

    #[test]
    fn rejects_truncated_header() {
        let update = key_16x8(1);
        assert!(matches!(reject(&update[..10]), DecodeError::Truncated));
        assert!(matches!(reject(&[]), DecodeError::Truncated));
        assert!(matches!(
            reject(&update[..update.len() - 1]),
            DecodeError::Truncated
        ));
    }

    #[test]
    fn rejects_bad_magic() {
        let mut update = key_16x8(1);
        update[0] = b'X';
        assert!(matches!(reject(&update), DecodeError::BadMagic));
    }

    #[test]
    fn rejects_wrong_version() {
        let mut update = key_16x8(1);
        update[2] = 1;
        assert!(matches!(
            reject(&update),
            DecodeError::UnsupportedVersion(1)
        ));
    }

    #[test]
    fn rejects_oversize_dimensions() {
        let mut decoder = Decoder::new(DecoderLimits {
            max_width: 16,
            max_height: 4,
        });
        assert!(matches!(
            decoder.apply(&key_16x8(1)),
            Err(DecodeError::DimensionsTooLarge {
                width: 16,
                height: 8,
                max_width: 16,
                max_height: 4
            })
        ));
        assert!(decoder.framebuffer().is_none());
        // Limits above MAX_DIMENSION are capped; no pixels needed to tell.
        let mut decoder = Decoder::new(DecoderLimits {
            max_width: u32::MAX,
            max_height: u32::MAX,
        });
        assert!(matches!(
            decoder.apply(&raw(true, (MAX_DIMENSION + 1, 1), &[], &[])),
            Err(DecodeError::DimensionsTooLarge {
                max_width: MAX_DIMENSION,
                ..
            })
        ));
    }

    #[test]
    fn rejects_delta_before_key() {
        let mut decoder = Decoder::new(DecoderLimits::default());
        let delta = raw(false, (16, 8), &[(0, 0)], &[1; 256]);
        assert!(matches!(
            decoder.apply(&delta),
            Err(DecodeError::NoKeyFrame)
        ));
        assert!(decoder.framebuffer().is_none());
    }

    #[test]
    fn rejects_delta_of_another_size() {
        let delta = raw(false, (16, 9), &[(0, 0)], &[1; 256]);
        assert!(matches!(
            reject(&delta),
            DecodeError::SizeMismatch {
                width: 16,
                height: 9,
                expected_width: 16,
                expected_height: 8
            }
        ));
    }

    #[test]
    fn rejects_incomplete_key() {
        let key = raw(true, (16, 8), &[(0, 0)], &[1; 256]);
        assert!(matches!(
            reject(&key),
            DecodeError::IncompleteKeyUpdate {
                tile_count: 1,
                grid_tiles: 2
            }
        ));
    }

    #[test]
    fn rejects_too_many_tiles() {
        let delta = raw(false, (16, 8), &[(0, 0), (1, 0), (1, 0)], &[1; 768]);
        assert!(matches!(
            reject(&delta),
            DecodeError::TooManyTiles {
                tile_count: 3,
                grid_tiles: 2
            }
        ));
    }

    #[test]
    fn rejects_tile_out_of_bounds() {
        for tile in [(2, 0), (0, 1)] {
            let delta = raw(false, (16, 8), &[tile], &[1; 256]);
            assert!(matches!(
                reject(&delta),
                DecodeError::TileOutOfBounds { column, row } if (column, row) == tile
            ));
        }
    }

    #[test]
    fn rejects_non_increasing_tiles() {
        let reversed = raw(false, (16, 8), &[(1, 0), (0, 0)], &[1; 512]);
        assert!(matches!(
            reject(&reversed),
            DecodeError::TilesNotIncreasing { column: 0, row: 0 }
        ));
        let mut decoder = Decoder::new(DecoderLimits::default());
        let key = raw(
            true,
            (16, 16),
            &[(0, 0), (1, 0), (1, 0), (1, 1)],
            &[1; 1024],
        );
        assert!(matches!(
            decoder.apply(&key),
            Err(DecodeError::TilesNotIncreasing { column: 1, row: 0 })
        ));
    }

    #[test]
    fn rejects_decompressed_length_mismatch() {
        for len in [255, 257] {
            let delta = raw(false, (16, 8), &[(0, 0)], &vec![1; len]);
            assert!(matches!(
                reject(&delta),
                DecodeError::LengthMismatch { expected: 256, actual } if actual == len as u64
            ));
        }
    }

    #[test]
    fn rejects_undeclared_length_mismatch() {
        // A payload that does not declare its size in its frame header is
        // checked while decompressing instead.
        let mut compressor = zstd::bulk::Compressor::new(1).unwrap();
        compressor.include_contentsize(false).unwrap();
        for (len, short) in [(200, true), (300, false)] {
            let payload = compressor.compress(&vec![1; len]).unwrap();
            let mut delta = Vec::new();
            Header {
                key: false,
                width: 16,
                height: 8,
                tile_size: 8,
                tile_count: 1,
            }
            .write(&mut delta);
            format::write_tile_index(&mut delta, 0, 0);
            format::write_payload(&mut delta, &payload);
            let error = reject(&delta);
            if short {
                assert!(
                    matches!(
                        error,
                        DecodeError::LengthMismatch {
                            expected: 256,
                            actual: 200
                        }
                    ),
                    "{error:?}"
                );
            } else {
                assert!(matches!(error, DecodeError::Decompress(_)), "{error:?}");
            }
        }
    }

    #[test]
    fn rejects_corrupt_payload() {
        let mut delta = raw(false, (16, 8), &[(0, 0)], &[1; 256]);
        let len = delta.len();
        delta[len - 3..].copy_from_slice(&[0xde, 0xad, 0xbe]);
        assert!(matches!(
            reject(&delta),
            DecodeError::Decompress(_) | DecodeError::LengthMismatch { .. }
        ));
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut update = key_16x8(1);
        update.push(0);
        assert!(matches!(reject(&update), DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn decodes_what_the_encoder_makes_across_a_resize() {
        let mut encoder = Encoder::new(EncoderConfig::default());
        let mut decoder = Decoder::new(DecoderLimits::default());
        let mut frame = Frame::blank(70, 65);
        decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        // Pixel (x = 69, y = 0) lies in the clipped tile at column 1, row 0.
        frame.pixels_mut()[69 * 4 + 3] = 200;
        let summary = decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        assert_eq!(
            summary.changed,
            vec![Rect {
                x: 64,
                y: 0,
                width: 6,
                height: 64
            }]
        );
        assert_eq!(decoder.framebuffer(), Some(&frame));
        let frame = Frame::new(3, 2, (0..24).collect()).unwrap();
        let summary = decoder.apply(&encoder.encode(&frame).unwrap()).unwrap();
        assert!(summary.key);
        assert_eq!(decoder.framebuffer(), Some(&frame));
    }
}
