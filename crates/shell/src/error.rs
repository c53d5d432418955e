//! Errors of a remote shell, on either side.

use std::io;

use tether_proto::{Printable, ProtoError};
use tether_transport::TransportError;

/// A remote shell could not start or did not end with an exit status.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The stream to the peer failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The peer closed the stream before the program exited.
    #[error("the stream ended before the remote program exited")]
    Closed,
    /// The agent would not or could not start the program.
    #[error("the agent refused the shell: {}", Printable(reason))]
    Refused {
        /// Why, in the agent's words.
        reason: String,
    },
    /// The request breaks the protocol's bounds (checked before it is sent).
    #[error("invalid shell request: {0}")]
    InvalidRequest(#[source] ProtoError),
    /// The peer sent a message that makes no sense at this point.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// An interactive shell was asked for without a terminal on standard input.
    #[error("an interactive shell needs a terminal on standard input")]
    NotATerminal,
    /// The technician typed the `~.` escape.
    #[error("disconnected (~.)")]
    EscapeDisconnect,
    /// The viewer received a signal that ends it (e.g. its terminal closed).
    #[error("interrupted by {0}")]
    Interrupted(&'static str),
    /// The local terminal could not be set up or read.
    #[error("local terminal: {0}")]
    Terminal(#[source] io::Error),
    /// Local input (standard input) could not be read.
    #[error("reading local input: {0}")]
    Input(#[source] io::Error),
    /// Writing the remote program's output locally failed.
    #[error("writing output: {0}")]
    Output(#[source] io::Error),
    /// The agent lost track of the program it started.
    #[error("shell process: {0}")]
    Process(#[source] io::Error),
}
