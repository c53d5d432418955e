//! Converting X `ZPixmap` images of a TrueColor visual into BGRA frames.

use tether_codec::Rect;

/// How the pixels of the screen's `ZPixmap` images are stored, checked to be convertible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PixelLayout {
    /// 3 or 4.
    bytes_per_pixel: usize,
    /// Rows are padded to a multiple of this many bits.
    scanline_pad: u32,
    /// Whether multi-byte pixels are stored most significant byte first.
    msb_first: bool,
    /// Bit position of the lowest bit of each channel (each is 8 bits wide).
    red_shift: u32,
    green_shift: u32,
    blue_shift: u32,
}

/// What the server says about the root window's visual and pixmap format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VisualFormat {
    pub(crate) bits_per_pixel: u8,
    pub(crate) scanline_pad: u8,
    pub(crate) msb_first: bool,
    pub(crate) red_mask: u32,
    pub(crate) green_mask: u32,
    pub(crate) blue_mask: u32,
}

impl PixelLayout {
    /// The layout of `format`, or why it cannot be converted: only 24- and 32-bit pixels
    /// with one 8-bit channel per colour are supported.
    pub(crate) fn new(format: VisualFormat) -> Result<PixelLayout, String> {
        let bits = u32::from(format.bits_per_pixel);
        if bits != 24 && bits != 32 {
            return Err(format!(
                "{bits} bits per pixel is not supported (only 24 and 32)"
            ));
        }
        let pad = u32::from(format.scanline_pad);
        if !matches!(pad, 8 | 16 | 32) {
            return Err(format!("scanline pad of {pad} bits is not supported"));
        }
        let shift = |name: &str, mask: u32| {
            let shift = mask.trailing_zeros();
            if mask.count_ones() == 8 && mask >> shift == 0xff && shift + 8 <= bits {
                Ok(shift)
            } else {
                Err(format!(
                    "{name} mask {mask:#x} is not 8 contiguous bits within a {bits}-bit pixel"
                ))
            }
        };
        let layout = PixelLayout {
            bytes_per_pixel: (bits / 8) as usize,
            scanline_pad: pad,
            msb_first: format.msb_first,
            red_shift: shift("red", format.red_mask)?,
            green_shift: shift("green", format.green_mask)?,
            blue_shift: shift("blue", format.blue_mask)?,
        };
        if format.red_mask & format.green_mask != 0
            || format.red_mask & format.blue_mask != 0
            || format.green_mask & format.blue_mask != 0
        {
            return Err("colour masks overlap".to_owned());
        }
        Ok(layout)
    }

    /// Bytes per row of a `width`-pixel X image, padding included.
    pub(crate) fn stride(&self, width: u32) -> usize {
        let bits = width as usize * self.bytes_per_pixel * 8;
        let pad = self.scanline_pad as usize;
        bits.div_ceil(pad) * pad / 8
    }

    /// Bytes of a `width` x `height` X image.
    pub(crate) fn image_len(&self, width: u32, height: u32) -> usize {
        self.stride(width) * height as usize
    }

    /// Converts the parts `rects` of the `width` x `height` X image `image` into the same
    /// parts of BGRA `frame` (exactly `width * height * 4` bytes), alpha 255; the rest of
    /// `frame` is left alone. Fails when `image` is too short or a rectangle sticks out.
    pub(crate) fn write_bgra(
        &self,
        image: &[u8],
        width: u32,
        height: u32,
        frame: &mut [u8],
        rects: &[Rect],
    ) -> Result<(), String> {
        let needed = self.image_len(width, height);
        if image.len() < needed {
            return Err(format!(
                "the X server sent {} image bytes for {width}x{height}, expected {needed}",
                image.len()
            ));
        }
        if frame.len() != width as usize * height as usize * 4 {
            return Err("frame size does not match the image".to_owned());
        }
        let stride = self.stride(width);
        for rect in rects {
            let fits =
                |start: u32, len: u32, end: u32| start.checked_add(len).is_some_and(|e| e <= end);
            if !fits(rect.x, rect.width, width) || !fits(rect.y, rect.height, height) {
                return Err(format!("{rect:?} is not inside {width}x{height}"));
            }
            let (x, w) = (rect.x as usize, rect.width as usize);
            for y in rect.y as usize..(rect.y + rect.height) as usize {
                let src = y * stride + x * self.bytes_per_pixel;
                let dst = (y * width as usize + x) * 4;
                self.convert_row(
                    &image[src..src + w * self.bytes_per_pixel],
                    &mut frame[dst..dst + w * 4],
                );
            }
        }
        Ok(())
    }

    /// Converts one run of pixels.
    fn convert_row(&self, src: &[u8], dst: &mut [u8]) {
        let already_bgrx = self.bytes_per_pixel == 4
            && !self.msb_first
            && (self.blue_shift, self.green_shift, self.red_shift) == (0, 8, 16);
        if already_bgrx {
            // The common case (little-endian 0xRRGGBB): bytes are already B, G, R, x.
            for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)) {
                let pixel = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) | 0xff00_0000;
                d.copy_from_slice(&pixel.to_le_bytes());
            }
        } else {
            for (s, d) in src
                .chunks_exact(self.bytes_per_pixel)
                .zip(dst.chunks_exact_mut(4))
            {
                let value = self.pixel_value(s);
                d.copy_from_slice(&[
                    (value >> self.blue_shift) as u8,
                    (value >> self.green_shift) as u8,
                    (value >> self.red_shift) as u8,
                    0xff,
                ]);
            }
        }
    }

    /// The pixel stored in `bytes` (3 or 4 of them) in the image's byte order.
    fn pixel_value(&self, bytes: &[u8]) -> u32 {
        if self.msb_first {
            bytes.iter().fold(0, |v, &b| (v << 8) | u32::from(b))
        } else {
            bytes.iter().rev().fold(0, |v, &b| (v << 8) | u32::from(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(bits_per_pixel: u8, msb_first: bool, masks: [u32; 3]) -> VisualFormat {
        VisualFormat {
            bits_per_pixel,
            scanline_pad: 32,
            msb_first,
            red_mask: masks[0],
            green_mask: masks[1],
            blue_mask: masks[2],
        }
    }

    const RGB: [u32; 3] = [0xff_0000, 0xff00, 0xff];

    fn convert(layout: PixelLayout, image: &[u8], width: u32, height: u32) -> Vec<u8> {
        let mut frame = vec![0; (width * height * 4) as usize];
        let all = Rect {
            x: 0,
            y: 0,
            width,
            height,
        };
        layout
            .write_bgra(image, width, height, &mut frame, &[all])
            .expect("converts");
        frame
    }

    #[test]
    fn little_endian_32_bit_keeps_bgr_and_forces_alpha() {
        let layout = PixelLayout::new(format(32, false, RGB)).expect("supported");
        let image = [0x10, 0x20, 0x30, 0x00, 0x40, 0x50, 0x60, 0x7f];
        assert_eq!(
            convert(layout, &image, 2, 1),
            [0x10, 0x20, 0x30, 0xff, 0x40, 0x50, 0x60, 0xff]
        );
    }

    #[test]
    fn big_endian_and_swapped_masks_are_converted() {
        // MSB first, 0x00RRGGBB: bytes x, R, G, B.
        let layout = PixelLayout::new(format(32, true, RGB)).expect("supported");
        assert_eq!(
            convert(layout, &[0x00, 0xaa, 0xbb, 0xcc], 1, 1),
            [0xcc, 0xbb, 0xaa, 0xff]
        );
        // Little-endian 0x00BBGGRR (red in the low byte): bytes R, G, B, x.
        let bgr = [0xff, 0xff00, 0xff_0000];
        let layout = PixelLayout::new(format(32, false, bgr)).expect("supported");
        assert_eq!(
            convert(layout, &[0xaa, 0xbb, 0xcc, 0x00], 1, 1),
            [0xcc, 0xbb, 0xaa, 0xff]
        );
    }

    #[test]
    fn packed_24_bit_rows_are_padded_to_32_bits() {
        let layout = PixelLayout::new(format(24, false, RGB)).expect("supported");
        // 1 pixel = 3 bytes, padded to 4; 2 rows.
        assert_eq!(layout.stride(1), 4);
        let image = [1, 2, 3, 0, 4, 5, 6, 0];
        assert_eq!(convert(layout, &image, 1, 2), [1, 2, 3, 255, 4, 5, 6, 255]);
        assert_eq!(layout.stride(3), 12);
    }

    #[test]
    fn unsupported_formats_are_refused_with_a_reason() {
        let err = PixelLayout::new(format(16, false, [0xf800, 0x7e0, 0x1f])).unwrap_err();
        assert!(err.contains("16 bits per pixel"), "{err}");
        let deep = [0x3ff0_0000, 0xffc00, 0x3ff];
        let err = PixelLayout::new(format(32, false, deep)).unwrap_err();
        assert!(err.contains("red mask"), "{err}");
        let err = PixelLayout::new(format(32, false, [0xff, 0xff, 0xff00])).unwrap_err();
        assert!(err.contains("overlap"), "{err}");
    }

    #[test]
    fn short_images_are_an_error_not_a_panic() {
        let layout = PixelLayout::new(format(32, false, RGB)).expect("supported");
        let mut frame = vec![0; 16];
        let err = layout
            .write_bgra(&[0; 15], 2, 2, &mut frame, &[])
            .unwrap_err();
        assert!(err.contains("15 image bytes"), "{err}");
        let outside = Rect {
            x: 1,
            y: 0,
            width: 2,
            height: 1,
        };
        let err = layout
            .write_bgra(&[0; 16], 2, 2, &mut frame, &[outside])
            .unwrap_err();
        assert!(err.contains("not inside 2x2"), "{err}");
    }

    #[test]
    fn only_the_given_rectangles_are_converted() {
        let layout = PixelLayout::new(format(32, false, RGB)).expect("supported");
        let image: Vec<u8> = (0..3 * 3 * 4).map(|i| i as u8).collect();
        let mut frame = vec![7; 3 * 3 * 4];
        let middle = Rect {
            x: 1,
            y: 1,
            width: 2,
            height: 1,
        };
        layout
            .write_bgra(&image, 3, 3, &mut frame, &[middle])
            .expect("converts");
        for (i, pixel) in frame.chunks_exact(4).enumerate() {
            if i == 4 || i == 5 {
                let at = i * 4;
                assert_eq!(pixel, [image[at], image[at + 1], image[at + 2], 255]);
            } else {
                assert_eq!(pixel, [7; 4], "pixel {i} was written");
            }
        }
    }
}
