//! The technician's side of enrolled machines: listing what it may reach and opening shells,
//! authenticated by a certificate from the organisation's CA.
//!
//! The relay checks the certificate and the access policy; the machine checks the certificate
//! again in the end-to-end handshake, and this side checks that the machine's key is the one
//! its enrollment credential (from the same CA) endorsed. The relay's word alone moves nothing.

mod connect;
mod machines;
mod refused;
mod shell;
mod tls_refusal;

pub use connect::{TechnicianArgs, TechnicianConnection};
pub use machines::{list_machines, machines_table};
pub use refused::RelayRefused;
pub(crate) use shell::run_program;
pub use shell::{open_shell, RemoteProgram, ShellOutcome};
