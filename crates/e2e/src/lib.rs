//! End-to-end security of a Tether session, as a pure library: no sockets, no clocks.
//!
//! The relay pairs a viewer with an agent by the code's [`Nameplate`](tether_proto::Nameplate)
//! alone; the whole 12-digit [`SessionCode`](tether_proto::SessionCode) is the password of a
//! SPAKE2 exchange between the two endpoints ([`handshake`]). An eavesdropper learns nothing
//! from it, and an active attacker (the relay included) gets one guess at the secret half per
//! code, which the agent burns on any failed confirmation. From the shared key come:
//!
//! - key-confirmation MACs, so both sides know the other holds the same key before any session
//!   data flows;
//! - a [`ShortAuthString`] the user and technician can compare on the phone;
//! - one AEAD key per direction for [`Sealer`] / [`Opener`]: ChaCha20-Poly1305 records with
//!   implicit sequence numbers, so a flipped, dropped, replayed or reordered record, or a stream
//!   cut short, is detected.
//!
//! A viewer whose connection was lost takes its session back on a new stream by proving it
//! holds the session's [`ResumptionSecret`], and both ends re-key ([`resume`]).
//!
//! Sessions with an enrolled machine authenticate both ends by long-term keys instead: the
//! technician's certificate and the machine's ed25519 key sign an X25519 exchange
//! ([`unattended`]).
//!
//! There is no plaintext mode: every failure is an [`E2eError`] that ends the stream.

mod error;
pub mod handshake;
mod keys;
mod machine_key;
mod record;
pub mod resume;
pub mod unattended;

pub use error::E2eError;
pub use handshake::{
    AgentConfirming, AgentHandshake, Established, ViewerConfirming, ViewerHandshake,
};
pub use keys::{ResumptionSecret, ShortAuthString};
pub use machine_key::{machine_key_fingerprint, verify_machine_signature, MachineKey};
pub use record::{Opened, Opener, Sealer, RECORD_OVERHEAD};
pub use resume::{AgentResuming, AgentResumption, ViewerResuming};
