//! Remote shells: the agent runs a login shell or a command, the viewer drives it.
//!
//! Each shell is one stream carrying the [`tether_proto::shell`] conversation. The code here is
//! written against two small traits, [`MessageOut`] and [`MessageIn`], implemented for the
//! end-to-end encrypted QUIC streams of `tether-transport` and for in-memory [`channel`]s.
//!
//! - [`server`] (agent): [`serve_shell`] spawns the program on a pseudo-terminal or on pipes and
//!   relays input, output, resizes and the exit status, with bounded buffering: a viewer that
//!   stops reading stalls the program's output instead of growing the agent's memory. A viewer
//!   that goes away takes the program (its whole process group) with it.
//! - [`client`] (viewer): [`run_interactive`] puts the local terminal in raw mode and restores
//!   it on every path, with ssh's `~.` escapes; [`run_command`] runs one command like
//!   `ssh host cmd`, in pipes and scripts.
//!
//! Unix only: pseudo-terminals, process groups and `SIGWINCH`.

mod channel;
pub mod client;
mod error;
pub mod server;
mod status;
mod stream;

pub use channel::{channel, ChannelIn, ChannelOut};
pub use client::{
    run_command, run_command_with, run_interactive, EscapeAction, EscapeScanner, Scanned,
};
pub use error::ShellError;
pub use server::{receive_open, serve_shell, ShellConfig};
pub use status::{exit_code, DISCONNECTED_EXIT_CODE};
pub use stream::{MessageIn, MessageOut};
