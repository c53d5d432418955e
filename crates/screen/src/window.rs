//! The moving "Notes" window: frame, title bar, drop shadow, and the text being typed.

use crate::draw::{Area, Canvas};
use crate::layout::Layout;
use crate::text::{draw_char, draw_text, GLYPH};
use crate::theme::{CLOSE_BUTTON, INK, LIGHT_TEXT, PAPER, TITLE_BAR, TITLE_BUTTON, WINDOW_BORDER};
use crate::typing::Typing;

/// The window's title.
const TITLE: &str = "Notes - Tether";

/// Draws the window with its top-left corner at `at`, showing the text typed by frame `index`.
pub(crate) fn paint(
    canvas: &mut Canvas,
    layout: &Layout,
    at: (i32, i32),
    typing: &Typing,
    index: u64,
) {
    let win = &layout.window;
    let (x, y) = at;
    let sh = win.shadow;
    canvas.darken(Area::new(x + win.w, y + sh, sh, win.h));
    canvas.darken(Area::new(x + sh, y + win.h, win.w - sh, sh));
    canvas.outline(Area::new(x, y, win.w, win.h), win.border, WINDOW_BORDER);
    paint_title_bar(canvas, layout, win.title.offset(x, y));
    let content = win.content.offset(x, y);
    canvas.fill(content, PAPER);
    paint_text(&mut canvas.clipped(content), layout, at, typing, index);
}

/// Draws the title bar occupying `bar`: title on the left, three buttons on the right.
fn paint_title_bar(canvas: &mut Canvas, layout: &Layout, bar: Area) {
    let s = layout.scale;
    let mut canvas = canvas.clipped(bar);
    canvas.fill(bar, TITLE_BAR);
    draw_text(
        &mut canvas,
        bar.x + 4 * s,
        bar.y + 2 * s,
        TITLE,
        s,
        LIGHT_TEXT,
    );
    let size = GLYPH * s;
    let close = Area::new(bar.x + bar.w - 2 * s - size, bar.y + 2 * s, size, size);
    let maximise = close.offset(-10 * s, 0);
    let minimise = maximise.offset(-10 * s, 0);
    canvas.fill(minimise, TITLE_BUTTON);
    canvas.fill(
        Area::new(minimise.x + 2 * s, minimise.y + 5 * s, 4 * s, s),
        LIGHT_TEXT,
    );
    canvas.fill(maximise, TITLE_BUTTON);
    canvas.outline(
        Area::new(maximise.x + 2 * s, maximise.y + 2 * s, 4 * s, 4 * s),
        s,
        LIGHT_TEXT,
    );
    canvas.fill(close, CLOSE_BUTTON);
    draw_char(&mut canvas, close.x, close.y, 'x', s, LIGHT_TEXT);
}

/// Draws the typed text and the blinking cursor, scrolled so the cursor's line is visible.
fn paint_text(canvas: &mut Canvas, layout: &Layout, at: (i32, i32), typing: &Typing, index: u64) {
    let win = &layout.window;
    let s = layout.scale;
    let glyph = GLYPH * s;
    let (chars, cursor) = typing.state(index);
    let first_line = (cursor.line - win.rows + 1).max(0);
    let origin = (at.0 + win.text_origin.0, at.1 + win.text_origin.1);
    let cell_at = |line: i32, col: i32| {
        (
            origin.0 + col * glyph,
            origin.1 + (line - first_line) * win.line_h,
        )
    };
    for (c, cell) in chars {
        if cell.line >= first_line && !c.is_ascii_whitespace() {
            let (cx, cy) = cell_at(cell.line, cell.col);
            draw_char(canvas, cx, cy, c, s, INK);
        }
    }
    if Typing::cursor_visible(index) {
        let (cx, cy) = cell_at(cursor.line, cursor.col);
        canvas.fill(Area::new(cx, cy, glyph, glyph), INK);
    }
}
