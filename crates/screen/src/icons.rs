//! Desktop icons (home, files, trash) with labels, drawn once into the static background.

use crate::draw::{Area, Canvas};
use crate::layout::Layout;
use crate::text::{draw_text, text_width};
use crate::theme::{ICONS, ICON_EDGE, LIGHT_TEXT, TEXT_SHADOW};

/// Icon labels, top to bottom; shapes follow the same order.
const LABELS: [&str; 3] = ["Home", "Files", "Trash"];

/// Draws the icon column along the desk's left edge, clipped to the desk.
pub(crate) fn paint(canvas: &mut Canvas, layout: &Layout) {
    let s = layout.scale;
    let mut canvas = canvas.clipped(layout.desk);
    let size = 24 * s;
    let x = 12 * s;
    for (i, (label, color)) in (0..).zip(LABELS.into_iter().zip(ICONS)) {
        let y = 12 * s + i * 48 * s;
        let body = match i {
            // A house: a roof widening row by row above the body.
            0 => {
                let roof = size / 2;
                for row in 0..roof {
                    let inset = roof - row;
                    canvas.fill(Area::new(x + inset, y + row, size - 2 * inset, 1), color);
                }
                Area::new(x + 3 * s, y + roof, size - 6 * s, size - roof)
            }
            // A folder: a tab above a wide body.
            1 => {
                canvas.fill(Area::new(x, y + 2 * s, size / 2, 4 * s), ICON_EDGE);
                Area::new(x, y + 5 * s, size, size - 5 * s)
            }
            // A bin: a lid above a narrower body.
            _ => {
                canvas.fill(Area::new(x + 2 * s, y, size - 4 * s, 3 * s), ICON_EDGE);
                Area::new(x + 4 * s, y + 4 * s, size - 8 * s, size - 4 * s)
            }
        };
        canvas.fill(body, color);
        canvas.outline(body, s, ICON_EDGE);
        let label_x = x + size / 2 - text_width(label, s) / 2;
        let label_y = y + size + 3 * s;
        draw_text(&mut canvas, label_x + s, label_y + s, label, s, TEXT_SHADOW);
        draw_text(&mut canvas, label_x, label_y, label, s, LIGHT_TEXT);
    }
}
