//! The remote pointer, drawn by the viewer over the picture (the agent keeps it out of the
//! frames so that moving it costs no frame update).

use std::sync::Arc;

use tether_proto::session::{CursorShape, CursorUpdate};

use crate::view::View;

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

/// Where the cursor's image goes: the window position of its top-left corner, drawn unscaled
/// with its hotspot where `view` shows the remote position; `None` when hidden or shapeless.
pub fn cursor_placement<'a>(
    cursor: &'a RemoteCursor,
    view: &View,
) -> Option<(i64, i64, &'a Arc<CursorShape>)> {
    let (Some(shape), true) = (cursor.shape.as_ref(), cursor.visible) else {
        return None;
    };
    let (x, y) = view.to_window(cursor.x, cursor.y);
    Some((
        x - i64::from(shape.hotspot_x),
        y - i64::from(shape.hotspot_y),
        shape,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{Area, ViewMode};

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

    #[test]
    fn the_hotspot_lands_where_the_view_shows_the_remote_position() {
        let area = Area {
            x: 0,
            y: 20,
            width: 10,
            height: 10,
        };
        let view = View::new(ViewMode::Fit, (10, 10), area, (0, 0));
        let white = [255u8, 255, 255, 255].repeat(4);
        let shown = cursor(5, 5, white, 2);
        let (x, y, shape) = cursor_placement(&shown, &view).expect("visible");
        assert_eq!((x, y, shape.width), (4, 24, 2));
        let hidden = RemoteCursor {
            visible: false,
            ..shown
        };
        assert!(cursor_placement(&hidden, &view).is_none());
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
