//! The remote pointer, drawn by the viewer over the picture (the agent keeps it out of the
//! frames so that moving it costs no frame update).

use std::sync::Arc;

use tether_proto::session::{CursorShape, CursorUpdate};

use crate::view::{Area, View};

/// The remote pointer as last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteCursor {
    /// Hotspot column in remote screen pixels.
    pub x: i32,
    /// Hotspot row in remote screen pixels.
    pub y: i32,
    /// Whether it is on the shared screen.
    pub visible: bool,
    /// Its image, once one was received.
    pub shape: Option<Arc<CursorShape>>,
}

impl RemoteCursor {
    /// Applies an update from the agent; a malformed image is an error.
    pub fn apply(&mut self, update: CursorUpdate) -> Result<(), tether_proto::ProtoError> {
        if let Some(shape) = update.shape {
            shape.check()?;
            self.shape = Some(Arc::new(shape));
        }
        self.x = update.x;
        self.y = update.y;
        self.visible = update.visible;
        Ok(())
    }
}

/// Where [`draw_cursor`] draws: the window area the cursor's image covers, if visible.
pub fn cursor_area(cursor: &RemoteCursor, view: &View) -> Option<Area> {
    let (left, top, shape) = cursor_origin(cursor, view)?;
    Some(view.clip(
        left,
        top,
        left + i64::from(shape.width),
        top + i64::from(shape.height),
    ))
}

/// The window position of the cursor image's top-left corner, and the image.
fn cursor_origin<'a>(cursor: &'a RemoteCursor, view: &View) -> Option<(i64, i64, &'a CursorShape)> {
    let (Some(shape), true) = (cursor.shape.as_deref(), cursor.visible) else {
        return None;
    };
    let (x, y) = view.to_window(cursor.x, cursor.y);
    Some((
        x - i64::from(shape.hotspot_x),
        y - i64::from(shape.hotspot_y),
        shape,
    ))
}

/// Blends the cursor's image, unscaled, onto a 0RGB `surface` (`window_w` wide) with its
/// hotspot where `view` shows the remote position.
pub fn draw_cursor(cursor: &RemoteCursor, surface: &mut [u32], window_w: u32, view: &View) {
    if window_w == 0 {
        return;
    }
    let Some((left, top, shape)) = cursor_origin(cursor, view) else {
        return;
    };
    let window_h = (surface.len() / window_w as usize) as i64;
    for row in 0..i64::from(shape.height) {
        let y = top + row;
        if !(0..window_h).contains(&y) {
            continue;
        }
        for column in 0..i64::from(shape.width) {
            let x = left + column;
            if !(0..i64::from(window_w)).contains(&x) {
                continue;
            }
            let at = ((row * i64::from(shape.width) + column) * 4) as usize;
            let Some(&[b, g, r, a]) = shape.pixels.get(at..at + 4) else {
                return;
            };
            let dst = &mut surface[(y * i64::from(window_w) + x) as usize];
            *dst = blend_premultiplied(*dst, [b, g, r], a);
        }
    }
}

/// `src` (premultiplied by `alpha`) over the 0RGB pixel `dst`.
fn blend_premultiplied(dst: u32, src: [u8; 3], alpha: u8) -> u32 {
    let [db, dg, dr, _] = dst.to_le_bytes();
    let keep = 255 - u32::from(alpha);
    let mix =
        |s: u8, d: u8| -> u8 { (u32::from(s) + (u32::from(d) * keep + 127) / 255).min(255) as u8 };
    u32::from_le_bytes([mix(src[0], db), mix(src[1], dg), mix(src[2], dr), 0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::ViewMode;

    fn cursor(x: i32, y: i32, pixels: Vec<u8>, side: u16) -> RemoteCursor {
        RemoteCursor {
            x,
            y,
            visible: true,
            shape: Some(Arc::new(CursorShape {
                width: side,
                height: side,
                hotspot_x: 1,
                hotspot_y: 1,
                pixels,
            })),
        }
    }

    fn one_to_one(width: u32, height: u32) -> View {
        View::new(ViewMode::Fit, (width, height), (width, height), (0, 0))
    }

    #[test]
    fn an_opaque_cursor_replaces_pixels_with_its_hotspot_on_the_position() {
        let white = [255u8, 255, 255, 255].repeat(4);
        let mut surface = vec![0u32; 10 * 10];
        draw_cursor(
            &cursor(5, 5, white, 2),
            &mut surface,
            10,
            &one_to_one(10, 10),
        );
        let lit: Vec<usize> = (0..100).filter(|&i| surface[i] != 0).collect();
        assert_eq!(lit, vec![44, 45, 54, 55]);
        assert_eq!(surface[44], 0x00ff_ffff);
    }

    #[test]
    fn transparent_pixels_keep_the_picture_and_edges_clip() {
        let clear = [0u8, 0, 0, 0].repeat(4);
        let mut surface = vec![0x0012_3456u32; 4 * 4];
        draw_cursor(&cursor(0, 0, clear, 2), &mut surface, 4, &one_to_one(4, 4));
        assert!(surface.iter().all(|&p| p == 0x0012_3456));
    }

    #[test]
    fn a_malformed_shape_is_refused() {
        let mut remote = RemoteCursor::default();
        let update = CursorUpdate {
            x: 0,
            y: 0,
            visible: true,
            shape: Some(CursorShape {
                width: 2,
                height: 2,
                hotspot_x: 0,
                hotspot_y: 0,
                pixels: vec![0; 3],
            }),
        };
        assert!(remote.apply(update).is_err());
        assert_eq!(remote, RemoteCursor::default());
    }
}
