//! The window's path: two integer triangle waves (a Lissajous-style closed loop) that keep
//! it, shadow included, inside the desk area.

use crate::hash::mix;
use crate::layout::Layout;

/// Position of the moving window as a function of the frame index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Motion {
    origin: (i32, i32),
    axes: [Axis; 2],
}

/// Back-and-forth movement along one axis.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Axis {
    /// Largest offset from the origin; the offset runs 0..=range and back.
    range: u64,
    /// Pixels moved per frame.
    speed: u64,
    /// Seed-derived starting point on the wave, in 0..2*range.
    phase: u64,
}

impl Axis {
    fn new(range: i32, speed: i32, random: u64) -> Axis {
        let range = u64::try_from(range).unwrap_or(0);
        let period = 2 * range;
        Axis {
            range,
            speed: u64::try_from(speed).unwrap_or(1),
            phase: if period == 0 { 0 } else { random % period },
        }
    }

    /// Offset at frame `index`: a triangle wave of amplitude `range`.
    fn offset(&self, index: u64) -> i32 {
        let period = 2 * self.range;
        if period == 0 {
            return 0;
        }
        let p = (self.phase + (index % period) * self.speed) % period;
        let offset = if p <= self.range { p } else { period - p };
        // offset <= range, which came from an i32.
        offset as i32
    }
}

impl Motion {
    /// The path for `layout`, starting at a point chosen by `seed`.
    ///
    /// The horizontal speed is odd and the horizontal range non-zero (the window is 5/8 of
    /// the desk width), so the window's x coordinate changes on every frame: an odd step
    /// can neither be a multiple of the even period nor land on the mirror position.
    pub fn new(layout: &Layout, seed: u64) -> Motion {
        let win = &layout.window;
        let range_x = layout.desk.w - win.w - win.shadow;
        let range_y = layout.desk.h - win.h - win.shadow;
        Motion {
            origin: (layout.desk.x, layout.desk.y),
            axes: [
                Axis::new(range_x, (layout.width / 480) | 1, mix(seed, 3)),
                Axis::new(range_y, (layout.height / 360).max(1), mix(seed, 4)),
            ],
        }
    }

    /// Top-left corner of the window at frame `index`.
    pub fn position(&self, index: u64) -> (i32, i32) {
        let [x, y] = &self.axes;
        (
            self.origin.0 + x.offset(index),
            self.origin.1 + y.offset(index),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_wave_bounces_between_zero_and_range() {
        let axis = Axis::new(4, 3, 0);
        let offsets: Vec<i32> = (0..8).map(|i| axis.offset(i)).collect();
        assert_eq!(offsets, [0, 3, 2, 1, 4, 1, 2, 3]);
        assert_eq!(Axis::new(0, 3, 99).offset(12345), 0);
    }

    #[test]
    fn window_stays_on_the_desk_and_always_moves_horizontally() {
        for (w, h) in [
            (64, 48),
            (320, 200),
            (1280, 720),
            (1920, 1080),
            (3840, 2160),
        ] {
            let layout = Layout::new(w, h);
            let win = &layout.window;
            for seed in [0, 1, 42] {
                let motion = Motion::new(&layout, seed);
                let mut previous = motion.position(0);
                for index in (1..2000).chain(u64::MAX - 3..u64::MAX) {
                    let (x, y) = motion.position(index);
                    assert!(x >= 0 && x + win.w + win.shadow <= layout.desk.w, "{w}x{h}");
                    assert!(y >= 0 && y + win.h + win.shadow <= layout.desk.h, "{w}x{h}");
                    if index < 2000 {
                        assert_ne!(x, previous.0, "{w}x{h} seed {seed} index {index}");
                    }
                    previous = (x, y);
                }
            }
        }
    }
}
