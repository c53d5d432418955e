//! Text rendering with the 8x8 bitmap glyphs of `font8x8`, optionally scaled up.

use font8x8::{UnicodeFonts, BASIC_FONTS};

use crate::draw::{Area, Bgra, Canvas};

/// Width and height of an unscaled glyph, in pixels.
pub(crate) const GLYPH: i32 = 8;

/// The bitmap for `c`: one byte per row, top to bottom, bit 0 the leftmost pixel.
/// Characters without a glyph render as `?`.
fn glyph(c: char) -> [u8; 8] {
    BASIC_FONTS
        .get(c)
        .or_else(|| BASIC_FONTS.get('?'))
        .unwrap_or_default()
}

/// Draws `c` with its top-left corner at (`x`, `y`), each font pixel `scale` x `scale`.
pub(crate) fn draw_char(canvas: &mut Canvas, x: i32, y: i32, c: char, scale: i32, color: Bgra) {
    for (row, bits) in (0..).zip(glyph(c)) {
        for col in 0..GLYPH {
            if bits & (1 << col) != 0 {
                let dot = Area::new(x + col * scale, y + row * scale, scale, scale);
                canvas.fill(dot, color);
            }
        }
    }
}

/// Draws `text` on one line starting at (`x`, `y`); glyphs are `GLYPH * scale` wide.
pub(crate) fn draw_text(canvas: &mut Canvas, x: i32, y: i32, text: &str, scale: i32, color: Bgra) {
    for (i, c) in (0..).zip(text.chars()) {
        draw_char(canvas, x + i * GLYPH * scale, y, c, scale, color);
    }
}

/// Width in pixels of `text` drawn by [`draw_text`] at `scale`.
pub(crate) fn text_width(text: &str, scale: i32) -> i32 {
    let chars = i32::try_from(text.chars().count()).unwrap_or(i32::MAX / GLYPH);
    chars.saturating_mul(GLYPH * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::rgb;

    #[test]
    fn glyphs_exist_for_printable_ascii() {
        assert_eq!(glyph(' '), [0; 8]);
        for c in '!'..='~' {
            assert_ne!(glyph(c), [0; 8], "{c:?} has no glyph");
        }
        assert_eq!(glyph('\u{1F600}'), glyph('?'));
    }

    #[test]
    fn bit_zero_is_the_leftmost_pixel() {
        // The top row of 'L' is "####....": its four leftmost pixels only.
        let mut buf = vec![0u8; 8 * 8 * 4];
        let white = rgb(255, 255, 255);
        draw_char(&mut Canvas::new(&mut buf, 8, 8), 0, 0, 'L', 1, white);
        let lit: Vec<bool> = buf[..32].chunks_exact(4).map(|p| p == white).collect();
        assert_eq!(lit, [true, true, true, true, false, false, false, false]);
    }

    #[test]
    fn scaled_text_is_clipped_and_measured() {
        let mut buf = vec![0u8; 10 * 10 * 4];
        let mut canvas = Canvas::new(&mut buf, 10, 10);
        draw_text(&mut canvas, -20, 3, "Tether", 3, rgb(1, 2, 3));
        assert!(buf.chunks_exact(4).any(|p| p == rgb(1, 2, 3)));
        assert_eq!(text_width("Tether", 2), 96);
        assert_eq!(text_width("", 2), 0);
    }
}
