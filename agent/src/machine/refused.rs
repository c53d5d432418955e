//! The relay's refusal of a machine.

use tether_proto::control::Refusal;

/// The relay refused the machine: retrying cannot help (`tether_cli::exit::REFUSED` in the
/// binary).
#[derive(Debug, thiserror::Error)]
#[error("the relay refused: {0}")]
pub struct RelayRefused(pub Refusal);
