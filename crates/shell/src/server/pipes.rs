//! A command on pipes, as `ssh host cmd` runs it: standard output and error kept apart, standard
//! input closed when the viewer says so.

use std::{pin::pin, process::Stdio};

use tether_proto::shell::{ExitStatus, ShellRequest, ShellResponse, MAX_SHELL_CHUNK};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    process::{ChildStderr, ChildStdin, ChildStdout},
};
use tracing::debug;

use super::{
    launch::Launch,
    process::PipeChild,
    requests::{next_action, Action},
};
use crate::{status::wire_status, MessageIn, MessageOut, ShellError};

/// A started command and its three pipes.
pub(super) struct PipeShell {
    child: PipeChild,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

impl PipeShell {
    /// Starts the command; the error is a reason for the viewer.
    pub(super) fn spawn(launch: &Launch) -> Result<Self, String> {
        let mut command = launch.pipe_command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A session of its own: no controlling terminal of the agent's for it to read from or
        // signal, and one process group that takes its children along when it is killed.
        // SAFETY: setsid is async-signal-safe and touches no memory shared with the parent.
        unsafe {
            command.pre_exec(|| Ok(nix::unistd::setsid().map(drop)?));
        }
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {launch}: {error}"))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(format!("cannot start {launch}: its pipes are missing"));
        };
        Ok(Self {
            child: PipeChild(child),
            stdin,
            stdout,
            stderr,
        })
    }

    /// Relays the command until it exits (see [`super::serve_shell`]).
    pub(super) async fn run(
        self,
        out: &mut impl MessageOut<ShellResponse>,
        input: &mut impl MessageIn<ShellRequest>,
    ) -> Result<ExitStatus, ShellError> {
        let Self {
            mut child,
            stdin,
            stdout,
            stderr,
        } = self;
        let gone = {
            let mut output = pin!(relay_output(&mut child, stdout, stderr, out));
            let mut requests = pin!(apply_requests(stdin, input));
            tokio::select! {
                result = &mut output => match result {
                    Ok(status) => return Ok(status),
                    Err(error) => error,
                },
                gone = &mut requests => gone,
            }
        };
        debug!(error = %gone, "viewer gone; hanging up the command");
        let status = child.hang_up().await;
        debug!(?status, "command ended after the hangup");
        Err(gone)
    }
}

/// Forwards standard output and error until both end and the command has been reaped, one
/// chunk at a time: while a chunk waits for the viewer, the pipes fill and the command blocks.
async fn relay_output(
    child: &mut PipeChild,
    mut stdout: ChildStdout,
    mut stderr: ChildStderr,
    out: &mut impl MessageOut<ShellResponse>,
) -> Result<ExitStatus, ShellError> {
    let mut stdout_buf = vec![0; MAX_SHELL_CHUNK];
    let mut stderr_buf = vec![0; MAX_SHELL_CHUNK];
    let (mut stdout_open, mut stderr_open, mut status) = (true, true, None);
    loop {
        if let (false, false, Some(status)) = (stdout_open, stderr_open, status) {
            return Ok(wire_status(status));
        }
        tokio::select! {
            read = stdout.read(&mut stdout_buf), if stdout_open => match read {
                Ok(0) => stdout_open = false,
                Ok(n) => out.send(&ShellResponse::Stdout(stdout_buf[..n].to_vec())).await?,
                Err(error) => {
                    debug!(%error, "reading the command's output");
                    stdout_open = false;
                }
            },
            read = stderr.read(&mut stderr_buf), if stderr_open => match read {
                Ok(0) => stderr_open = false,
                Ok(n) => out.send(&ShellResponse::Stderr(stderr_buf[..n].to_vec())).await?,
                Err(error) => {
                    debug!(%error, "reading the command's error output");
                    stderr_open = false;
                }
            },
            waited = child.0.wait(), if status.is_none() => {
                status = Some(waited.map_err(ShellError::Process)?);
            }
        }
    }
}

/// Applies the viewer's requests until its stream ends; returns why it ended.
async fn apply_requests(stdin: ChildStdin, input: &mut impl MessageIn<ShellRequest>) -> ShellError {
    let mut stdin = Some(stdin);
    loop {
        match next_action(input).await {
            Err(gone) => return gone,
            Ok(Action::Write(bytes)) => {
                if let Some(pipe) = &mut stdin {
                    if let Err(error) = pipe.write_all(&bytes).await {
                        // The command closed its input or exited: later input has nowhere to go.
                        debug!(%error, "writing the command's input");
                        stdin = None;
                    }
                }
            }
            // Dropping the pipe is what makes the command read the end of its input.
            Ok(Action::CloseInput) => stdin = None,
            Ok(Action::Resize(_)) => {}
        }
    }
}
