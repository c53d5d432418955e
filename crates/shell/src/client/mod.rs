//! The viewer's side of a remote shell.
//!
//! - [`run_interactive`]: a shell on a remote terminal, driven from the local one in raw mode.
//! - [`run_command`] / [`run_command_with`]: one command on pipes, like `ssh host cmd`.
//!
//! Both return the remote program's [`ExitStatus`](tether_proto::shell::ExitStatus); a binary
//! exits with [`exit_code`](crate::exit_code) of it, or
//! [`DISCONNECTED_EXIT_CODE`](crate::DISCONNECTED_EXIT_CODE) on any error. After they return,
//! drop both halves of the stream: the viewer does not close its direction itself, since the
//! agent has finished with the stream once it sent the exit status.

mod command;
mod escape;
mod interactive;
mod local_input;
mod output;
mod raw_mode;
mod terminal_input;

pub use command::{run_command, run_command_with};
pub use escape::{EscapeAction, EscapeScanner, Scanned};
pub use interactive::run_interactive;
