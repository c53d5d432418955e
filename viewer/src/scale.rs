//! Fitting a picture into a window: scale to fit, keep the aspect ratio, centre it.

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
}
