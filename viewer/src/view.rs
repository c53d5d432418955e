//! How the remote picture maps onto the window's picture area: scaled to fit (keeping the
//! aspect ratio, letterboxed) or one to one (scrolled when larger than the area). Pure pixel
//! arithmetic in physical window pixels, no windowing: the same mapping places the picture and
//! the cursor and aims the pointer.

use tether_codec::Rect;

use crate::scale::fit;

/// How close to an edge of the picture area the pointer scrolls a one-to-one view, in window
/// pixels.
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

impl ViewMode {
    /// The other mode.
    pub fn toggled(self) -> ViewMode {
        match self {
            ViewMode::Fit => ViewMode::Actual,
            ViewMode::Actual => ViewMode::Fit,
        }
    }
}

/// A rectangle of the window, in physical window pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl Area {
    /// The pixels from (`x0`, `y0`) to (`x1`, `y1`), exclusive; empty where they do not span.
    pub fn spanning(x0: i64, y0: i64, x1: i64, y1: i64) -> Area {
        let pixel = |value: i64| u32::try_from(value.max(0)).unwrap_or(u32::MAX);
        let (x0, y0) = (pixel(x0), pixel(y0));
        Area {
            x: x0,
            y: y0,
            width: pixel(x1).saturating_sub(x0),
            height: pixel(y1).saturating_sub(y0),
        }
    }

    /// The pixels both hold.
    pub fn intersect(&self, other: &Area) -> Area {
        let end = |area: &Area| {
            (
                i64::from(area.x) + i64::from(area.width),
                i64::from(area.y) + i64::from(area.height),
            )
        };
        let ((x1, y1), (ox1, oy1)) = (end(self), end(other));
        Area::spanning(
            i64::from(self.x.max(other.x)),
            i64::from(self.y.max(other.y)),
            x1.min(ox1),
            y1.min(oy1),
        )
    }

    /// Whether it holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Whether window position (`x`, `y`) lies inside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= f64::from(self.x)
            && y >= f64::from(self.y)
            && x < f64::from(self.x) + f64::from(self.width)
            && y < f64::from(self.y) + f64::from(self.height)
    }
}

/// The mapping between a `frame` (remote pixels) and the window area it is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    frame: (u32, u32),
    area: Area,
    /// Window position of the picture's top-left corner (left of or above the area when
    /// scrolled).
    origin: (i64, i64),
    /// The picture's size in the window.
    shown: (u32, u32),
}

impl View {
    /// The view `mode` gives of a `frame`-sized picture in window `area`, with a one-to-one view
    /// scrolled by `scroll` (clamped).
    pub fn new(mode: ViewMode, frame: (u32, u32), area: Area, scroll: (u32, u32)) -> View {
        let (left, top) = (i64::from(area.x), i64::from(area.y));
        match mode {
            ViewMode::Fit => {
                let place = fit(frame.0, frame.1, area.width, area.height);
                View {
                    frame,
                    area,
                    origin: (left + i64::from(place.x), top + i64::from(place.y)),
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
                    area,
                    origin: (
                        left + axis(frame.0, area.width, scroll.0),
                        top + axis(frame.1, area.height, scroll.1),
                    ),
                    shown: frame,
                }
            }
        }
    }

    /// How far a one-to-one view is scrolled.
    pub fn scroll(&self) -> (u32, u32) {
        let axis = |origin: i64, edge: u32| {
            u32::try_from((i64::from(edge) - origin).max(0)).unwrap_or(u32::MAX)
        };
        (
            axis(self.origin.0, self.area.x),
            axis(self.origin.1, self.area.y),
        )
    }

    /// The window area the picture is shown in.
    pub fn area(&self) -> Area {
        self.area
    }

    /// Window position of the picture's top-left corner.
    pub fn origin(&self) -> (i64, i64) {
        self.origin
    }

    /// The picture's size in the window.
    pub fn shown(&self) -> (u32, u32) {
        self.shown
    }

    /// Whether one remote pixel is one window pixel.
    pub fn is_one_to_one(&self) -> bool {
        self.shown == self.frame
    }

    /// The part of the area the picture covers.
    pub fn visible(&self) -> Area {
        let picture = Area::spanning(
            self.origin.0,
            self.origin.1,
            self.origin.0 + i64::from(self.shown.0),
            self.origin.1 + i64::from(self.shown.1),
        );
        picture.intersect(&self.area)
    }

    /// The window pixels showing remote rectangle `rect` (rounded outwards: scaled, a remote
    /// pixel touches every window pixel whose footprint it overlaps), within the visible part
    /// of the picture.
    pub fn area_of(&self, rect: &Rect) -> Area {
        let saturate = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
        let (x0, y0) = self.to_window(saturate(rect.x), saturate(rect.y));
        let (x1, y1) = self.to_window(
            saturate(rect.x.saturating_add(rect.width)),
            saturate(rect.y.saturating_add(rect.height)),
        );
        let grow = i64::from(!self.is_one_to_one());
        Area::spanning(x0 - grow, y0 - grow, x1 + grow, y1 + grow).intersect(&self.visible())
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
            // Truncation picks the remote pixel whose footprint holds the position.
            (fraction * f64::from(size)).clamp(0.0, f64::from(size - 1)) as u32
        };
        Some((
            axis(x, self.origin.0, self.shown.0, self.frame.0),
            axis(y, self.origin.1, self.shown.1, self.frame.1),
        ))
    }

    /// For a one-to-one view larger than its area: the scroll that brings more of the picture
    /// in when the pointer is near an edge of the area, if it changes.
    pub fn panned(&self, pointer: (f64, f64)) -> Option<(u32, u32)> {
        let axis = |position: f64, start: u32, window: u32, frame: u32, scroll: u32| -> u32 {
            if frame <= window || self.shown != self.frame {
                return scroll;
            }
            let position = position - f64::from(start);
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
            axis(
                pointer.0,
                self.area.x,
                self.area.width,
                self.frame.0,
                scroll.0,
            ),
            axis(
                pointer.1,
                self.area.y,
                self.area.height,
                self.frame.1,
                scroll.1,
            ),
        );
        (panned != scroll).then_some(panned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(width: u32, height: u32) -> Area {
        Area {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    #[test]
    fn fit_maps_pixels_both_ways() {
        let view = View::new(ViewMode::Fit, (640, 480), whole(640, 480), (0, 0));
        assert!(view.is_one_to_one());
        assert_eq!(view.to_remote(0.0, 0.0), Some((0, 0)));
        assert_eq!(view.to_remote(639.5, 479.5), Some((639, 479)));
        assert_eq!(view.to_remote(100.2, 200.9), Some((100, 200)));
        // 1920x1080 shown in 960x540: each window pixel covers two remote pixels.
        let half = View::new(ViewMode::Fit, (1920, 1080), whole(960, 540), (0, 0));
        assert!(!half.is_one_to_one());
        assert_eq!(half.to_remote(480.0, 270.0), Some((960, 540)));
        assert_eq!(half.to_window(960, 540), (480, 270));
        // 1000x500 in a 1000x1000 window: the picture spans rows 250..750; the letterbox
        // clamps to the picture's edge.
        let letterboxed = View::new(ViewMode::Fit, (1000, 500), whole(1000, 1000), (0, 0));
        assert_eq!(letterboxed.to_remote(10.0, 100.0), Some((10, 0)));
        assert_eq!(letterboxed.to_remote(999.0, 900.0), Some((999, 499)));
        assert_eq!(
            letterboxed.visible(),
            Area {
                x: 0,
                y: 250,
                width: 1000,
                height: 500
            }
        );
        assert_eq!(
            View::new(ViewMode::Fit, (640, 480), whole(0, 0), (0, 0)).to_remote(1.0, 1.0),
            None
        );
    }

    #[test]
    fn an_area_below_a_toolbar_offsets_everything() {
        let area = Area {
            x: 0,
            y: 30,
            width: 800,
            height: 600,
        };
        let view = View::new(ViewMode::Actual, (800, 600), area, (0, 0));
        assert_eq!(view.origin(), (0, 30));
        assert_eq!(view.to_remote(5.0, 30.0), Some((5, 0)));
        assert_eq!(view.to_window(5, 0), (5, 30));
        assert_eq!(view.visible(), area);
        assert!(area.contains(0.0, 30.0) && !area.contains(0.0, 29.9));
        let scrolled = View::new(ViewMode::Actual, (1600, 1200), area, (100, 50));
        assert_eq!(scrolled.scroll(), (100, 50));
        assert_eq!(scrolled.origin(), (-100, -20));
        assert_eq!(scrolled.to_remote(0.0, 30.0), Some((100, 50)));
        assert_eq!(scrolled.visible(), area);
    }

    #[test]
    fn a_changed_rectangle_maps_to_the_pixels_showing_it() {
        let rect = Rect {
            x: 10,
            y: 20,
            width: 5,
            height: 5,
        };
        let exact = View::new(ViewMode::Actual, (100, 100), whole(200, 200), (0, 0));
        assert_eq!(
            exact.area_of(&rect),
            Area {
                x: 60,
                y: 70,
                width: 5,
                height: 5
            }
        );
        // Halved: remote rows 20..25 show in window rows 10..13; with one more each side for
        // the footprints, 9..13.
        let half = View::new(ViewMode::Fit, (200, 200), whole(100, 100), (0, 0));
        assert_eq!(
            half.area_of(&rect),
            Area {
                x: 4,
                y: 9,
                width: 4,
                height: 4
            }
        );
        let outside = Rect {
            x: 150,
            y: 150,
            width: 10,
            height: 10,
        };
        assert!(exact.area_of(&outside).is_empty());
        assert!(whole(10, 10).intersect(&exact.visible()).is_empty());
    }

    #[test]
    fn actual_size_scrolls_and_centres() {
        let view = View::new(ViewMode::Actual, (1920, 1080), whole(800, 600), (100, 5000));
        assert_eq!(
            view.scroll(),
            (100, 480),
            "scrolling stops at the picture's end"
        );
        assert_eq!(view.to_remote(0.0, 0.0), Some((100, 480)));
        assert_eq!(view.to_window(100, 480), (0, 0));
        let small = View::new(ViewMode::Actual, (400, 300), whole(800, 600), (50, 50));
        assert_eq!(small.scroll(), (0, 0));
        assert_eq!(
            small.to_window(0, 0),
            (200, 150),
            "a small picture is centred"
        );
    }

    #[test]
    fn the_pointer_at_an_edge_scrolls_a_large_picture() {
        let view = View::new(ViewMode::Actual, (1920, 1080), whole(800, 600), (100, 100));
        assert_eq!(view.panned((400.0, 300.0)), None);
        let (x, y) = view.panned((799.0, 300.0)).expect("scrolls right");
        assert!(x > 100 && y == 100, "{x} {y}");
        let (x, y) = view.panned((0.0, 0.0)).expect("scrolls up and left");
        assert!(x < 100 && y < 100, "{x} {y}");
        let fitted = View::new(ViewMode::Fit, (1920, 1080), whole(800, 600), (0, 0));
        assert_eq!(
            fitted.panned((0.0, 0.0)),
            None,
            "a fitted view never scrolls"
        );
    }
}
