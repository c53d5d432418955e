//! One command on pipes, like `ssh host cmd`, or the login shell reading its commands from
//! standard input, like `ssh host < script`: no terminal needed locally.

use std::{
    io::{self, IsTerminal, Read},
    pin::pin,
};

use tether_proto::shell::{ExitStatus, ShellOpen, ShellRequest, ShellResponse};
use tokio::{io::AsyncWrite, sync::mpsc};
use tracing::{debug, warn};

use super::{local_input::read_in_background, output::relay_responses};
use crate::{MessageIn, MessageOut, ShellError};

/// Runs `command` on the agent with this process's standard streams (`None`: the account's
/// login shell, which reads its commands from standard input); returns its exit status.
///
/// Standard input is forwarded until its end, unless it is a terminal: then the command gets
/// no input at all (its input is closed at once), so that what someone types into the
/// viewer's terminal afterwards is not swallowed by the remote command. Use
/// [`run_interactive`](super::run_interactive) for programs that want a person at a terminal.
pub async fn run_command(
    command: Option<Vec<String>>,
    out: &mut impl MessageOut<ShellRequest>,
    input: &mut impl MessageIn<ShellResponse>,
) -> Result<ExitStatus, ShellError> {
    let stdin = io::stdin();
    let local_input: Box<dyn Read + Send> = if stdin.is_terminal() {
        Box::new(io::empty())
    } else {
        Box::new(stdin)
    };
    run_command_with(
        command,
        out,
        input,
        local_input,
        tokio::io::stdout(),
        tokio::io::stderr(),
    )
    .await
}

/// Runs `command` on the agent (`None`: the login shell) with the given local streams: `stdin`
/// is read on a thread of its own and forwarded until its end; the command's output goes to
/// `stdout` and `stderr`, byte for byte, flushed after each chunk.
pub async fn run_command_with(
    command: Option<Vec<String>>,
    out: &mut impl MessageOut<ShellRequest>,
    input: &mut impl MessageIn<ShellResponse>,
    stdin: impl Read + Send + 'static,
    mut stdout: impl AsyncWrite + Unpin,
    mut stderr: impl AsyncWrite + Unpin,
) -> Result<ExitStatus, ShellError> {
    let open = ShellOpen {
        command,
        terminal: None,
    };
    open.check().map_err(ShellError::InvalidRequest)?;
    let chunks = read_in_background(stdin).map_err(ShellError::Input)?;
    out.send(&ShellRequest::Open(open)).await?;
    let mut upload = pin!(upload(out, chunks));
    let mut download = pin!(relay_responses(input, &mut stdout, &mut stderr));
    let mut uploading = true;
    loop {
        tokio::select! {
            sent = &mut upload, if uploading => {
                uploading = false;
                if let Err(error) = sent {
                    // The agent may just have finished without reading it all; the responses
                    // tell whether the stream failed.
                    debug!(%error, "sending input stopped");
                }
            }
            status = &mut download => return status,
        }
    }
}

/// Sends the local input, then its end.
async fn upload(
    out: &mut impl MessageOut<ShellRequest>,
    mut chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
) -> Result<(), ShellError> {
    while let Some(chunk) = chunks.recv().await {
        match chunk {
            Ok(bytes) => out.send(&ShellRequest::Input(bytes)).await?,
            Err(error) => {
                warn!(%error, "reading standard input failed; the remote command sees its end");
                break;
            }
        }
    }
    out.send(&ShellRequest::CloseInput).await
}
