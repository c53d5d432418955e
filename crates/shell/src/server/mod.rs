//! The agent's side of a remote shell.
//!
//! [`serve_shell`] runs one shell for one stream: on a pseudo-terminal when the viewer asked for
//! one (module `pty`), else on pipes (`pipes`). Both relay the conversation with at most one chunk
//! of output and one of input in flight, so a viewer that stops reading stalls the program
//! (its writes block) rather than growing the agent's memory. When the viewer's stream ends or
//! fails first, the program's whole process group is hung up, then killed after a grace period.

mod launch;
mod pipes;
mod process;
mod pty;
mod requests;

use tether_proto::shell::{ExitStatus, ShellOpen, ShellRequest, ShellResponse};
use tracing::{debug, info};

use crate::{MessageIn, MessageOut, ShellError};
use launch::Launch;

/// How the agent starts shells.
#[derive(Debug, Clone, Default)]
pub struct ShellConfig {
    /// The login shell's command line; `None` runs the account's shell (`$SHELL`, else the
    /// password database, else `/bin/sh`) as a login shell. Only used when the viewer names no
    /// command.
    pub shell: Option<Vec<String>>,
    /// Runs shells and commands as this account rather than the agent's own; the agent must
    /// then run as root. The switch is made by util-linux's `setpriv` (its uid, gid and
    /// supplementary groups, and a fresh login environment) which then executes the program
    /// itself, so the program keeps the process group and terminal the agent gave it. No PAM
    /// session is opened for it (unlike `runuser`, which would also insert a supervising
    /// process and, for commands, a new session without the terminal).
    pub user: Option<String>,
}

/// Reads the stream's first message, which must be [`ShellRequest::Open`].
pub async fn receive_open(
    input: &mut impl MessageIn<ShellRequest>,
) -> Result<ShellOpen, ShellError> {
    match input.recv().await? {
        Some(ShellRequest::Open(open)) => Ok(open),
        Some(other) => Err(ShellError::Protocol(format!(
            "a shell stream must start with Open, not {other:?}"
        ))),
        None => Err(ShellError::Closed),
    }
}

/// Runs the program `open` asks for and relays it over the stream until it exits.
///
/// Answers [`ShellResponse::Refused`] (and returns [`ShellError::Refused`]) when the request
/// breaks the protocol's bounds or the program cannot start; else [`ShellResponse::Started`],
/// the output, and finally [`ShellResponse::Exited`], after which it closes `out` and returns
/// the status: its close waits up to [`tether_transport::CLOSE_LINGER`] for the peer to read the
/// stream to the end, so a caller that learns of the peer's hang-up another way gives it
/// [`tether_transport::Trailing::ShellExit`] before calling the shell cut off. If the viewer's
/// stream ends or fails before the program exits, the program is killed, and the stream's
/// error (or [`ShellError::Closed`]) is returned.
pub async fn serve_shell(
    open: ShellOpen,
    config: &ShellConfig,
    out: &mut impl MessageOut<ShellResponse>,
    input: &mut impl MessageIn<ShellRequest>,
) -> Result<ExitStatus, ShellError> {
    if let Err(error) = open.check() {
        return refuse(out, error.to_string()).await;
    }
    let launch = match Launch::resolve(open.command, config) {
        Ok(launch) => launch,
        Err(reason) => return refuse(out, reason).await,
    };
    let status = match open.terminal {
        Some(terminal) => match pty::PtyShell::spawn(&launch, &terminal) {
            Ok(shell) => {
                info!(program = %launch, term = %terminal.term, "shell started on a terminal");
                out.send(&ShellResponse::Started).await?;
                shell.run(out, input).await?
            }
            Err(reason) => return refuse(out, reason).await,
        },
        None => match pipes::PipeShell::spawn(&launch) {
            Ok(shell) => {
                info!(program = %launch, "command started on pipes");
                out.send(&ShellResponse::Started).await?;
                shell.run(out, input).await?
            }
            Err(reason) => return refuse(out, reason).await,
        },
    };
    info!(code = status.code, signal = ?status.signal, "shell exited");
    out.send(&ShellResponse::Exited(status.clone())).await?;
    if let Err(error) = out.close().await {
        debug!(%error, "closing the shell stream after the exit status");
    }
    Ok(status)
}

async fn refuse<T>(
    out: &mut impl MessageOut<ShellResponse>,
    reason: String,
) -> Result<T, ShellError> {
    info!(%reason, "shell refused");
    out.send(&ShellResponse::Refused {
        reason: reason.clone(),
    })
    .await?;
    if let Err(error) = out.close().await {
        debug!(%error, "closing the shell stream after refusing");
    }
    Err(ShellError::Refused { reason })
}
