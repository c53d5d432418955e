//! Change detection: which tiles of a new frame differ from the reference.
//! A band of tile rows is first compared as one contiguous slice (a memcmp
//! over memory that is read once), and only a band that differs is compared
//! tile by tile. Bands are compared in parallel.

use rayon::prelude::*;

use crate::format::TileGrid;
use crate::frame::{row_ranges, Frame, Rect, BYTES_PER_PIXEL};

/// Whether two rectangles overlap.
fn overlaps(a: Rect, b: Rect) -> bool {
    let (a_right, a_bottom) = (
        u64::from(a.x) + u64::from(a.width),
        u64::from(a.y) + u64::from(a.height),
    );
    let (b_right, b_bottom) = (
        u64::from(b.x) + u64::from(b.width),
        u64::from(b.y) + u64::from(b.height),
    );
    u64::from(a.x) < b_right
        && u64::from(b.x) < a_right
        && u64::from(a.y) < b_bottom
        && u64::from(b.y) < a_bottom
}

/// Whether the pixels of `rect` are equal in `a` and `b` (same size).
pub fn rect_equal(a: &Frame, b: &Frame, rect: Rect) -> bool {
    row_ranges(a.width(), rect).all(|rows| a.pixels()[rows.clone()] == b.pixels()[rows])
}

/// Row-major positions of the tiles of `grid` whose pixels differ between
/// `new` and `old` (same size). With `damage`, only tiles overlapping one of
/// its rectangles are compared: the others are taken as unchanged.
///
/// Without damage, each pixel row is compared whole first (one memcmp), and
/// only a row that differs is compared tile by tile, skipping tiles already
/// known to have changed.
pub fn changed_tiles(
    new: &Frame,
    old: &Frame,
    grid: &TileGrid,
    damage: Option<&[Rect]>,
) -> Vec<u32> {
    let stride = new.width() as usize * BYTES_PER_PIXEL;
    let tile_bytes = grid.tile_size() as usize * BYTES_PER_PIXEL;
    let band_bytes = stride * grid.tile_size() as usize;
    new.pixels()
        .par_chunks(band_bytes)
        .zip(old.pixels().par_chunks(band_bytes))
        .enumerate()
        .map(|(band, (new_band, old_band))| {
            let first = band as u32 * grid.columns();
            let positions = first..first + grid.columns();
            match damage {
                None => {
                    let mut changed = vec![false; grid.columns() as usize];
                    for (new_row, old_row) in new_band
                        .chunks_exact(stride)
                        .zip(old_band.chunks_exact(stride))
                    {
                        if new_row == old_row {
                            continue;
                        }
                        let segments = new_row.chunks(tile_bytes).zip(old_row.chunks(tile_bytes));
                        for (flag, (a, b)) in changed.iter_mut().zip(segments) {
                            *flag = *flag || a != b;
                        }
                    }
                    positions
                        .zip(changed)
                        .filter_map(|(position, changed)| changed.then_some(position))
                        .collect::<Vec<u32>>()
                }
                Some(damage) => positions
                    .filter(|&position| {
                        let rect = grid.rect(position);
                        damage.iter().any(|&hint| overlaps(rect, hint))
                            && !rect_equal(new, old, rect)
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>()
        .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn finds_changed_tiles_with_and_without_damage() {
        let old = Frame::blank(40, 20);
        let mut new = old.clone();
        // Pixel (33, 17): tile column 2, row 1 of a 16-pixel grid; pixel
        // (0, 0): tile 0.
        new.pixels_mut()[(17 * 40 + 33) * 4] = 1;
        new.pixels_mut()[0] = 1;
        let grid = TileGrid::new(40, 20, 16);
        assert_eq!(changed_tiles(&new, &old, &grid, None), vec![0, 5]);
        let hint = [rect(30, 10, 5, 10)];
        assert_eq!(changed_tiles(&new, &old, &grid, Some(&hint)), vec![5]);
        assert!(changed_tiles(&old, &old, &grid, None).is_empty());
    }

    #[test]
    fn overlap_is_strict() {
        assert!(overlaps(rect(0, 0, 2, 2), rect(1, 1, 2, 2)));
        assert!(!overlaps(rect(0, 0, 2, 2), rect(2, 0, 2, 2)));
        assert!(!overlaps(rect(0, 0, 2, 2), rect(0, 0, 0, 0)));
        assert!(overlaps(rect(0, 0, 2, 2), rect(1, 1, u32::MAX, u32::MAX)));
    }
}
