//! The remote shell conversation between viewer and agent, end to end through the relay.
//!
//! Each shell is its own stream. Once the stream's end-to-end handshake has authenticated the
//! technician and the machine, the viewer says [`ShellRequest::Open`]; the agent answers
//! [`ShellResponse::Started`] (or [`ShellResponse::Refused`]) and from then on the two sides
//! exchange input, output and resizes until the agent reports [`ShellResponse::Exited`].
//!
//! Like ssh, a shell either runs on a pseudo-terminal (interactive: one output stream, the
//! terminal's size follows the viewer's) or on plain pipes (a command run from a script:
//! standard output and error stay apart, and the viewer needs no terminal).

use serde::{Deserialize, Serialize};

use crate::ProtoError;

/// The most output or input bytes one message carries; larger reads are split.
pub const MAX_SHELL_CHUNK: usize = 64 * 1024;
/// The most arguments a command may have.
pub const MAX_ARGS: usize = 1024;
/// The most bytes a command line may have, all arguments together.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// The longest `TERM` value accepted.
pub const MAX_TERM_LEN: usize = 64;
/// The largest terminal side, in cells, accepted.
pub const MAX_TERMINAL_SIDE: u16 = 4096;

/// Viewer → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShellRequest {
    /// The stream's first message: what to run and how.
    Open(ShellOpen),
    /// Bytes for the terminal or the command's standard input (at most [`MAX_SHELL_CHUNK`]).
    Input(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The viewer's terminal changed size (ignored without a terminal).
    Resize(TerminalSize),
    /// No more input: the command's standard input is closed (ignored with a terminal, where
    /// end of input is a keystroke like any other).
    CloseInput,
}

/// What to run on the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellOpen {
    /// The program and its arguments; `None` runs the account's login shell.
    pub command: Option<Vec<String>>,
    /// A pseudo-terminal to run it on; `None` runs it on pipes.
    pub terminal: Option<TerminalSpec>,
}

/// The pseudo-terminal a shell runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSpec {
    /// The viewer's `TERM`, so full-screen programs draw for the right terminal.
    pub term: String,
    /// The initial size.
    pub size: TerminalSize,
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// Agent → viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShellResponse {
    /// The program is running.
    Started,
    /// The agent would not or could not start it; the agent closes the stream.
    Refused {
        /// Why, in words for the technician.
        reason: String,
    },
    /// Output from the terminal, or the command's standard output.
    Stdout(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The command's standard error (never sent with a terminal).
    Stderr(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The program ended; the last message on the stream.
    Exited(ExitStatus),
}

/// How the remote program ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// Its exit code; 128 + the signal's number when a signal killed it (as shells report).
    pub code: u32,
    /// The signal that killed it, if one did (e.g. "Killed").
    pub signal: Option<String>,
}

impl ShellOpen {
    /// Checks the request against the protocol's bounds.
    pub fn check(&self) -> Result<(), ProtoError> {
        if let Some(command) = &self.command {
            let bytes: usize = command.iter().map(String::len).sum();
            if command.is_empty() || command.len() > MAX_ARGS || bytes > MAX_COMMAND_BYTES {
                return Err(ProtoError::InvalidShellRequest(format!(
                    "a command needs 1 to {MAX_ARGS} arguments of at most {MAX_COMMAND_BYTES} \
                     bytes in all (got {} arguments, {bytes} bytes)",
                    command.len()
                )));
            }
            if command.iter().any(|arg| arg.contains('\0')) {
                return Err(ProtoError::InvalidShellRequest(
                    "a command argument contains a NUL byte".to_owned(),
                ));
            }
        }
        if let Some(terminal) = &self.terminal {
            let term_ok = !terminal.term.is_empty()
                && terminal.term.len() <= MAX_TERM_LEN
                && terminal
                    .term
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
            if !term_ok {
                return Err(ProtoError::InvalidShellRequest(format!(
                    "invalid TERM {:?}",
                    terminal.term
                )));
            }
            terminal.size.check()?;
        }
        Ok(())
    }
}

impl TerminalSize {
    /// Checks that both sides are between 1 and [`MAX_TERMINAL_SIDE`].
    pub fn check(self) -> Result<(), ProtoError> {
        let side = 1..=MAX_TERMINAL_SIDE;
        if side.contains(&self.cols) && side.contains(&self.rows) {
            Ok(())
        } else {
            Err(ProtoError::InvalidShellRequest(format!(
                "invalid terminal size {}x{}",
                self.cols, self.rows
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal(term: &str, cols: u16, rows: u16) -> Option<TerminalSpec> {
        Some(TerminalSpec {
            term: term.to_owned(),
            size: TerminalSize { cols, rows },
        })
    }

    #[test]
    fn sensible_requests_pass() {
        let login = ShellOpen {
            command: None,
            terminal: terminal("xterm-256color", 80, 24),
        };
        assert!(login.check().is_ok());
        let command = ShellOpen {
            command: Some(vec!["sh".into(), "-c".into(), "exit 7".into()]),
            terminal: None,
        };
        assert!(command.check().is_ok());
    }

    #[test]
    fn out_of_bounds_requests_are_refused() {
        let bad = [
            ShellOpen {
                command: Some(vec![]),
                terminal: None,
            },
            ShellOpen {
                command: Some(vec!["a\0b".into()]),
                terminal: None,
            },
            ShellOpen {
                command: Some(vec!["x".repeat(MAX_COMMAND_BYTES + 1)]),
                terminal: None,
            },
            ShellOpen {
                command: None,
                terminal: terminal("xterm; rm -rf /", 80, 24),
            },
            ShellOpen {
                command: None,
                terminal: terminal("xterm", 0, 24),
            },
            ShellOpen {
                command: None,
                terminal: terminal("xterm", 80, MAX_TERMINAL_SIDE + 1),
            },
        ];
        for request in bad {
            assert!(request.check().is_err(), "{request:?} passed");
        }
    }
}
