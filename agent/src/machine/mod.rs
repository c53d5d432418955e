//! Unattended mode: an enrolled machine (a server) that stays online at the relay so the
//! organisation's technicians can open shells on it, with nobody at the machine to consent.
//!
//! `tether-agent enroll` trades a one-time enrollment credential for a lasting identity: an
//! ed25519 machine key generated here, which the credential endorses and the relay records.
//! `tether-agent run` then keeps the machine online, proving the key on every connection, and
//! serves each shell stream after an unattended handshake in which the technician's
//! certificate is checked against the organisation's CA (the relay's word is never enough).

mod enroll;
mod refused;
mod run;
mod state;
mod trust;

pub use enroll::{enroll, Enrollment};
pub use refused::RelayRefused;
pub use run::{run_machine, MachineConfig, MachineEvent};
pub use state::MachineState;
pub use trust::MachineTrust;
