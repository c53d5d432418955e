//! The agent's side of the conversation as the viewer sees it: output to write locally, then
//! the exit status.

use std::{
    io::{self, Write},
    pin::Pin,
    task::{Context, Poll},
};

use tether_proto::shell::{ExitStatus, ShellResponse};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{MessageIn, ShellError};

/// Writes the remote output (flushed after each chunk, byte for byte) until the exit status.
pub(super) async fn relay_responses(
    input: &mut impl MessageIn<ShellResponse>,
    stdout: &mut (impl AsyncWrite + Unpin),
    stderr: &mut (impl AsyncWrite + Unpin),
) -> Result<ExitStatus, ShellError> {
    loop {
        match input.recv().await? {
            Some(ShellResponse::Started) => {}
            Some(ShellResponse::Refused { reason }) => return Err(ShellError::Refused { reason }),
            Some(ShellResponse::Stdout(bytes)) => write(stdout, &bytes).await?,
            Some(ShellResponse::Stderr(bytes)) => write(stderr, &bytes).await?,
            Some(ShellResponse::Exited(status)) => return Ok(status),
            None => return Err(ShellError::Closed),
        }
    }
}

/// A terminal written in place, from the task that has the bytes: each write completes at once
/// unless the terminal is not keeping up, and then waiting is right.
pub(super) struct InPlace<W>(pub W);

impl<W: Write + Unpin> AsyncWrite for InPlace<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.0.write(buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

async fn write(to: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> Result<(), ShellError> {
    to.write_all(bytes).await.map_err(ShellError::Output)?;
    to.flush().await.map_err(ShellError::Output)
}
