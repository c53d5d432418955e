//! The taskbar: a static base (start button, the window's task button) drawn once into
//! the background, and the clock drawn on top of it every frame.

use crate::draw::{Area, Canvas};
use crate::layout::Layout;
use crate::text::{draw_text, text_width};
use crate::theme::{BUTTON, BUTTON_ACTIVE, LIGHT_TEXT, TASKBAR, TASKBAR_EDGE};

/// Buttons on the taskbar, left to right, with whether each is the active one.
const BUTTONS: [(&str, bool); 2] = [("Tether", false), ("Notes", true)];

/// Draws the taskbar without its clock.
pub(crate) fn paint_base(canvas: &mut Canvas, layout: &Layout) {
    let s = layout.scale;
    let bar = layout.taskbar;
    canvas.fill(bar, TASKBAR);
    canvas.fill(Area::new(bar.x, bar.y, bar.w, s), TASKBAR_EDGE);
    let mut x = bar.x + 2 * s;
    for (label, active) in BUTTONS {
        let width = text_width(label, s) + 8 * s;
        let color = if active { BUTTON_ACTIVE } else { BUTTON };
        canvas.fill(Area::new(x, bar.y + 2 * s, width, 10 * s), color);
        draw_text(canvas, x + 4 * s, bar.y + 3 * s, label, s, LIGHT_TEXT);
        x += width + 4 * s;
    }
}

/// Draws the clock `text` right-aligned on the taskbar.
pub(crate) fn paint_clock(canvas: &mut Canvas, layout: &Layout, text: &str) {
    let s = layout.scale;
    let bar = layout.taskbar;
    let x = bar.x + bar.w - 4 * s - text_width(text, s);
    draw_text(canvas, x, bar.y + 3 * s, text, s, LIGHT_TEXT);
}
