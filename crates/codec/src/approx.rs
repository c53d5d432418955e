//! Which tiles of a picture are only approximate: rebuilt from a lossy
//! picture and not yet sent losslessly. Both sides track them on the grid
//! of delta updates. The encoder never predicts from approximate pixels (the
//! decoder's lossy pixels are not known to it exactly), and refines them
//! when it has nothing more urgent to send.

use crate::format::TileGrid;
use crate::frame::Rect;

/// A set of tiles of one grid.
#[derive(Clone, Debug)]
pub struct ApproxMap {
    grid: TileGrid,
    tiles: Vec<bool>,
    count: usize,
}

impl ApproxMap {
    /// No tile of `grid` approximate.
    pub fn new(grid: TileGrid) -> ApproxMap {
        ApproxMap {
            grid,
            tiles: Vec::new(),
            count: 0,
        }
    }

    /// Number of approximate tiles.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Marks every tile overlapping `rect` (inside the frame) approximate.
    pub fn mark(&mut self, rect: Rect) {
        if self.tiles.is_empty() {
            self.tiles = vec![false; self.grid.len() as usize];
        }
        for position in self.grid.covering(rect) {
            let tile = &mut self.tiles[position as usize];
            self.count += usize::from(!*tile);
            *tile = true;
        }
    }

    /// The tile at `position` is exact again.
    pub fn clear(&mut self, position: u32) {
        if let Some(tile) = self.tiles.get_mut(position as usize) {
            self.count -= usize::from(*tile);
            *tile = false;
        }
    }

    /// Whether any pixel of `rect` (inside the frame) is approximate.
    pub fn overlaps(&self, rect: Rect) -> bool {
        self.count > 0 && self.grid.covering(rect).any(|p| self.tiles[p as usize])
    }

    /// The approximate tiles, in row-major order.
    pub fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.tiles
            .iter()
            .enumerate()
            .filter(|(_, &approximate)| approximate)
            .map(|(position, _)| position as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_overlapping_tiles_and_clears_them() {
        let mut map = ApproxMap::new(TileGrid::new(100, 50, 32));
        assert!(!map.overlaps(Rect {
            x: 0,
            y: 0,
            width: 100,
            height: 50
        }));
        // Overlaps columns 1-2 of row 0 and 1.
        map.mark(Rect {
            x: 40,
            y: 20,
            width: 30,
            height: 20,
        });
        assert_eq!(map.count(), 4);
        assert_eq!(map.positions().collect::<Vec<_>>(), vec![1, 2, 5, 6]);
        assert!(map.overlaps(Rect {
            x: 63,
            y: 31,
            width: 2,
            height: 2
        }));
        assert!(!map.overlaps(Rect {
            x: 0,
            y: 0,
            width: 32,
            height: 50
        }));
        map.clear(1);
        map.clear(1);
        assert_eq!(map.count(), 3);
        assert_eq!(map.positions().collect::<Vec<_>>(), vec![2, 5, 6]);
    }
}
