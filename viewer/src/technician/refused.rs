//! The relay's refusal of a technician's request.

/// The relay refused the request (`tether_cli::exit::REFUSED` for `machines`).
#[derive(Debug, thiserror::Error)]
#[error("the relay refused: {0}")]
pub struct RelayRefused(pub tether_proto::control::Refusal);
