//! Writing the remote terminal's output to the local one without a thread hop.
//!
//! tokio's `Stdout` hands every write to its blocking pool and waits for it: about 0.1 ms per
//! echoed keystroke, several times what the write itself costs on a terminal. A terminal
//! absorbs writes at once (short of the user pausing it with Ctrl-S), so the interactive
//! shell writes in place instead. Commands on pipes keep tokio's `Stdout`: a pipe's reader may
//! stall for long, and must not hold a runtime thread meanwhile.

use std::{
    io::Write,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::AsyncWrite;

/// An [`AsyncWrite`] that writes to a standard stream directly, blocking briefly if it must.
pub(super) struct TerminalWriter<W>(pub W);

impl<W: Write + Unpin> AsyncWrite for TerminalWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.0.write(bytes))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(context)
    }
}
