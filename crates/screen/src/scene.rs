//! Everything needed to render any frame of the demo desktop, and the renderer itself.

use crate::clock::Clock;
use crate::draw::Canvas;
use crate::layout::Layout;
use crate::motion::Motion;
use crate::typing::Typing;
use crate::{icons, taskbar, wallpaper, window};

/// The per-desktop precomputed state: layout, static background, and the animations.
pub(crate) struct Scene {
    layout: Layout,
    /// Wallpaper, icons and the clock-less taskbar: the starting point of every frame.
    background: Vec<u8>,
    motion: Motion,
    clock: Clock,
    typing: Typing,
}

impl Scene {
    /// Precomputes the scene for a `width` x `height` frame (at least 64x48) and `seed`.
    pub fn new(width: i32, height: i32, seed: u64) -> Scene {
        let layout = Layout::new(width, height);
        let mut background = vec![0; width as usize * height as usize * 4];
        wallpaper::paint(&mut background, &layout, seed);
        let mut canvas = Canvas::new(&mut background, width, height);
        icons::paint(&mut canvas, &layout);
        taskbar::paint_base(&mut canvas, &layout);
        Scene {
            motion: Motion::new(&layout, seed),
            clock: Clock::new(seed),
            typing: Typing::new(layout.window.cols),
            background,
            layout,
        }
    }

    /// The geometry the scene was built for.
    #[cfg(test)]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Renders frame `index` into `pixels`, a BGRA8 buffer of exactly the scene's size.
    pub fn render(&self, index: u64, pixels: &mut [u8]) {
        pixels.copy_from_slice(&self.background);
        let layout = &self.layout;
        let mut canvas = Canvas::new(pixels, layout.width, layout.height);
        taskbar::paint_clock(&mut canvas, layout, &self.clock.text(index));
        let position = self.motion.position(index);
        window::paint(&mut canvas, layout, position, &self.typing, index);
    }
}
