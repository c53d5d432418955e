//! End-to-end security of a Tether session, as a pure library: no sockets, no clocks.
//!
//! The relay pairs a viewer with an agent by the code's [`Nameplate`](tether_proto::Nameplate)
//! alone; the whole 12-digit [`SessionCode`](tether_proto::SessionCode) is the password of a
//! SPAKE2 exchange between the two endpoints ([`handshake`]). An eavesdropper learns nothing
//! from it, and an active attacker (the relay included) gets one guess at the secret half per
//! code, which the agent burns on any failed confirmation. The viewer commits to its SPAKE2
//! message before the agent answers, so even a party in the middle that knows the code cannot
//! choose its messages to make both sides' digits agree: they match for it with probability
//! 10⁻⁶ per session ([`handshake`] says why, for every order in which it may run the two legs).
//! From the shared key come:
//!
//! - key-confirmation MACs, so both sides know the other holds the same key before any session
//!   data flows;
//! - a [`ShortAuthString`] the user and technician can compare on the phone: if they match,
//!   nobody in the middle knew the code (or one who did won a one-in-a-million draw);
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
