//! [`DemoDesktop`]: the built-in animated, deterministic desktop.

use std::fmt;

use tether_codec::Frame;

use crate::scene::Scene;
use crate::source::{CaptureError, ScreenSource};

/// Smallest supported frame width; narrower requests are clamped up to it.
pub const MIN_WIDTH: u32 = 64;
/// Smallest supported frame height; shorter requests are clamped up to it.
pub const MIN_HEIGHT: u32 = 48;
/// Largest supported frame width (8K UHD); wider requests are clamped down to it.
pub const MAX_WIDTH: u32 = 7680;
/// Largest supported frame height (8K UHD); taller requests are clamped down to it.
pub const MAX_HEIGHT: u32 = 4320;

/// A built-in animated desktop, used by tests and as the fallback when no display exists.
///
/// It shows a seed-dependent wallpaper with a few icons, a taskbar whose clock starts at
/// a seed-derived time of day and advances one second every 30 frames, and a "Notes"
/// window that glides along a closed path a few pixels per frame while a paragraph about
/// Tether is typed into it (one character every 2 frames, blinking block cursor, starting
/// over once everything is typed).
///
/// Rendering is deterministic: the same size, seed and frame index give identical bytes
/// on every run and machine (integer arithmetic only, no clocks, no global state). Every
/// frame differs from the one before it, because the window moves horizontally on every
/// frame.
///
/// As a [`ScreenSource`], capture number k (0-based) is exactly [`frame(k)`](Self::frame).
pub struct DemoDesktop {
    width: u32,
    height: u32,
    seed: u64,
    scene: Scene,
    /// The frame returned by [`ScreenSource::capture`], reused between captures.
    frame: Frame,
    next_index: u64,
}

impl DemoDesktop {
    /// A demo desktop of `width` x `height` pixels whose wallpaper, clock start and window
    /// path are chosen by `seed`.
    ///
    /// The size is clamped to [`MIN_WIDTH`]x[`MIN_HEIGHT`] ..= [`MAX_WIDTH`]x[`MAX_HEIGHT`];
    /// [`width`](Self::width) and [`height`](Self::height) report the size actually used.
    /// The static background is precomputed here, so creating a desktop costs about one
    /// frame's worth of memory twice over and more time than rendering a frame.
    pub fn new(width: u32, height: u32, seed: u64) -> DemoDesktop {
        let (width, height) = supported_size(width, height);
        // Both fit in i32 after clamping.
        let scene = Scene::new(width as i32, height as i32, seed);
        DemoDesktop {
            width,
            height,
            seed,
            scene,
            frame: Frame::blank(width, height),
            next_index: 0,
        }
    }

    /// Frame width in pixels (after clamping).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Frame height in pixels (after clamping).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The seed this desktop was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Renders frame number `index` into `into`, overwriting every pixel.
    ///
    /// If `into` does not have the desktop's size it is replaced by a frame that does.
    pub fn render(&self, index: u64, into: &mut Frame) {
        if into.width() != self.width || into.height() != self.height {
            *into = Frame::blank(self.width, self.height);
        }
        self.scene.render(index, into.pixels_mut());
    }

    /// Renders frame number `index` into a new frame.
    pub fn frame(&self, index: u64) -> Frame {
        let mut frame = Frame::blank(self.width, self.height);
        self.render(index, &mut frame);
        frame
    }

    /// The index the next [`capture`](ScreenSource::capture) renders: the number of
    /// captures so far.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }
}

/// `width` x `height` clamped to the supported range.
fn supported_size(width: u32, height: u32) -> (u32, u32) {
    (
        width.clamp(MIN_WIDTH, MAX_WIDTH),
        height.clamp(MIN_HEIGHT, MAX_HEIGHT),
    )
}

impl ScreenSource for DemoDesktop {
    fn describe(&self) -> String {
        format!("demo desktop {}x{}", self.width, self.height)
    }

    /// Renders frame [`next_index`](DemoDesktop::next_index) and advances it by one; never
    /// fails.
    fn capture(&mut self) -> Result<&Frame, CaptureError> {
        self.scene.render(self.next_index, self.frame.pixels_mut());
        self.next_index += 1;
        Ok(&self.frame)
    }
}

impl fmt::Debug for DemoDesktop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoDesktop")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("seed", &self.seed)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FRAMES_PER_SECOND;

    /// The taskbar rows of frame `index`.
    fn taskbar(desktop: &DemoDesktop, index: u64) -> Vec<u8> {
        let frame = desktop.frame(index);
        let row_len = desktop.width as usize * 4;
        let top = desktop.scene.layout().taskbar.y as usize;
        frame.pixels()[top * row_len..].to_vec()
    }

    #[test]
    fn taskbar_changes_exactly_when_the_clock_ticks() {
        for (width, height) in [(64, 48), (320, 200), (1920, 1080)] {
            let desktop = DemoDesktop::new(width, height, 17);
            let mut previous = taskbar(&desktop, 0);
            for index in 1..=3 * FRAMES_PER_SECOND {
                let current = taskbar(&desktop, index);
                let ticked = index % FRAMES_PER_SECOND == 0;
                assert_eq!(
                    current != previous,
                    ticked,
                    "{width}x{height} frame {index}"
                );
                previous = current;
            }
        }
    }

    #[test]
    fn sizes_are_clamped_to_the_supported_range() {
        assert_eq!(supported_size(0, 0), (MIN_WIDTH, MIN_HEIGHT));
        assert_eq!(supported_size(u32::MAX, u32::MAX), (MAX_WIDTH, MAX_HEIGHT));
        assert_eq!(supported_size(1280, 720), (1280, 720));
    }

    #[test]
    fn debug_shows_the_parameters() {
        let text = format!("{:?}", DemoDesktop::new(100, 100, 3));
        assert_eq!(
            text,
            "DemoDesktop { width: 100, height: 100, seed: 3, next_index: 0, .. }"
        );
    }
}
