//! Harness for Tether's end-to-end tests: runs the real `tether-relay`, `tether-agent` and
//! `tether-viewer` binaries on 127.0.0.1 with ephemeral ports and reads what they print.
//!
//! The binaries are (re)built once per test process with the same cargo, profile and command
//! as `cargo test --workspace` (so after that command it is a no-op), and a test never runs
//! against a stale binary. Every wait, on a process, a line, a window or a message, gives up
//! after [`TIMEOUT`] with a message saying what did not come.

pub mod audit;
pub mod display;
pub mod evil_relay;
pub mod in_process;
pub mod organisation;
mod process;
mod relay;
pub mod relay_client;
pub mod scripted_viewer;
pub mod snapshot;
pub mod udp_proxy;
pub mod x11_clients;
pub mod xdotool;

use std::{future::Future, time::Duration};

pub use process::{binary, output, wait_with_output, Lines, Process};
pub use relay::{agent_args, Relay};

/// How long any single wait in a test may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test if it takes longer than [`TIMEOUT`]; `what` names what
/// was awaited, for the message.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("no {what} within {TIMEOUT:?}"))
}
