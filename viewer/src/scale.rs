//! Fitting the remote framebuffer into the window: scale to fit, keep the aspect ratio,
//! letterbox the rest. Pure pixel arithmetic, no windowing.

use tether_codec::{Frame, Rect};

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

impl Area {
    /// The part of `self` inside a `window_w` x `window_h` window.
    pub fn clipped(self, window_w: u32, window_h: u32) -> Area {
        let x = self.x.min(window_w);
        let y = self.y.min(window_h);
        Area {
            x,
            y,
            width: self.width.min(window_w - x),
            height: self.height.min(window_h - y),
        }
    }
}

impl Placement {
    /// The window area showing the remote rectangle `rect` of a `frame_w` x `frame_h` picture
    /// (rounded outwards: it may include a pixel more on each side).
    pub fn area_of(&self, rect: &Rect, frame_w: u32, frame_h: u32) -> Area {
        let scale = |value: u32, shown: u32, size: u32| -> u64 {
            u64::from(value) * u64::from(shown) / u64::from(size.max(1))
        };
        let x0 = scale(rect.x, self.width, frame_w);
        let y0 = scale(rect.y, self.height, frame_h);
        let x1 = scale(rect.x + rect.width, self.width, frame_w) + 1;
        let y1 = scale(rect.y + rect.height, self.height, frame_h) + 1;
        // All bounded by the placement's u32 size plus one.
        Area {
            x: self.x + x0 as u32,
            y: self.y + y0 as u32,
            width: (x1.min(u64::from(self.width)) - x0.min(u64::from(self.width))) as u32,
            height: (y1.min(u64::from(self.height)) - y0.min(u64::from(self.height))) as u32,
        }
    }
}

/// Draws `frame` into `surface` (0RGB pixels, `window_w` wide), scaled to fit with nearest
/// neighbour sampling; the letterbox is filled with a dark backdrop.
pub fn blit_fit(frame: &Frame, surface: &mut [u32], window_w: u32, window_h: u32) {
    let whole = Area {
        x: 0,
        y: 0,
        width: window_w,
        height: window_h,
    };
    blit_fit_area(frame, surface, window_w, window_h, whole);
}

/// Like [`blit_fit`], for the window pixels of `area` only: what changed is redrawn, the rest
/// of the surface is left as it is.
pub fn blit_fit_area(frame: &Frame, surface: &mut [u32], window_w: u32, window_h: u32, area: Area) {
    let place = fit(frame.width(), frame.height(), window_w, window_h);
    let area = area.clipped(window_w, window_h);
    let src = frame.pixels();
    let src_stride = frame.width() as usize * 4;
    let columns: Vec<Option<usize>> = (area.x..area.x + area.width)
        .map(|x| {
            (x >= place.x && x < place.x + place.width).then(|| {
                let src_x =
                    u64::from(x - place.x) * u64::from(frame.width()) / u64::from(place.width);
                src_x as usize * 4
            })
        })
        .collect();
    for y in area.y..area.y + area.height {
        let start = y as usize * window_w as usize + area.x as usize;
        let Some(dst_row) = surface.get_mut(start..start + area.width as usize) else {
            return;
        };
        if y < place.y || y >= place.y + place.height {
            dst_row.fill(BACKDROP);
            continue;
        }
        let src_y =
            (u64::from(y - place.y) * u64::from(frame.height()) / u64::from(place.height)) as usize;
        let src_row = &src[src_y * src_stride..][..src_stride];
        for (dst, column) in dst_row.iter_mut().zip(&columns) {
            *dst = match *column {
                Some(offset) => {
                    let (b, g, r) = (src_row[offset], src_row[offset + 1], src_row[offset + 2]);
                    u32::from_le_bytes([b, g, r, 0])
                }
                None => BACKDROP,
            };
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

    #[test]
    fn redrawing_the_changed_areas_equals_redrawing_everything() {
        let before = Frame::new(64, 48, [10, 20, 30, 255].repeat(64 * 48)).unwrap();
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
                after.pixels_mut()[at..at + 4].copy_from_slice(&[x as u8, y as u8, 7, 255]);
            }
        }
        for (window_w, window_h) in [(64, 48), (100, 100), (37, 29), (200, 60)] {
            let len = (window_w * window_h) as usize;
            let mut partial = vec![0; len];
            blit_fit(&before, &mut partial, window_w, window_h);
            let place = fit(64, 48, window_w, window_h);
            let area = place.area_of(&changed, 64, 48);
            blit_fit_area(&after, &mut partial, window_w, window_h, area);
            let mut whole = vec![0; len];
            blit_fit(&after, &mut whole, window_w, window_h);
            assert!(partial == whole, "{window_w}x{window_h}");
        }
    }
}
