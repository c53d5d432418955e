//! The technician's side of enrolled machines: listing what it may reach and opening shells,
//! authenticated by a certificate from the organisation's CA.
//!
//! The relay checks the certificate and the access policy; the machine checks the certificate
//! again in the end-to-end handshake, and this side checks that the machine's key is the one
//! its enrollment credential (from the same CA) endorsed. The relay's word alone moves nothing.

mod connect;
mod machines;
mod shell;
mod tls_refusal;

pub use connect::{TechnicianArgs, TechnicianConnection};

/// The relay refused the request (exit code 3 for `machines`).
#[derive(Debug, thiserror::Error)]
#[error("the relay refused: {0}")]
pub struct RelayRefused(pub tether_proto::control::Refusal);
pub use machines::{list_machines, machines_table};
pub(crate) use shell::run_program;
pub use shell::{open_shell, RemoteProgram, ShellOutcome};
