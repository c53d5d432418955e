//! Decoder side of tile records: rebuilds one tile's pixels from its record,
//! the earlier pictures and the tile cache, without modifying any of them.

use crate::cache::TileCache;
use crate::error::DecodeError;
use crate::frame::{row_ranges, Frame, Rect, BYTES_PER_PIXEL};
use crate::palette;
use crate::record::{Fill, Source, TileOp};

/// The pictures a delta update predicts from (same size as the frame).
#[derive(Clone, Copy, Debug)]
pub struct Pictures<'a> {
    /// The picture before the update.
    pub previous: &'a Frame,
    /// The picture of the last key update.
    pub key: &'a Frame,
}

/// Copies `area` (in tile coordinates) of the tile at `rect` from `source`
/// into the same area of `out` (the tile's bytes, rows packed). Fails when
/// the source rectangle leaves the picture.
fn fetch(
    pictures: &Pictures<'_>,
    source: Source,
    rect: Rect,
    area: Rect,
    out: &mut [u8],
) -> Result<(), DecodeError> {
    let picture = if source.key {
        pictures.key
    } else {
        pictures.previous
    };
    let x = i64::from(rect.x) + i64::from(area.x) + i64::from(source.dx);
    let y = i64::from(rect.y) + i64::from(area.y) + i64::from(source.dy);
    let inside = x >= 0
        && y >= 0
        && x + i64::from(area.width) <= i64::from(picture.width())
        && y + i64::from(area.height) <= i64::from(picture.height());
    if !inside {
        return Err(DecodeError::CopyOutOfBounds { x, y });
    }
    let from = Rect {
        x: x as u32,
        y: y as u32,
        ..area
    };
    let tile_row = rect.width as usize * BYTES_PER_PIXEL;
    let left = area.x as usize * BYTES_PER_PIXEL;
    let len = area.width as usize * BYTES_PER_PIXEL;
    for (rows, line) in row_ranges(picture.width(), from).zip(
        out.chunks_exact_mut(tile_row)
            .skip(area.y as usize)
            .take(area.height as usize),
    ) {
        line[left..left + len].copy_from_slice(&picture.pixels()[rows]);
    }
    Ok(())
}

fn xor_in(out: &mut [u8], bytes: &[u8]) {
    for (byte, residual) in out.iter_mut().zip(bytes) {
        *byte ^= residual;
    }
}

/// Writes `fill` into `area` (tile coordinates, inside the tile) of `out`,
/// the bytes of a tile `tile_width` pixels wide, rows packed.
fn paint(fill: &Fill<'_>, area: Rect, tile_width: u32, out: &mut [u8]) -> Result<(), DecodeError> {
    let tile_row = tile_width as usize * BYTES_PER_PIXEL;
    let left = area.x as usize * BYTES_PER_PIXEL;
    let len = area.width as usize * BYTES_PER_PIXEL;
    let rows = out
        .chunks_exact_mut(tile_row)
        .skip(area.y as usize)
        .take(area.height as usize)
        .map(|row| &mut row[left..left + len]);
    match *fill {
        Fill::Solid(colour) => {
            for row in rows {
                for pixel in row.chunks_exact_mut(BYTES_PER_PIXEL) {
                    pixel.copy_from_slice(&colour);
                }
            }
        }
        Fill::Raw(bytes) => {
            for (row, line) in rows.zip(bytes.chunks_exact(len)) {
                row.copy_from_slice(line);
            }
        }
        Fill::Palette { colours, indices } => {
            let mut pixels = vec![0; area.byte_len()];
            palette::decode(colours, indices, area.width, &mut pixels)?;
            for (row, line) in rows.zip(pixels.chunks_exact(len)) {
                row.copy_from_slice(line);
            }
        }
    }
    Ok(())
}

/// Writes the pixels of the tile covering `rect` into `out` (exactly
/// `rect.byte_len()` bytes, rows packed). `pictures` is `None` for a key
/// update, whose records the caller has checked do not need it; `lossy`
/// is the update's decoded lossy picture, if it has one.
pub fn rebuild(
    op: &TileOp<'_>,
    rect: Rect,
    pictures: Option<&Pictures<'_>>,
    lossy: Option<&Frame>,
    cache: &TileCache,
    out: &mut [u8],
) -> Result<(), DecodeError> {
    let whole = Rect { x: 0, y: 0, ..rect };
    match *op {
        TileOp::Solid(colour) => {
            for pixel in out.chunks_exact_mut(BYTES_PER_PIXEL) {
                pixel.copy_from_slice(&colour);
            }
        }
        TileOp::Cache(hash) => {
            let cached = cache
                .get(hash)
                .filter(|pixels| pixels.len() == out.len())
                .ok_or(DecodeError::CacheMiss(hash))?;
            out.copy_from_slice(cached);
        }
        TileOp::Copy(source) => {
            let pictures = pictures.ok_or(DecodeError::HistoryInKeyUpdate)?;
            fetch(pictures, source, rect, whole, out)?;
        }
        TileOp::Xor { source, bytes } => {
            let pictures = pictures.ok_or(DecodeError::HistoryInKeyUpdate)?;
            fetch(pictures, source, rect, whole, out)?;
            xor_in(out, bytes);
        }
        TileOp::Blend {
            base,
            overlay,
            area,
            bytes,
        } => {
            let pictures = pictures.ok_or(DecodeError::HistoryInKeyUpdate)?;
            fetch(pictures, base, rect, whole, out)?;
            fetch(pictures, overlay, rect, area, out)?;
            xor_in(out, bytes);
        }
        TileOp::Patch { area, fill } => {
            let pictures = pictures.ok_or(DecodeError::HistoryInKeyUpdate)?;
            fetch(pictures, Source::SAME, rect, whole, out)?;
            paint(&fill, area, rect.width, out)?;
        }
        TileOp::Approx => {
            let lossy = lossy.ok_or(DecodeError::NoPicture)?;
            for (rows, line) in row_ranges(lossy.width(), rect)
                .zip(out.chunks_exact_mut(rect.byte_len() / rect.height as usize))
            {
                line.copy_from_slice(&lossy.pixels()[rows]);
            }
        }
        TileOp::Raw(bytes) => out.copy_from_slice(bytes),
        TileOp::Palette { colours, indices } => {
            palette::decode(colours, indices, rect.width, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u32, y: u32) -> Rect {
        Rect {
            x,
            y,
            width: 2,
            height: 2,
        }
    }

    fn source(key: bool, dx: i32, dy: i32) -> Source {
        Source { key, dx, dy }
    }

    #[test]
    fn copies_xors_and_blends_from_earlier_pictures() {
        let pixels: Vec<u8> = (0..4 * 4 * 4).map(|i| i as u8).collect();
        let previous = Frame::new(4, 4, pixels).unwrap();
        let key = Frame::new(4, 4, vec![200; 64]).unwrap();
        let pictures = Pictures {
            previous: &previous,
            key: &key,
        };
        let cache = TileCache::default();
        let mut out = [0u8; 16];
        let copy = TileOp::Copy(source(false, 2, 2));
        rebuild(&copy, rect(0, 0), Some(&pictures), None, &cache, &mut out).unwrap();
        assert_eq!(&out[..8], &previous.pixels()[40..48]);
        assert_eq!(&out[8..], &previous.pixels()[56..64]);
        let xor = TileOp::Xor {
            source: Source::SAME,
            bytes: &[1; 16],
        };
        rebuild(&xor, rect(0, 0), Some(&pictures), None, &cache, &mut out).unwrap();
        assert_eq!(out[0], 1);
        assert_eq!(out[15], 23 ^ 1);
        // Key picture everywhere but the right column, which comes from the
        // previous picture one pixel to the right.
        let blend = TileOp::Blend {
            base: source(true, 0, 0),
            overlay: source(false, 1, 0),
            area: Rect {
                x: 1,
                y: 0,
                width: 1,
                height: 2,
            },
            bytes: &[0; 16],
        };
        rebuild(&blend, rect(0, 0), Some(&pictures), None, &cache, &mut out).unwrap();
        assert_eq!(&out[..4], &[200; 4]);
        assert_eq!(&out[4..8], &previous.pixels()[8..12]);
        assert_eq!(&out[8..12], &[200; 4]);
        assert_eq!(&out[12..16], &previous.pixels()[24..28]);
    }

    #[test]
    fn patches_repaint_an_area_of_the_previous_picture() {
        let pixels: Vec<u8> = (0..4 * 4 * 4).map(|i| i as u8).collect();
        let previous = Frame::new(4, 4, pixels).unwrap();
        let pictures = Pictures {
            previous: &previous,
            key: &previous,
        };
        let cache = TileCache::default();
        let tile = Rect {
            x: 1,
            y: 1,
            width: 3,
            height: 3,
        };
        let area = Rect {
            x: 1,
            y: 1,
            width: 2,
            height: 1,
        };
        let colours = [9, 9, 9, 9, 7, 7, 7, 7];
        for fill in [
            Fill::Solid([7; 4]),
            Fill::Raw(&[7; 8]),
            Fill::Palette {
                colours: &colours,
                indices: &[0b1100_0000],
            },
        ] {
            let mut out = [0u8; 36];
            let patch = TileOp::Patch { area, fill };
            rebuild(&patch, tile, Some(&pictures), None, &cache, &mut out).unwrap();
            let mut expected = Vec::new();
            for y in 1..4 {
                for x in 1..4 {
                    if y == 2 && (2..4).contains(&x) {
                        expected.extend_from_slice(&[7; 4]);
                    } else {
                        let at = (y * 4 + x) * 4;
                        expected.extend_from_slice(&previous.pixels()[at..at + 4]);
                    }
                }
            }
            assert_eq!(out.to_vec(), expected, "{fill:?}");
        }
    }

    #[test]
    fn rejects_sources_outside_and_missing_cache_entries() {
        let previous = Frame::blank(4, 4);
        let pictures = Pictures {
            previous: &previous,
            key: &previous,
        };
        let cache = TileCache::default();
        let mut out = [0u8; 16];
        for (dx, dy) in [(3, 0), (0, -1), (i32::MAX, 0), (i32::MIN, i32::MIN)] {
            let copy = TileOp::Copy(source(false, dx, dy));
            assert!(matches!(
                rebuild(&copy, rect(0, 0), Some(&pictures), None, &cache, &mut out),
                Err(DecodeError::CopyOutOfBounds { .. })
            ));
        }
        assert!(matches!(
            rebuild(&TileOp::Cache(5), rect(0, 0), None, None, &cache, &mut out),
            Err(DecodeError::CacheMiss(5))
        ));
        assert!(matches!(
            rebuild(
                &TileOp::Copy(Source::SAME),
                rect(0, 0),
                None,
                None,
                &cache,
                &mut out
            ),
            Err(DecodeError::HistoryInKeyUpdate)
        ));
        assert!(matches!(
            rebuild(&TileOp::Approx, rect(0, 0), None, None, &cache, &mut out),
            Err(DecodeError::NoPicture)
        ));
        let lossy = Frame::new(4, 4, vec![5; 64]).unwrap();
        rebuild(
            &TileOp::Approx,
            rect(2, 2),
            None,
            Some(&lossy),
            &cache,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [5; 16]);
    }
}
