//! The [`ScreenSource`] abstraction, what a capture reports besides its frame, and the error type.

use std::time::Duration;

use tether_codec::{Frame, Rect};

/// A source of screen frames. Implementations: the demo desktop here; the X11 and portable
/// capture backends in `tether-capture`.
///
/// The frame returned by [`capture`](ScreenSource::capture) is owned by the source and
/// reused by the next call, so callers that need to keep it must copy it. Its size may
/// change between captures (a real display can be resized); callers must not assume it
/// stays the same.
///
/// Only [`describe`](ScreenSource::describe) and [`capture`](ScreenSource::capture) are
/// required. The other methods have defaults for sources that know nothing more: damage
/// unknown, always possibly changed, no separate cursor.
pub trait ScreenSource: Send {
    /// Short human-readable name for logs and the viewer's title (e.g. "demo desktop 1280x720").
    fn describe(&self) -> String;

    /// Captures the current screen into a frame owned by the source and returns it.
    fn capture(&mut self) -> Result<&Frame, CaptureError>;

    /// Captures like [`capture`](ScreenSource::capture) and also says what changed since the
    /// previous successful capture.
    ///
    /// The default reports [`Damage::Unknown`]; sources that track changes override it.
    fn capture_with_damage(&mut self) -> Result<Captured<'_>, CaptureError> {
        Ok(Captured {
            frame: self.capture()?,
            damage: Damage::Unknown,
        })
    }

    /// Blocks until the screen has likely changed since the last capture, or `timeout` has
    /// passed. Returns `true` when a capture is worth making now, `false` on timeout.
    ///
    /// It may return `true` spuriously (nothing visible changed), never `false` while a change
    /// is pending. This lets a caller capture only when something happens instead of polling
    /// an idle screen. The default, for sources that cannot tell, returns `true` at once.
    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, CaptureError> {
        let _ = timeout;
        Ok(true)
    }

    /// The mouse pointer, kept out of the frames so that pointer motion damages nothing and
    /// the viewer can draw the cursor itself.
    ///
    /// Returns `None` when the source does not track the pointer separately (it is then
    /// either absent or drawn into the frames), or the pointer is not on the captured screen.
    /// The default returns `None`.
    fn cursor(&mut self) -> Result<Option<CursorState<'_>>, CaptureError> {
        Ok(None)
    }
}

/// A frame with what changed in it, from [`ScreenSource::capture_with_damage`].
#[derive(Debug)]
pub struct Captured<'a> {
    /// The captured frame (owned by the source, see [`ScreenSource::capture`]).
    pub frame: &'a Frame,
    /// Where it may differ from the previous successful capture's frame.
    pub damage: Damage<'a>,
}

/// Which parts of a frame may differ from the previous capture's frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage<'a> {
    /// The source does not know (first capture, size change, too many changes to list):
    /// any pixel may have changed.
    Unknown,
    /// Pixels outside all of these rectangles are equal to the previous frame's. The
    /// rectangles lie inside the frame and may overlap; an empty list means nothing changed.
    Rects(&'a [Rect]),
}

/// Where the pointer is and, when it changed, what it looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CursorState<'a> {
    /// Column of the pointer's hotspot, relative to the frame's left edge (may be negative
    /// or past the edge when only part of the screen is captured).
    pub x: i32,
    /// Row of the pointer's hotspot, relative to the frame's top edge (same caveat).
    pub y: i32,
    /// The cursor's image when it changed since the previous [`ScreenSource::cursor`] call
    /// (always on the first call), `None` when it is unchanged.
    pub image: Option<&'a CursorImage>,
}

/// A cursor image, drawn with its hotspot at the pointer position.
#[derive(Clone, PartialEq, Eq)]
pub struct CursorImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Column of the hotspot inside the image.
    pub hotspot_x: u32,
    /// Row of the hotspot inside the image.
    pub hotspot_y: u32,
    /// BGRA pixels with premultiplied alpha, rows top to bottom, `width * 4` bytes per row.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for CursorImage {
    /// Prints the geometry only, not the pixels.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("hotspot_x", &self.hotspot_x)
            .field("hotspot_y", &self.hotspot_y)
            .finish_non_exhaustive()
    }
}

/// Why a [`ScreenSource`] could not produce a frame.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The source cannot capture at all: no display, missing permission, or an
    /// unsupported backend. Retrying is pointless; fall back to another source.
    #[error("screen capture unavailable: {0}")]
    Unavailable(String),
    /// One capture attempt failed (for example the display was reconfigured mid-capture);
    /// a later attempt may succeed.
    #[error("screen capture failed: {0}")]
    Failed(String),
}
