//! How the remote picture maps onto the window: scaled to fit (keeping the aspect ratio,
//! letterboxed) or one to one (scrolled when larger than the window). Pure pixel arithmetic,
//! no windowing: the same mapping draws the picture, places the cursor and aims the pointer.

use tether_codec::{Frame, Rect};

use crate::scale::fit;

/// The letterbox colour (0RGB).
const BACKDROP: u32 = 0x0020_2020;
/// How close to a window edge the pointer scrolls a one-to-one view, in window pixels.
const PAN_EDGE: f64 = 24.0;
/// Pixels scrolled per pointer event at the very edge (less further in).
const PAN_SPEED: f64 = 2.0;

/// How the picture is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ViewMode {
    /// Scaled to fit the window, keeping its aspect ratio.
    #[default]
    Fit,
    /// One remote pixel per window pixel, scrolled by moving the pointer to the window's edges.
    Actual,
}

/// A rectangle of the window, in window pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// The mapping between a `frame` (remote pixels) and a `window` (window pixels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    frame: (u32, u32),
    window: (u32, u32),
    /// Window position of the picture's top-left corner (negative when scrolled).
    origin: (i64, i64),
    /// The picture's size in the window.
    shown: (u32, u32),
}

impl View {
    /// The view `mode` gives, with a one-to-one view scrolled by `scroll` (clamped).
    pub fn new(mode: ViewMode, frame: (u32, u32), window: (u32, u32), scroll: (u32, u32)) -> View {
        match mode {
            ViewMode::Fit => {
                let place = fit(frame.0, frame.1, window.0, window.1);
                View {
                    frame,
                    window,
                    origin: (i64::from(place.x), i64::from(place.y)),
                    shown: (place.width, place.height),
                }
            }
            ViewMode::Actual => {
                let axis = |frame: u32, window: u32, scroll: u32| -> i64 {
                    if frame <= window {
                        i64::from((window - frame) / 2)
                    } else {
                        -i64::from(scroll.min(frame - window))
                    }
                };
                View {
                    frame,
                    window,
                    origin: (
                        axis(frame.0, window.0, scroll.0),
                        axis(frame.1, window.1, scroll.1),
                    ),
                    shown: frame,
                }
            }
        }
    }

    /// How far a one-to-one view is scrolled.
    pub fn scroll(&self) -> (u32, u32) {
        let axis = |origin: i64| u32::try_from(-origin.min(0)).unwrap_or(u32::MAX);
        (axis(self.origin.0), axis(self.origin.1))
    }

    /// The whole window.
    pub fn window_area(&self) -> Area {
        Area {
            x: 0,
            y: 0,
            width: self.window.0,
            height: self.window.1,
        }
    }

    /// Where remote pixel (`x`, `y`) appears in the window (may lie outside it).
    pub fn to_window(&self, x: i32, y: i32) -> (i64, i64) {
        let axis = |remote: i32, origin: i64, shown: u32, size: u32| -> i64 {
            origin + i64::from(remote) * i64::from(shown) / i64::from(size.max(1))
        };
        (
            axis(x, self.origin.0, self.shown.0, self.frame.0),
            axis(y, self.origin.1, self.shown.1, self.frame.1),
        )
    }

    /// The remote pixel under window position (`x`, `y`); positions beside the picture clamp
    /// to its nearest edge. `None` when nothing is shown.
    pub fn to_remote(&self, x: f64, y: f64) -> Option<(u32, u32)> {
        if self.shown.0 == 0 || self.shown.1 == 0 || self.frame.0 == 0 || self.frame.1 == 0 {
            return None;
        }
        let axis = |position: f64, origin: i64, shown: u32, size: u32| -> u32 {
            let fraction = (position - origin as f64) / f64::from(shown);
            // Truncation picks the remote pixel the window pixel shows (as the blit does).
            (fraction * f64::from(size)).clamp(0.0, f64::from(size - 1)) as u32
        };
        Some((
            axis(x, self.origin.0, self.shown.0, self.frame.0),
            axis(y, self.origin.1, self.shown.1, self.frame.1),
        ))
    }

    /// The window area showing remote rectangle `rect`, rounded outwards and clipped to the
    /// window.
    pub fn area_of(&self, rect: &Rect) -> Area {
        let (x0, y0) = self.to_window(saturate(rect.x), saturate(rect.y));
        let (x1, y1) = self.to_window(
            saturate(rect.x.saturating_add(rect.width)),
            saturate(rect.y.saturating_add(rect.height)),
        );
        self.clip(x0, y0, x1 + 1, y1 + 1)
    }

    /// The window area from (`x0`, `y0`) to (`x1`, `y1`), exclusive, clipped to the window.
    pub fn clip(&self, x0: i64, y0: i64, x1: i64, y1: i64) -> Area {
        let clamp =
            |value: i64, max: u32| u32::try_from(value.clamp(0, i64::from(max))).unwrap_or(max);
        let (left, top) = (clamp(x0, self.window.0), clamp(y0, self.window.1));
        let (right, bottom) = (clamp(x1, self.window.0), clamp(y1, self.window.1));
        Area {
            x: left,
            y: top,
            width: right.saturating_sub(left),
            height: bottom.saturating_sub(top),
        }
    }

    /// Draws the part of `frame` that falls in window `area` into `surface` (0RGB pixels, the
    /// window's width per row), nearest-neighbour; window pixels beside the picture get the
    /// backdrop. The rest of the surface is left as it is.
    pub fn blit(&self, frame: &Frame, surface: &mut [u32], area: Area) {
        let area = self.clip(
            i64::from(area.x),
            i64::from(area.y),
            i64::from(area.x) + i64::from(area.width),
            i64::from(area.y) + i64::from(area.height),
        );
        if (frame.width(), frame.height()) != self.frame || self.shown.0 == 0 || self.shown.1 == 0 {
            return;
        }
        let source = |window: u32, origin: i64, shown: u32, size: u32| -> Option<usize> {
            let inside = i64::from(window) - origin;
            (0..i64::from(shown))
                .contains(&inside)
                .then(|| (inside as u64 * u64::from(size) / u64::from(shown)) as usize)
        };
        let columns: Vec<Option<usize>> = (area.x..area.x + area.width)
            .map(|x| source(x, self.origin.0, self.shown.0, self.frame.0).map(|x| x * 4))
            .collect();
        let stride = frame.width() as usize * 4;
        let pixels = frame.pixels();
        for y in area.y..area.y + area.height {
            let start = y as usize * self.window.0 as usize + area.x as usize;
            let Some(row) = surface.get_mut(start..start + area.width as usize) else {
                return;
            };
            let Some(src_y) = source(y, self.origin.1, self.shown.1, self.frame.1) else {
                row.fill(BACKDROP);
                continue;
            };
            let src_row = &pixels[src_y * stride..][..stride];
            for (dst, column) in row.iter_mut().zip(&columns) {
                *dst = match *column {
                    Some(at) => {
                        u32::from_le_bytes([src_row[at], src_row[at + 1], src_row[at + 2], 0])
                    }
                    None => BACKDROP,
                };
            }
        }
    }

    /// For a one-to-one view larger than the window: the scroll that brings more of the
    /// picture in when the pointer is near a window edge, if it changes.
    pub fn panned(&self, pointer: (f64, f64)) -> Option<(u32, u32)> {
        let axis = |position: f64, window: u32, frame: u32, scroll: u32| -> u32 {
            if frame <= window || self.shown != self.frame {
                return scroll;
            }
            let near_start = PAN_EDGE - position;
            let near_end = position - (f64::from(window) - PAN_EDGE);
            let delta = if near_start > 0.0 {
                -(near_start * PAN_SPEED).ceil()
            } else if near_end > 0.0 {
                (near_end * PAN_SPEED).ceil()
            } else {
                0.0
            };
            (f64::from(scroll) + delta).clamp(0.0, f64::from(frame - window)) as u32
        };
        let scroll = self.scroll();
        let panned = (
            axis(pointer.0, self.window.0, self.frame.0, scroll.0),
            axis(pointer.1, self.window.1, self.frame.1, scroll.1),
        );
        (panned != scroll).then_some(panned)
    }
}

fn saturate(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32) -> Frame {
        let pixels = (0..width * height)
            .flat_map(|i| [i as u8, (i >> 8) as u8, 7, 255])
            .collect();
        Frame::new(width, height, pixels).unwrap()
    }

    #[test]
    fn fit_maps_pixels_both_ways() {
        let view = View::new(ViewMode::Fit, (640, 480), (640, 480), (0, 0));
        assert_eq!(view.to_remote(0.0, 0.0), Some((0, 0)));
        assert_eq!(view.to_remote(639.5, 479.5), Some((639, 479)));
        assert_eq!(view.to_remote(100.2, 200.9), Some((100, 200)));
        // 1920x1080 shown in 960x540: each window pixel covers two remote pixels.
        let half = View::new(ViewMode::Fit, (1920, 1080), (960, 540), (0, 0));
        assert_eq!(half.to_remote(480.0, 270.0), Some((960, 540)));
        assert_eq!(half.to_window(960, 540), (480, 270));
        // 1000x500 in a 1000x1000 window: the picture spans rows 250..750; the letterbox
        // clamps to the picture's edge.
        let letterboxed = View::new(ViewMode::Fit, (1000, 500), (1000, 1000), (0, 0));
        assert_eq!(letterboxed.to_remote(10.0, 100.0), Some((10, 0)));
        assert_eq!(letterboxed.to_remote(999.0, 900.0), Some((999, 499)));
        assert_eq!(
            View::new(ViewMode::Fit, (640, 480), (0, 0), (0, 0)).to_remote(1.0, 1.0),
            None
        );
    }

    #[test]
    fn actual_size_scrolls_and_centres() {
        let view = View::new(ViewMode::Actual, (1920, 1080), (800, 600), (100, 5000));
        assert_eq!(
            view.scroll(),
            (100, 480),
            "scrolling stops at the picture's end"
        );
        assert_eq!(view.to_remote(0.0, 0.0), Some((100, 480)));
        assert_eq!(view.to_window(100, 480), (0, 0));
        let small = View::new(ViewMode::Actual, (400, 300), (800, 600), (50, 50));
        assert_eq!(small.scroll(), (0, 0));
        assert_eq!(
            small.to_window(0, 0),
            (200, 150),
            "a small picture is centred"
        );
    }

    #[test]
    fn the_pointer_at_an_edge_scrolls_a_large_picture() {
        let view = View::new(ViewMode::Actual, (1920, 1080), (800, 600), (100, 100));
        assert_eq!(view.panned((400.0, 300.0)), None);
        let (x, y) = view.panned((799.0, 300.0)).expect("scrolls right");
        assert!(x > 100 && y == 100, "{x} {y}");
        let (x, y) = view.panned((0.0, 0.0)).expect("scrolls up and left");
        assert!(x < 100 && y < 100, "{x} {y}");
        let fitted = View::new(ViewMode::Fit, (1920, 1080), (800, 600), (0, 0));
        assert_eq!(
            fitted.panned((0.0, 0.0)),
            None,
            "a fitted view never scrolls"
        );
    }

    #[test]
    fn redrawing_changed_areas_equals_redrawing_everything() {
        let before = frame(64, 48);
        let mut after = before.clone();
        let changed = Rect {
            x: 17,
            y: 9,
            width: 11,
            height: 5,
        };
        for y in changed.y..changed.y + changed.height {
            for x in changed.x..changed.x + changed.width {
                let at = (y * 64 + x) as usize * 4;
                after.pixels_mut()[at..at + 4].copy_from_slice(&[x as u8, y as u8, 99, 255]);
            }
        }
        for mode in [ViewMode::Fit, ViewMode::Actual] {
            for window in [(64, 48), (100, 100), (37, 29), (200, 60)] {
                let view = View::new(mode, (64, 48), window, (9, 7));
                let len = (window.0 * window.1) as usize;
                let mut partial = vec![0; len];
                view.blit(&before, &mut partial, view.window_area());
                view.blit(&after, &mut partial, view.area_of(&changed));
                let mut whole = vec![0; len];
                view.blit(&after, &mut whole, view.window_area());
                assert!(partial == whole, "{mode:?} {window:?}");
            }
        }
    }

    #[test]
    fn one_to_one_is_exact_and_the_rest_is_backdrop() {
        let picture = frame(2, 2);
        let view = View::new(ViewMode::Fit, (2, 2), (4, 2), (0, 0));
        let mut surface = vec![0; 8];
        view.blit(&picture, &mut surface, view.window_area());
        assert_eq!(surface[0], BACKDROP);
        assert_eq!(surface[1], 0x0007_0000);
        assert_eq!(surface[2], 0x0007_0001);
        assert_eq!(surface[7], BACKDROP);
    }
}
