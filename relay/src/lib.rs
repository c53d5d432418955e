//! The Tether relay: pairs a viewer with an agent by one-time session code, then forwards the
//! session's streams as opaque bytes.
//!
//! The relay reads only its own control conversation ([`tether_proto::control`]). Once a session
//! is paired, every stream the viewer opens is mirrored by a stream to the agent, prefixed with a
//! [`tether_proto::control::StreamHeader`], and the two are spliced byte for byte: the relay never
//! parses (and with end-to-end encryption cannot read) screen content, input or shell bytes.
//!
//! A viewer whose connection is lost (not closed) mid-session may take the session back on a
//! new connection within a grace period, with the one-time ticket the relay gave it
//! ([`ResumeBook`]); the agent stays paired meanwhile, and checks the viewer again end to end.

pub mod admin;
mod agent_side;
mod attended;
pub mod audit;
mod config;
mod connection_limit;
mod control;
mod data_path;
mod database;
pub mod directory;
mod endpoint_keys;
mod error;
mod forward;
mod limiter;
mod lock;
mod machine_side;
mod metrics;
mod metrics_http;
mod network;
mod org;
mod registry;
mod resume;
mod server;
mod session;
mod settings;
mod shared;
mod technician_side;
mod tls;
mod viewer_side;

pub use config::{OrgFiles, RelayConfig, TlsFiles, DEFAULT_MIN_RESET_INTERVAL};
pub use connection_limit::ConnectionCounter;
pub use limiter::{JoinLimiter, JoinLimits, LimitScope, Limited};
pub use network::Network;
pub use registry::{CodeRegistry, RegistrationCaps};
pub use resume::{Denied, ResumeBook};
pub use server::Relay;
pub use settings::{RelaySettings, SettingsError};
