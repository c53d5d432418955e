//! Rectangles in X root-window coordinates, and turning X damage into frame rectangles.

use tether_codec::Rect;

/// Most damage rectangles one capture reports; more are replaced by their bounding box, as
/// the encoder gains little from long lists and the X server's regions are unbounded.
pub(crate) const MAX_DAMAGE_RECTS: usize = 64;

/// A rectangle in root-window coordinates (X uses signed positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Area {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Area {
    /// The part of `self` inside `bounds`, or `None` when they do not overlap.
    pub(crate) fn intersect(self, bounds: Area) -> Option<Area> {
        let left = i64::from(self.x).max(i64::from(bounds.x));
        let top = i64::from(self.y).max(i64::from(bounds.y));
        let right = self.right().min(bounds.right());
        let bottom = self.bottom().min(bounds.bottom());
        if left >= right || top >= bottom {
            return None;
        }
        // Both edges lie within one of the inputs, so everything fits back into i32/u32.
        Some(Area {
            x: i32::try_from(left).ok()?,
            y: i32::try_from(top).ok()?,
            width: u32::try_from(right - left).ok()?,
            height: u32::try_from(bottom - top).ok()?,
        })
    }

    /// `self` (which must lie inside `frame`) in coordinates relative to `frame`'s corner.
    pub(crate) fn relative_to(self, frame: Area) -> Rect {
        Rect {
            x: self.x.abs_diff(frame.x),
            y: self.y.abs_diff(frame.y),
            width: self.width,
            height: self.height,
        }
    }

    fn right(self) -> i64 {
        i64::from(self.x) + i64::from(self.width)
    }

    fn bottom(self) -> i64 {
        i64::from(self.y) + i64::from(self.height)
    }
}

/// The parts of `damage` inside `frame` (a root-window area), empty ones dropped. More than
/// `cap` rectangles become their bounding box.
pub(crate) fn clip_damage(
    damage: impl IntoIterator<Item = Area>,
    frame: Area,
    cap: usize,
) -> Vec<Area> {
    let mut inside: Vec<Area> = Vec::new();
    let mut bounds: Option<Area> = None;
    for area in damage {
        let Some(part) = area.intersect(frame) else {
            continue;
        };
        bounds = Some(bounds.map_or(part, |b| bounding_box(b, part)));
        if inside.len() <= cap {
            inside.push(part);
        }
    }
    match bounds {
        Some(bounds) if inside.len() > cap => vec![bounds],
        _ => inside,
    }
}

/// The smallest area containing both `a` and `b`.
fn bounding_box(a: Area, b: Area) -> Area {
    let left = a.x.min(b.x);
    let top = a.y.min(b.y);
    let right = a.right().max(b.right());
    let bottom = a.bottom().max(b.bottom());
    Area {
        x: left,
        y: top,
        // Both lie inside one frame area, whose size fits in u32.
        width: u32::try_from(right - i64::from(left)).unwrap_or(u32::MAX),
        height: u32::try_from(bottom - i64::from(top)).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(x: i32, y: i32, width: u32, height: u32) -> Area {
        Area {
            x,
            y,
            width,
            height,
        }
    }

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    fn frame_damage(damage: impl IntoIterator<Item = Area>, frame: Area, cap: usize) -> Vec<Rect> {
        clip_damage(damage, frame, cap)
            .into_iter()
            .map(|a| a.relative_to(frame))
            .collect()
    }

    #[test]
    fn damage_is_clipped_and_moved_into_the_frame() {
        let frame = area(100, 50, 200, 100);
        let damage = [
            area(90, 40, 20, 20),     // overlaps the top-left corner
            area(150, 60, 10, 5),     // inside
            area(0, 0, 50, 50),       // outside
            area(290, 140, 100, 100), // overlaps the bottom-right corner
            area(120, 70, 0, 10),     // empty
        ];
        assert_eq!(
            frame_damage(damage, frame, MAX_DAMAGE_RECTS),
            vec![
                rect(0, 0, 10, 10),
                rect(50, 10, 10, 5),
                rect(190, 90, 10, 10)
            ]
        );
    }

    #[test]
    fn too_many_rectangles_become_their_bounding_box() {
        let frame = area(0, 0, 1000, 1000);
        let damage: Vec<Area> = (0..10).map(|i| area(10 + i * 20, 30 + i, 5, 5)).collect();
        assert_eq!(frame_damage(damage.clone(), frame, 10).len(), 10);
        assert_eq!(frame_damage(damage, frame, 9), vec![rect(10, 30, 185, 14)]);
    }

    #[test]
    fn extreme_coordinates_do_not_overflow() {
        let frame = area(i32::MAX - 10, i32::MIN, 10, 10);
        let damage = [area(i32::MIN, i32::MIN, u32::MAX, u32::MAX)];
        assert_eq!(frame_damage(damage, frame, 4), vec![rect(0, 0, 10, 10)]);
        assert_eq!(area(0, 0, 5, 5).intersect(area(5, 0, 5, 5)), None);
    }
}
