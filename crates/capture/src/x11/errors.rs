//! Turning x11rb errors into [`CaptureError`]s.

use tether_screen::CaptureError;
use x11rb::errors::{ConnectionError, ReplyOrIdError};

/// The connection to the server is gone or unusable: this source cannot capture any more.
pub(crate) fn connection_error(error: ConnectionError) -> CaptureError {
    CaptureError::Unavailable(format!("X connection failed: {error}"))
}

/// A request failed: the connection broke (unavailable), or the server refused it (this
/// attempt failed, e.g. the screen shrank under the request).
pub(crate) fn reply_error(error: impl Into<ReplyOrIdError>) -> CaptureError {
    match error.into() {
        ReplyOrIdError::ConnectionError(error) => connection_error(error),
        ReplyOrIdError::X11Error(error) => CaptureError::Failed(format!(
            "the X server refused a request: {:?} (major opcode {}, minor {})",
            error.error_kind, error.major_opcode, error.minor_opcode
        )),
        ReplyOrIdError::IdsExhausted => {
            CaptureError::Unavailable("the X connection ran out of resource ids".to_owned())
        }
    }
}
