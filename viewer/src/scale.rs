//! Fitting the remote framebuffer into the window: scale to fit, keep the aspect ratio,
//! letterbox the rest. Pure pixel arithmetic, no windowing.

use tether_codec::Frame;

/// The letterbox colour (0RGB).
const BACKDROP: u32 = 0x0020_2020;

/// Where the picture lands inside a `window_w` x `window_h` surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge of the picture.
    pub x: u32,
    /// Top edge of the picture.
    pub y: u32,
    /// Picture width on screen.
    pub width: u32,
    /// Picture height on screen.
    pub height: u32,
}

/// Scales `frame_w` x `frame_h` to the largest size that fits the window with the same aspect
/// ratio, centred.
pub fn fit(frame_w: u32, frame_h: u32, window_w: u32, window_h: u32) -> Placement {
    let (fw, fh, ww, wh) = (
        u64::from(frame_w.max(1)),
        u64::from(frame_h.max(1)),
        u64::from(window_w),
        u64::from(window_h),
    );
    // Width-limited if the window is relatively narrower than the frame.
    let (width, height) = if ww * fh <= wh * fw {
        (ww, (ww * fh / fw).min(wh))
    } else {
        ((wh * fw / fh).min(ww), wh)
    };
    // Both are at most the window's u32 dimensions.
    let (width, height) = (width as u32, height as u32);
    Placement {
        x: (window_w - width) / 2,
        y: (window_h - height) / 2,
        width,
        height,
    }
}

/// Draws `frame` into `surface` (0RGB pixels, `window_w` wide), scaled to fit with nearest
/// neighbour sampling; the letterbox is filled with a dark backdrop.
pub fn blit_fit(frame: &Frame, surface: &mut [u32], window_w: u32, window_h: u32) {
    let place = fit(frame.width(), frame.height(), window_w, window_h);
    surface.fill(BACKDROP);
    if place.width == 0 || place.height == 0 {
        return;
    }
    let src = frame.pixels();
    let src_stride = frame.width() as usize * 4;
    let columns: Vec<usize> = (0..place.width)
        .map(|x| (u64::from(x) * u64::from(frame.width()) / u64::from(place.width)) as usize * 4)
        .collect();
    for y in 0..place.height {
        let src_y = (u64::from(y) * u64::from(frame.height()) / u64::from(place.height)) as usize;
        let src_row = &src[src_y * src_stride..][..src_stride];
        let start = (place.y + y) as usize * window_w as usize + place.x as usize;
        let Some(dst_row) = surface.get_mut(start..start + place.width as usize) else {
            return;
        };
        for (dst, &offset) in dst_row.iter_mut().zip(&columns) {
            let (b, g, r) = (src_row[offset], src_row[offset + 1], src_row[offset + 2]);
            *dst = u32::from_le_bytes([b, g, r, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_the_aspect_ratio_and_centres() {
        assert_eq!(
            fit(1920, 1080, 1920, 1080),
            Placement {
                x: 0,
                y: 0,
                width: 1920,
                height: 1080
            }
        );
        assert_eq!(
            fit(1920, 1080, 960, 1000),
            Placement {
                x: 0,
                y: 230,
                width: 960,
                height: 540
            }
        );
        assert_eq!(
            fit(1000, 1000, 800, 400),
            Placement {
                x: 200,
                y: 0,
                width: 400,
                height: 400
            }
        );
        assert_eq!(
            fit(1280, 720, 0, 0),
            Placement {
                x: 0,
                y: 0,
                width: 0,
                height: 0
            }
        );
    }

    #[test]
    fn one_to_one_blit_is_exact_and_scaled_blit_samples() {
        let mut pixels = Vec::new();
        for i in 0..4u8 {
            pixels.extend_from_slice(&[i, 10 + i, 20 + i, 255]);
        }
        let frame = Frame::new(2, 2, pixels).unwrap();
        let mut surface = vec![0; 4];
        blit_fit(&frame, &mut surface, 2, 2);
        assert_eq!(
            surface,
            vec![0x0014_0a00, 0x0015_0b01, 0x0016_0c02, 0x0017_0d03]
        );

        // 2x2 into 4x2: a centred 2x2 picture with letterbox columns either side.
        let mut surface = vec![0; 8];
        blit_fit(&frame, &mut surface, 4, 2);
        assert_eq!(surface[0], BACKDROP);
        assert_eq!(surface[1], 0x0014_0a00);
        assert_eq!(surface[6], 0x0017_0d03);
        assert_eq!(surface[7], BACKDROP);
    }
}
