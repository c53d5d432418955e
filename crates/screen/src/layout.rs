//! Geometry of the demo desktop for one frame size: everything that depends on the size
//! but not on the frame index.

use crate::draw::Area;
use crate::text::GLYPH;

/// Where the desktop's parts go for a given frame size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Frame width in pixels.
    pub width: i32,
    /// Frame height in pixels.
    pub height: i32,
    /// Integer scale of text and decorations: 1 below 1920x1080, 2 from there, at most 3.
    pub scale: i32,
    /// The taskbar along the bottom edge.
    pub taskbar: Area,
    /// Everything above the taskbar: wallpaper, icons and the moving window.
    pub desk: Area,
    /// The moving window's geometry.
    pub window: WindowLayout,
}

/// The moving window's geometry; areas are relative to the window's top-left corner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WindowLayout {
    /// Outer width, border included.
    pub w: i32,
    /// Outer height, border included.
    pub h: i32,
    /// Border thickness.
    pub border: i32,
    /// The title bar, inside the border.
    pub title: Area,
    /// The text area below the title bar, inside the border.
    pub content: Area,
    /// Offset of the drop shadow to the right and below.
    pub shadow: i32,
    /// Top-left corner of the first text cell.
    pub text_origin: (i32, i32),
    /// Text cells per line (at least 1; cells past the content area are clipped).
    pub cols: i32,
    /// Visible text lines (at least 1; lines past the content area are clipped).
    pub rows: i32,
    /// Distance between the tops of consecutive text lines.
    pub line_h: i32,
}

impl Layout {
    /// The layout for a `width` x `height` frame (both at least 64x48, see `DemoDesktop::new`).
    pub fn new(width: i32, height: i32) -> Layout {
        let scale = (width / 960).min(height / 540).clamp(1, 3);
        let taskbar_h = 14 * scale;
        let taskbar = Area::new(0, height - taskbar_h, width, taskbar_h);
        let desk = Area::new(0, 0, width, height - taskbar_h);
        Layout {
            width,
            height,
            scale,
            taskbar,
            desk,
            window: WindowLayout::new(desk, scale),
        }
    }
}

impl WindowLayout {
    /// A window covering 5/8 of `desk` in each direction, leaving room for it to move.
    fn new(desk: Area, scale: i32) -> WindowLayout {
        let w = desk.w * 5 / 8;
        let h = desk.h * 5 / 8;
        let border = scale;
        let title = Area::new(border, border, w - 2 * border, 12 * scale);
        let content_y = title.y + title.h;
        let content = Area::new(border, content_y, w - 2 * border, h - border - content_y);
        let pad = 3 * scale;
        let glyph = GLYPH * scale;
        let line_h = 10 * scale;
        WindowLayout {
            w,
            h,
            border,
            title,
            content,
            shadow: 3 * scale,
            text_origin: (content.x + pad, content.y + pad),
            cols: ((content.w - 2 * pad) / glyph).max(1),
            rows: ((content.h - 2 * pad - glyph) / line_h + 1).max(1),
            line_h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_grows_with_the_frame() {
        assert_eq!(Layout::new(64, 48).scale, 1);
        assert_eq!(Layout::new(1280, 720).scale, 1);
        assert_eq!(Layout::new(1920, 1080).scale, 2);
        assert_eq!(Layout::new(3840, 2160).scale, 3);
        assert_eq!(Layout::new(3840, 100).scale, 1);
    }

    #[test]
    fn window_leaves_room_to_move_and_text_fits() {
        for (w, h) in [
            (64, 48),
            (320, 200),
            (1280, 720),
            (1920, 1080),
            (3840, 2160),
        ] {
            let layout = Layout::new(w, h);
            let win = &layout.window;
            assert!(win.w + win.shadow < layout.desk.w, "{w}x{h}");
            assert!(win.h + win.shadow < layout.desk.h, "{w}x{h}");
            assert!(win.cols >= 1 && win.rows >= 1, "{w}x{h}");
            if w >= 320 {
                let right = win.text_origin.0 + win.cols * GLYPH * layout.scale;
                let bottom = win.text_origin.1 + (win.rows - 1) * win.line_h + GLYPH * layout.scale;
                assert!(right <= win.content.x + win.content.w, "{w}x{h}");
                assert!(bottom <= win.content.y + win.content.h, "{w}x{h}");
            }
        }
    }
}
