//! Finding moved content: scrolls and dragged windows. Content-defined
//! anchors (pixels where a hash of the preceding pixels has a rare value)
//! are matched between the previous and the new picture inside the
//! changed tiles; every match votes for its displacement, and the most voted
//! displacements become candidates that the encoder verifies tile by tile.

use std::collections::HashMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::frame::{Frame, Rect, BYTES_PER_PIXEL};

/// Pixels hashed from an anchor to make its key.
const RUN: usize = 16;
/// Anchors are positions where the gear hash has its top `ANCHOR_BITS`
/// bits zero: about one position in 2^`ANCHOR_BITS`.
const ANCHOR_BITS: u32 = 5;
/// Pixels of a row scanned before anchors count (the hash's window).
const WARM_UP: usize = 15;
/// Rows scanned: the old picture's even rows, and the new picture's rows
/// `y` with `y % 4 < 2`, so every vertical displacement, odd or even, pairs
/// some new row with an old one, at half the cost of scanning every row.
fn old_row(y: u32) -> bool {
    y % 2 == 0
}

fn new_row(y: u32) -> bool {
    y % 4 < 2
}
/// Votes a displacement needs to become a candidate.
const MIN_VOTES: u32 = 4;
/// Most candidates returned.
pub const MAX_CANDIDATES: usize = 4;

/// A displacement: the new pixel at (x, y) equals the old one at
/// (x + dx, y + dy).
pub type Vector = (i32, i32);

/// Calls `found(key, x, y)` for every anchor in the rows `y` of `rect` for
/// which `scan(y)` holds, in scan order. An anchor is a pixel that differs from
/// its left neighbour and where a hash of the last pixels has a rare value,
/// so anchors move with the content; its key is the hash of the `RUN`
/// pixels starting there.
fn anchors(
    frame: &Frame,
    rect: Rect,
    scan: fn(u32) -> bool,
    found: &mut impl FnMut(u64, u32, u32),
) {
    let stride = frame.width() as usize * BYTES_PER_PIXEL;
    let left = rect.x as usize * BYTES_PER_PIXEL;
    let right = left + rect.width as usize * BYTES_PER_PIXEL;
    let run_bytes = RUN * BYTES_PER_PIXEL;
    for y in (rect.y..rect.y + rect.height).filter(|&y| scan(y)) {
        let start = y as usize * stride;
        let row = &frame.pixels()[start + left..start + right];
        if row.len() < run_bytes + BYTES_PER_PIXEL {
            continue;
        }
        let mut pixels = row
            .chunks_exact(BYTES_PER_PIXEL)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]));
        let mut previous = pixels.next().unwrap_or_default();
        let mut hash = 0u64;
        let last_start = rect.width as usize - RUN;
        for (i, current) in pixels.enumerate().take(last_start) {
            // A gear hash: each pixel shifts the older ones 4 bits up, so the
            // top bits depend on about the last 16 pixels.
            hash = (hash << 4).wrapping_add(u64::from(current).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let edge = current != previous;
            previous = current;
            if !edge || hash >> (64 - ANCHOR_BITS) != 0 || i < WARM_UP {
                continue;
            }
            let at = (i + 1) * BYTES_PER_PIXEL;
            let key = xxh3_64(&row[at..at + run_bytes]);
            found(key, rect.x + i as u32 + 1, y);
        }
    }
}

/// The anchors of `frame` inside `rects`, in a deterministic order.
fn collect(frame: &Frame, rects: &[Rect], scan: fn(u32) -> bool) -> Vec<(u64, u32, u32)> {
    rects
        .par_iter()
        .map(|&rect| {
            let mut found = Vec::new();
            anchors(frame, rect, scan, &mut |hash, x, y| {
                found.push((hash, x, y))
            });
            found
        })
        .collect::<Vec<_>>()
        .concat()
}

/// `rects` (row-major tiles) with horizontally adjacent tiles of the same
/// band merged, so anchors near tile edges are not lost.
fn merge_runs(rects: &[Rect]) -> Vec<Rect> {
    let mut merged: Vec<Rect> = Vec::with_capacity(rects.len());
    for &rect in rects {
        match merged.last_mut() {
            Some(last)
                if last.y == rect.y
                    && last.height == rect.height
                    && last.x + last.width == rect.x =>
            {
                last.width += rect.width;
            }
            _ => merged.push(rect),
        }
    }
    merged
}

/// The most likely displacements of content from `old` to `new` (same
/// size) within the changed tiles `rects`, most voted first; (0, 0) is never
/// returned.
pub fn candidates(new: &Frame, old: &Frame, rects: &[Rect]) -> Vec<Vector> {
    let rects = merge_runs(rects);
    let rects = rects.as_slice();
    let mut index: HashMap<u64, Option<(u32, u32)>> = HashMap::new();
    for (hash, x, y) in collect(old, rects, old_row) {
        index
            .entry(hash)
            .and_modify(|slot| *slot = None)
            .or_insert(Some((x, y)));
    }
    let mut votes: HashMap<Vector, u32> = HashMap::new();
    for (hash, x, y) in collect(new, rects, new_row) {
        if let Some(Some((old_x, old_y))) = index.get(&hash) {
            let vector = (*old_x as i32 - x as i32, *old_y as i32 - y as i32);
            if vector != (0, 0) {
                *votes.entry(vector).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(u32, Vector)> = votes
        .into_iter()
        .filter(|&(_, count)| count >= MIN_VOTES)
        .map(|(vector, count)| (count, vector))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, vector)| vector)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of pseudo-random text-like blocks.
    fn busy(width: u32, height: u32, seed: u32) -> Frame {
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                let v = (x / 3).wrapping_mul(2_654_435_761) ^ (y + seed).wrapping_mul(40_503);
                let v = v.wrapping_mul(0x9e37_79b1) >> 29;
                pixels.extend_from_slice(&[v as u8 * 30, 0, 0, 255]);
            }
        }
        Frame::new(width, height, pixels).unwrap()
    }

    #[test]
    fn finds_a_vertical_scroll() {
        let old = busy(128, 128, 0);
        // Content moved up by 7 rows: new row y is old row y + 7.
        let new = busy(128, 128, 7);
        let all = [Rect {
            x: 0,
            y: 0,
            width: 128,
            height: 128,
        }];
        let found = candidates(&new, &old, &all);
        assert_eq!(found.first(), Some(&(0, 7)));
    }

    #[test]
    fn finds_a_diagonal_move() {
        let old = busy(160, 120, 0);
        let mut new = Frame::blank(160, 120);
        // new(x, y) = old(x - 5, y + 3)
        for y in 0..117 {
            for x in 5..160 {
                let from = ((y + 3) * 160 + x - 5) * 4;
                let to = (y * 160 + x) * 4;
                let pixel: [u8; 4] = old.pixels()[from..from + 4].try_into().unwrap();
                new.pixels_mut()[to..to + 4].copy_from_slice(&pixel);
            }
        }
        let all = [Rect {
            x: 0,
            y: 0,
            width: 160,
            height: 120,
        }];
        assert_eq!(candidates(&new, &old, &all).first(), Some(&(-5, 3)));
    }
}
