//! The [`ScreenSource`] abstraction and its error type.

use tether_codec::Frame;

/// A source of screen frames. Implementations: the demo desktop here; real capture backends later.
///
/// The frame returned by [`capture`](ScreenSource::capture) is owned by the source and
/// reused by the next call, so callers that need to keep it must copy it. Its size may
/// change between captures (a real display can be resized); callers must not assume it
/// stays the same.
pub trait ScreenSource: Send {
    /// Short human-readable name for logs and the viewer's title (e.g. "demo desktop 1280x720").
    fn describe(&self) -> String;

    /// Captures the current screen into a frame owned by the source and returns it.
    fn capture(&mut self) -> Result<&Frame, CaptureError>;
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
