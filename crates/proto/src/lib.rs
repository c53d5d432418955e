//! Tether's wire protocol, as a pure library: no sockets, no async runtime, no clocks.
//!
//! Three conversations run over QUIC streams, each a sequence of length-prefixed
//! [postcard](https://docs.rs/postcard) messages (see [`framing`]):
//!
//! - **control** ([`control`]): a client (agent or viewer) and the relay. The client opens the
//!   first bidirectional stream, says [`control::ClientMessage::Hello`] with its
//!   [`PROTOCOL_VERSION`], then registers (agent) or joins with a [`SessionCode`]'s [`Nameplate`] (viewer).
//! - **stream header** ([`control::StreamHeader`]): the relay's only words on a forwarded stream,
//!   written once to the agent before the relay starts copying the viewer's bytes verbatim.
//! - **session** ([`session`]): agent and viewer, end to end through the relay, which never parses
//!   it. Each session stream starts with a key exchange authenticated by the whole session code
//!   and then carries only sealed records ([`secure`]). Frame updates flow under a pull window so
//!   a slow viewer never makes the agent queue stale frames.

pub mod bounds;
pub mod chunks;
pub mod code;
pub mod control;
pub mod data_path;
pub mod error;
pub mod framing;
mod printable;
pub mod secure;
pub mod session;
pub mod shell;

pub use chunks::{split_update, AssembleError, UpdateAssembler};
pub use code::{Nameplate, SessionCode};
pub use error::ProtoError;
pub use framing::{encode_message, Deframer, MAX_MESSAGE_SIZE};
pub use printable::Printable;

/// The protocol version both ends of every conversation announce; a mismatch ends the connection.
pub const PROTOCOL_VERSION: u16 = 2;

/// The QUIC/TLS application protocol name (ALPN) of this protocol version.
pub const ALPN: &[u8] = b"tether/1";
