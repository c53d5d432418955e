//! QUIC plumbing shared by Tether's relay, agent and viewer.
//!
//! - [`config`]: quinn endpoint configurations (TLS 1.3 with the ring provider, ALPN
//!   `tether/1`, keep-alives and idle timeouts).
//! - [`connect`]: dialling a relay with its certificate pinned (flag, known-relays file, or trust
//!   on first use).
//! - [`framed`]: typed, length-prefixed message streams over quinn streams, built on
//!   [`tether_proto::Deframer`].
//! - [`secure`]: session streams keyed end to end by the one-time code (`tether-e2e`), carrying
//!   typed messages in sealed records.
//! - [`direct`]: moving a technician's session to its own QUIC connection through the relay's
//!   data port.
//! - [`resume`]: re-keying a session on a new stream after the viewer's connection was lost.
//! - [`backoff`]: how long to wait before dialling a relay again.
//! - [`race`]: a peer's last word against the relay's news of its hang-up, with the trailing
//!   windows that decide it.
//! - [`stop`]: the user's request to end a session.

pub mod backoff;
pub mod config;
pub mod connect;
pub mod direct;
pub mod error;
pub mod framed;
pub mod identity;
pub mod race;
pub mod resume;
pub mod secure;
pub mod stop;

pub use backoff::Backoff;
pub use connect::{
    close_and_wait, connect_to_org_relay, connect_to_relay, default_known_relays_path,
    RelayConnection, RelayTarget,
};
pub use error::{is_disconnect, ConnectError, TransportError};
pub use framed::{open_control, MessageReceiver, MessageSender};
pub use race::{race, Raced, Trailing};
pub use resume::{agent_resume, viewer_resume};
pub use secure::{
    agent_handshake, machine_handshake, technician_handshake, viewer_handshake, SecureReceiver,
    SecureSender, SecureStream, CLOSE_LINGER, HANDSHAKE_TIMEOUT,
};
pub use stop::stopped;
