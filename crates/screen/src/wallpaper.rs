//! The static wallpaper: a seed-dependent diagonal gradient brightened by a few soft
//! glows, computed once per desktop with integer arithmetic only.

use crate::hash::mix;
use crate::layout::Layout;

/// Gradient end points (top-left, bottom-right) as RGB; the seed picks one pair.
const GRADIENTS: [([i32; 3], [i32; 3]); 6] = [
    ([25, 42, 86], [104, 60, 136]),
    ([14, 70, 92], [44, 146, 122]),
    ([82, 34, 56], [214, 124, 82]),
    ([20, 30, 50], [74, 116, 166]),
    ([38, 58, 30], [146, 172, 92]),
    ([58, 22, 88], [216, 92, 142]),
];

/// Number of soft glows on top of the gradient.
const GLOWS: u64 = 3;
/// Brightness added at the centre of a glow.
const GLOW_STRENGTH: i64 = 40;

/// A circular brightening that fades to nothing at its edge.
struct Glow {
    cx: i64,
    cy: i64,
    radius: i64,
}

/// Paints the wallpaper over the whole `pixels` buffer (BGRA8, `layout`-sized).
pub(crate) fn paint(pixels: &mut [u8], layout: &Layout, seed: u64) {
    let (width, height) = (layout.width, layout.height);
    let [from, to] = colors(seed);
    let glows = glows(layout, seed);
    // Each axis contributes 0..=511 to the gradient position t in 0..=1022.
    let tx: Vec<i32> = (0..width).map(|x| x * 511 / (width - 1)).collect();
    let row_len = width as usize * 4;
    for (y, row) in (0..height).zip(pixels.chunks_exact_mut(row_len)) {
        let ty = y * 511 / (height - 1);
        for (pixel, &tx) in row.chunks_exact_mut(4).zip(&tx) {
            let t = tx + ty;
            for (channel, out) in [2, 1, 0].into_iter().zip(pixel.iter_mut()) {
                let value = from[channel] + (to[channel] - from[channel]) * t / 1022;
                // value lies between two colour components in 0..=255.
                *out = value as u8;
            }
            pixel[3] = 255;
        }
        for glow in &glows {
            glow.brighten(row, i64::from(y));
        }
    }
}

/// The gradient's end colours for `seed`: a palette pair with each channel jittered.
fn colors(seed: u64) -> [[i32; 3]; 2] {
    let (a, b) = GRADIENTS[(mix(seed, 1) % GRADIENTS.len() as u64) as usize];
    let jitter = mix(seed, 2);
    let mut pair = [a, b];
    for (i, channel) in pair.iter_mut().flatten().enumerate() {
        let offset = ((jitter >> (i * 8)) & 31) as i32 - 16;
        *channel = (*channel + offset).clamp(0, 255);
    }
    pair
}

/// The glows for `seed`, centred somewhere on the desk.
fn glows(layout: &Layout, seed: u64) -> Vec<Glow> {
    let (width, height) = (i64::from(layout.width), i64::from(layout.desk.h));
    let base = width.min(height) / 4;
    (0..GLOWS)
        .map(|i| Glow {
            cx: (mix(seed, 10 + i) % width as u64) as i64,
            cy: (mix(seed, 20 + i) % height as u64) as i64,
            radius: base + (mix(seed, 30 + i) % (base as u64 + 1)) as i64,
        })
        .collect()
}

impl Glow {
    /// Brightens the part of pixel row `y` (BGRA8) inside this glow.
    fn brighten(&self, row: &mut [u8], y: i64) {
        let r2 = self.radius * self.radius;
        let dy = y - self.cy;
        if r2 == 0 || dy * dy >= r2 {
            return;
        }
        let width = (row.len() / 4) as i64;
        let x0 = (self.cx - self.radius).max(0);
        let x1 = (self.cx + self.radius + 1).min(width);
        for x in x0..x1 {
            let dx = x - self.cx;
            let d2 = dx * dx + dy * dy;
            if d2 < r2 {
                let add = (r2 - d2) * GLOW_STRENGTH / r2;
                let at = x as usize * 4;
                for channel in &mut row[at..at + 3] {
                    *channel = (i64::from(*channel) + add).min(255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallpaper(width: i32, height: i32, seed: u64) -> Vec<u8> {
        let mut pixels = vec![0; (width * height * 4) as usize];
        paint(&mut pixels, &Layout::new(width, height), seed);
        pixels
    }

    #[test]
    fn opaque_seed_dependent_and_smooth() {
        let a = wallpaper(64, 48, 1);
        assert!(a.chunks_exact(4).all(|p| p[3] == 255));
        assert_ne!(a, wallpaper(64, 48, 2));
        // Neighbouring pixels differ by little: no hard edges.
        let row = &a[..64 * 4];
        for (left, right) in row.chunks_exact(4).zip(row.chunks_exact(4).skip(1)) {
            for c in 0..3 {
                assert!(left[c].abs_diff(right[c]) <= 16, "{left:?} {right:?}");
            }
        }
    }
}
