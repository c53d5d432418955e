//! Clipped drawing primitives on a BGRA8 pixel buffer.

/// One pixel in BGRA byte order.
pub(crate) type Bgra = [u8; 4];

/// An opaque colour from its red, green and blue components.
pub(crate) const fn rgb(r: u8, g: u8, b: u8) -> Bgra {
    [b, g, r, 255]
}

/// An axis-aligned rectangle in pixels; may lie partly or wholly outside the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Area {
    /// The rectangle at (`x`, `y`) of size `w` x `h`.
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> Area {
        Area { x, y, w, h }
    }

    /// The same rectangle moved by (`dx`, `dy`).
    pub const fn offset(self, dx: i32, dy: i32) -> Area {
        Area::new(self.x + dx, self.y + dy, self.w, self.h)
    }

    /// The overlap of two rectangles, or `None` when it is empty.
    pub fn intersect(self, other: Area) -> Option<Area> {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        (x1 > x0 && y1 > y0).then(|| Area::new(x0, y0, x1 - x0, y1 - y0))
    }
}

/// A mutable view of a BGRA8 buffer (stride = width * 4) that clips every operation to
/// a rectangle lying within the buffer.
pub(crate) struct Canvas<'a> {
    pixels: &'a mut [u8],
    width: i32,
    clip: Area,
}

impl<'a> Canvas<'a> {
    /// A canvas over `pixels`, which holds `width` x `height` BGRA8 pixels.
    pub fn new(pixels: &'a mut [u8], width: i32, height: i32) -> Canvas<'a> {
        debug_assert_eq!(pixels.len(), width as usize * height as usize * 4);
        Canvas {
            pixels,
            width,
            clip: Area::new(0, 0, width, height),
        }
    }

    /// A canvas over the same pixels whose drawing is further restricted to `area`.
    pub fn clipped(&mut self, area: Area) -> Canvas<'_> {
        let clip = self.clip.intersect(area).unwrap_or(Area::new(0, 0, 0, 0));
        Canvas {
            pixels: self.pixels,
            width: self.width,
            clip,
        }
    }

    /// Byte range of the visible part of row `y` between `x` and `x + w` (already clipped).
    fn span(&self, x: i32, y: i32, w: i32) -> std::ops::Range<usize> {
        let start = (y as usize * self.width as usize + x as usize) * 4;
        start..start + w as usize * 4
    }

    /// Fills `area` with `color`.
    pub fn fill(&mut self, area: Area, color: Bgra) {
        let Some(r) = self.clip.intersect(area) else {
            return;
        };
        let first = self.span(r.x, r.y, r.w);
        for pixel in self.pixels[first.clone()].chunks_exact_mut(4) {
            pixel.copy_from_slice(&color);
        }
        for y in r.y + 1..r.y + r.h {
            let dest = self.span(r.x, y, r.w).start;
            self.pixels.copy_within(first.clone(), dest);
        }
    }

    /// Draws a `thickness`-pixel frame along the inside edge of `area`.
    pub fn outline(&mut self, area: Area, thickness: i32, color: Bgra) {
        let t = thickness.min(area.w).min(area.h);
        self.fill(Area::new(area.x, area.y, area.w, t), color);
        self.fill(Area::new(area.x, area.y + area.h - t, area.w, t), color);
        self.fill(Area::new(area.x, area.y, t, area.h), color);
        self.fill(Area::new(area.x + area.w - t, area.y, t, area.h), color);
    }

    /// Darkens `area` to 5/8 of its brightness, as a soft drop shadow would.
    pub fn darken(&mut self, area: Area) {
        let Some(r) = self.clip.intersect(area) else {
            return;
        };
        for y in r.y..r.y + r.h {
            let span = self.span(r.x, y, r.w);
            for pixel in self.pixels[span].chunks_exact_mut(4) {
                for channel in &mut pixel[..3] {
                    *channel = (u16::from(*channel) * 5 / 8) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Bgra = rgb(255, 0, 0);

    fn pixel(buf: &[u8], width: i32, x: i32, y: i32) -> Bgra {
        let i = ((y * width + x) * 4) as usize;
        [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
    }

    #[test]
    fn rgb_is_stored_as_bgra() {
        assert_eq!(rgb(1, 2, 3), [3, 2, 1, 255]);
    }

    #[test]
    fn intersect_handles_disjoint_and_overlapping() {
        let a = Area::new(0, 0, 10, 10);
        assert_eq!(
            a.intersect(Area::new(5, -5, 10, 10)),
            Some(Area::new(5, 0, 5, 5))
        );
        assert_eq!(a.intersect(Area::new(10, 0, 5, 5)), None);
        assert_eq!(a.intersect(Area::new(-3, -3, 0, 20)), None);
    }

    #[test]
    fn fill_is_clipped_to_canvas_and_clip_area() {
        let mut buf = vec![0u8; 8 * 4 * 4];
        let mut canvas = Canvas::new(&mut buf, 8, 4);
        canvas.fill(Area::new(-5, -5, 7, 7), RED);
        canvas
            .clipped(Area::new(6, 0, 100, 1))
            .fill(Area::new(0, 0, 100, 100), RED);
        assert_eq!(pixel(&buf, 8, 0, 0), RED);
        assert_eq!(pixel(&buf, 8, 1, 1), RED);
        assert_eq!(pixel(&buf, 8, 2, 1), [0; 4]);
        assert_eq!(pixel(&buf, 8, 1, 2), [0; 4]);
        assert_eq!(pixel(&buf, 8, 7, 0), RED);
        assert_eq!(pixel(&buf, 8, 7, 1), [0; 4]);
    }

    #[test]
    fn outline_leaves_the_inside_alone() {
        let mut buf = vec![0u8; 5 * 5 * 4];
        Canvas::new(&mut buf, 5, 5).outline(Area::new(0, 0, 5, 5), 1, RED);
        assert_eq!(pixel(&buf, 5, 0, 2), RED);
        assert_eq!(pixel(&buf, 5, 4, 4), RED);
        assert_eq!(pixel(&buf, 5, 2, 2), [0; 4]);
    }

    #[test]
    fn darken_keeps_alpha() {
        let mut buf = vec![200u8; 2 * 2 * 4];
        Canvas::new(&mut buf, 2, 2).darken(Area::new(1, 1, 5, 5));
        assert_eq!(pixel(&buf, 2, 1, 1), [125, 125, 125, 200]);
        assert_eq!(pixel(&buf, 2, 0, 0), [200; 4]);
    }
}
