//! The control conversation between a client (agent or viewer) and the relay.
//!
//! The client opens the connection's first bidirectional stream and sends [`ClientMessage`]s;
//! the relay answers with [`RelayMessage`]s on the same stream.

use serde::{Deserialize, Serialize};

use crate::Nameplate;

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message of every connection.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// Free-form software name and version, for the relay's logs.
        software: String,
    },
    /// Agent: ask for a nameplate (the relay's half of a one-time session code) and wait for a
    /// viewer.
    Register {
        /// How the machine presents itself to the technician (e.g. its host name).
        name: String,
    },
    /// Viewer: join the agent waiting under `nameplate`. (The code's secret half never goes
    /// to the relay; it authenticates the end-to-end handshake.)
    Join {
        /// The first half of the code the user read out.
        nameplate: Nameplate,
        /// How the technician presents itself to the user.
        name: String,
    },
}

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayMessage {
    /// Answer to [`ClientMessage::Hello`].
    Welcome {
        /// The relay's [`crate::PROTOCOL_VERSION`].
        version: u16,
    },
    /// Agent: your nameplate; it is valid once, for `expires_in_secs` seconds. The agent
    /// completes it with its own secret into the code it shows the user.
    Registered {
        /// The relay's half of the one-time code.
        nameplate: Nameplate,
        /// Seconds until the code expires unused.
        expires_in_secs: u32,
    },
    /// Both sides: the session is established; forwarded streams follow.
    Paired {
        /// The relay's identifier for this session (also in every [`StreamHeader`]).
        session_id: u64,
        /// The other side's self-declared name.
        peer: String,
    },
    /// The request was refused; the relay closes the connection after it. (A client that breaks
    /// the protocol gets no message: its connection is closed with the error as the reason.)
    Refused {
        /// Why.
        reason: Refusal,
    },
    /// The session is over.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

/// Why the relay refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The client speaks another protocol version.
    VersionMismatch {
        /// The relay's version.
        relay: u16,
    },
    /// No agent holds this code.
    UnknownCode,
    /// The code expired before it was used.
    ExpiredCode,
    /// The code was already used by another viewer.
    CodeAlreadyUsed,
    /// Too many join attempts from this address (or in total): wait before trying again.
    RateLimited {
        /// Seconds until an attempt will be accepted again.
        retry_after_secs: u32,
    },
    /// The relay has no free nameplate to issue right now.
    Busy,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::VersionMismatch { relay } => {
                write!(
                    f,
                    "protocol version mismatch (relay speaks version {relay})"
                )
            }
            Refusal::UnknownCode => f.write_str("unknown session code: check the digits"),
            Refusal::ExpiredCode => f.write_str("session code expired: ask for a new one"),
            Refusal::CodeAlreadyUsed => f.write_str("session code already used: ask for a new one"),
            Refusal::RateLimited { retry_after_secs } => write!(
                f,
                "too many join attempts: try again in {retry_after_secs} s"
            ),
            Refusal::Busy => f.write_str("the relay has no free session code: try again later"),
        }
    }
}

/// Why a session ended, as told by the relay to the side that remains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndReason {
    /// The agent closed its connection or vanished.
    AgentDisconnected,
    /// The viewer closed its connection or vanished.
    ViewerDisconnected,
    /// The relay is shutting down.
    RelayShutdown,
    /// The agent's code expired before a viewer joined.
    CodeExpired,
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndReason::AgentDisconnected => "the agent disconnected",
            EndReason::ViewerDisconnected => "the viewer disconnected",
            EndReason::RelayShutdown => "the relay shut down",
            EndReason::CodeExpired => "the session code expired",
        })
    }
}

/// Relay → agent, once at the start of every stream the relay forwards from a viewer. Every byte
/// after it is the viewer's, copied verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// The session the stream belongs to.
    pub session_id: u64,
}
