//! An interactive shell: the local terminal in raw mode drives a remote pseudo-terminal.

use std::{
    io::{self, IsTerminal},
    pin::pin,
};

use tether_proto::shell::{
    ExitStatus, ShellOpen, ShellRequest, ShellResponse, TerminalSize, TerminalSpec,
    MAX_SHELL_CHUNK, MAX_TERMINAL_SIDE,
};
use tokio::{
    io::AsyncWriteExt,
    signal::unix::{signal, Signal, SignalKind},
};
use tracing::debug;

use super::{
    escape::{EscapeAction, EscapeScanner},
    output::{relay_responses, InPlace},
    raw_mode::RawMode,
    terminal_input::TerminalInput,
};
use crate::{MessageIn, MessageOut, ShellError};

/// The `TERM` sent when the local one is unset or unusable.
const DEFAULT_TERM: &str = "xterm-256color";
/// The size sent when the terminal does not know its own.
const DEFAULT_SIZE: TerminalSize = TerminalSize { cols: 80, rows: 24 };

/// Runs `command` (`None`: the remote account's login shell) on a remote terminal of the local
/// terminal's size and `TERM`, with the local terminal in raw mode until it returns (whichever
/// way: exit, error, `~.`, a signal).
///
/// Keystrokes go to the remote program as typed, Ctrl-C included; ssh's escapes work after
/// Enter (`~.` ends the session with [`ShellError::EscapeDisconnect`], `~?` lists them). Window
/// size changes follow. `SIGHUP` (the terminal closed), `SIGTERM` and `SIGINT` (from `kill`:
/// Ctrl-C in raw mode is a keystroke) end the session with [`ShellError::Interrupted`], after
/// restoring the terminal; tokio keeps handling those signals in this process afterwards.
/// Standard input is non-blocking while this runs, and blocking again when it returns.
pub async fn run_interactive(
    command: Option<Vec<String>>,
    out: &mut impl MessageOut<ShellRequest>,
    input: &mut impl MessageIn<ShellResponse>,
) -> Result<ExitStatus, ShellError> {
    if !io::stdin().is_terminal() {
        return Err(ShellError::NotATerminal);
    }
    let size = local_size();
    let open = ShellOpen {
        command,
        terminal: Some(TerminalSpec {
            term: local_term(size),
            size,
        }),
    };
    open.check().map_err(ShellError::InvalidRequest)?;
    let signals = Signals::install().map_err(ShellError::Terminal)?;
    let _raw = RawMode::enable()?;
    let keys = TerminalInput::open().map_err(ShellError::Input)?;
    out.send(&ShellRequest::Open(open)).await?;
    // Written in place: a terminal takes a write at once, and tokio's stdout would hand every
    // echo to another thread first.
    let (mut stdout, mut stderr) = (InPlace(io::stdout()), InPlace(io::stderr()));
    let mut upload = pin!(forward_keys(out, keys, signals, size));
    let mut download = pin!(relay_responses(input, &mut stdout, &mut stderr));
    let mut uploading = true;
    loop {
        tokio::select! {
            stop = &mut upload, if uploading => match stop {
                Stop::Local(error) => return Err(error),
                Stop::SendFailed(error) => {
                    // Perhaps the program just exited: the responses tell.
                    debug!(%error, "sending keystrokes stopped");
                    uploading = false;
                }
            },
            status = &mut download => return status,
        }
    }
}

/// Why [`forward_keys`] stopped.
enum Stop {
    /// The technician or the local system ended the session.
    Local(ShellError),
    /// The stream no longer takes requests.
    SendFailed(ShellError),
}

struct Signals {
    window: Signal,
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    fn install() -> io::Result<Self> {
        Ok(Self {
            window: signal(SignalKind::window_change())?,
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }
}

/// Sends keystrokes (through the escape scanner) and window size changes.
async fn forward_keys(
    out: &mut impl MessageOut<ShellRequest>,
    keys: TerminalInput,
    mut signals: Signals,
    mut size: TerminalSize,
) -> Stop {
    let mut scanner = EscapeScanner::new();
    let mut keys_open = true;
    let mut buf = vec![0; MAX_SHELL_CHUNK];
    loop {
        let request = tokio::select! {
            read = keys.read(&mut buf), if keys_open => match read {
                Ok(0) => {
                    keys_open = false;
                    continue;
                }
                Ok(n) => {
                    let scanned = scanner.feed(&buf[..n]);
                    if !scanned.forward.is_empty() {
                        if let Err(error) = out.send(&ShellRequest::Input(scanned.forward)).await {
                            return Stop::SendFailed(error);
                        }
                    }
                    for action in scanned.actions {
                        match action {
                            EscapeAction::Disconnect => {
                                return Stop::Local(ShellError::EscapeDisconnect)
                            }
                            EscapeAction::Help => show_help().await,
                        }
                    }
                    continue;
                }
                Err(error) => return Stop::Local(ShellError::Input(error)),
            },
            _ = signals.window.recv() => {
                let new_size = local_size();
                if new_size == size {
                    continue;
                }
                size = new_size;
                ShellRequest::Resize(size)
            }
            _ = signals.hangup.recv() => return Stop::Local(ShellError::Interrupted("SIGHUP")),
            _ = signals.terminate.recv() => return Stop::Local(ShellError::Interrupted("SIGTERM")),
            _ = signals.interrupt.recv() => return Stop::Local(ShellError::Interrupted("SIGINT")),
        };
        if let Err(error) = out.send(&request).await {
            return Stop::SendFailed(error);
        }
    }
}

async fn show_help() {
    let mut stderr = tokio::io::stderr();
    let shown = async {
        stderr.write_all(EscapeScanner::HELP.as_bytes()).await?;
        stderr.flush().await
    };
    if let Err(error) = shown.await {
        debug!(%error, "showing the escapes");
    }
}

/// The local terminal's size, within the protocol's bounds.
fn local_size() -> TerminalSize {
    match crossterm::terminal::size() {
        Ok((cols, rows)) if cols > 0 && rows > 0 => TerminalSize {
            cols: cols.min(MAX_TERMINAL_SIDE),
            rows: rows.min(MAX_TERMINAL_SIDE),
        },
        _ => DEFAULT_SIZE,
    }
}

/// The local `TERM` if the agent would accept it, else [`DEFAULT_TERM`].
fn local_term(size: TerminalSize) -> String {
    std::env::var("TERM")
        .ok()
        .filter(|term| {
            ShellOpen {
                command: None,
                terminal: Some(TerminalSpec {
                    term: term.clone(),
                    size,
                }),
            }
            .check()
            .is_ok()
        })
        .unwrap_or_else(|| DEFAULT_TERM.to_owned())
}
