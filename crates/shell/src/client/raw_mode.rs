//! The local terminal in raw mode for the length of a session.

use tracing::warn;

use crate::ShellError;

/// Keeps the local terminal in raw mode (keystrokes, Ctrl-C included, go to the remote
/// program as bytes; no local echo) until dropped, which restores it: on return, on error, and
/// while unwinding from a panic.
pub(super) struct RawMode(());

impl RawMode {
    /// Switches the terminal to raw mode.
    pub(super) fn enable() -> Result<Self, ShellError> {
        crossterm::terminal::enable_raw_mode().map_err(ShellError::Terminal)?;
        Ok(Self(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Err(error) = crossterm::terminal::disable_raw_mode() {
            warn!(%error, "restoring the terminal");
        }
    }
}
