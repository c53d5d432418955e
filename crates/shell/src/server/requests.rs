//! The viewer's requests once the program runs, checked and reduced to what the agent does.

use tether_proto::shell::{ShellRequest, TerminalSize, MAX_SHELL_CHUNK};
use tracing::warn;

use crate::{MessageIn, ShellError};

/// What a request asks of the running program.
pub(super) enum Action {
    /// Bytes for its terminal or standard input.
    Write(Vec<u8>),
    /// A new terminal size.
    Resize(TerminalSize),
    /// The end of its standard input.
    CloseInput,
}

/// The next action, or why the viewer is gone: its stream's error, [`ShellError::Closed`] when
/// it ended, or [`ShellError::Protocol`] when it broke the conversation's rules.
pub(super) async fn next_action(
    input: &mut impl MessageIn<ShellRequest>,
) -> Result<Action, ShellError> {
    loop {
        return match input.recv().await? {
            None => Err(ShellError::Closed),
            Some(ShellRequest::Open(_)) => Err(ShellError::Protocol(
                "Open on a stream whose shell already runs".to_owned(),
            )),
            Some(ShellRequest::Input(bytes)) if bytes.len() > MAX_SHELL_CHUNK => {
                Err(ShellError::Protocol(format!(
                    "an input chunk of {} bytes exceeds the {MAX_SHELL_CHUNK}-byte limit",
                    bytes.len()
                )))
            }
            Some(ShellRequest::Input(bytes)) => Ok(Action::Write(bytes)),
            Some(ShellRequest::Resize(size)) => match size.check() {
                Ok(()) => Ok(Action::Resize(size)),
                Err(error) => {
                    // A bad size is harmless to skip; the terminal keeps its last one.
                    warn!(%error, "ignoring a resize");
                    continue;
                }
            },
            Some(ShellRequest::CloseInput) => Ok(Action::CloseInput),
        };
    }
}
