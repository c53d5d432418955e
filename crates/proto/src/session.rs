//! The end-to-end session conversation between viewer and agent, carried opaquely by the relay.
//!
//! The viewer opens a stream and, once the end-to-end handshake ([`crate::secure`]) has keyed
//! it, says [`ViewerMessage::Hello`] with what it asks to do. The agent's user consents (or a
//! configured policy does): the agent answers [`AgentMessage::Hello`] with the capabilities
//! granted, or [`AgentMessage::Declined`]. Then the agent sends frame updates as [`FrameChunk`]s and the viewer
//! acknowledges each complete update with [`ViewerMessage::Ack`]. The agent keeps at most
//! `window` updates unacknowledged; while the window is full it captures nothing, so when room
//! opens it encodes the latest screen against the last update sent: damage merges instead of
//! queueing, and a slow viewer always receives current pixels.

use serde::{Deserialize, Serialize};
use tether_input::InputEvent;

/// Viewer → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewerMessage {
    /// Opens the session stream.
    Hello {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// Most unacknowledged updates the agent may send (clamped by the agent to 1..=8).
        window: u8,
        /// How the technician presents itself to the user.
        technician: String,
        /// What the technician asks to do.
        wants: Capabilities,
    },
    /// The update with this sequence number was fully received and applied.
    Ack {
        /// The acknowledged update's sequence number.
        seq: u64,
    },
    /// The technician's mouse or keyboard did something. The agent applies it only when the
    /// session was granted `control`, and only after validating it.
    Input(InputEvent),
}

/// Agent → viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentMessage {
    /// Answers [`ViewerMessage::Hello`].
    Hello {
        /// The agent's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// What the agent is showing (e.g. "demo desktop 1280x720").
        screen: String,
        /// The screen's width in pixels at session start.
        width: u32,
        /// The screen's height in pixels at session start.
        height: u32,
        /// What the user allowed (never more than the viewer asked for).
        granted: Capabilities,
    },
    /// The user (or the agent's policy) declined the session; the agent closes the stream.
    Declined,
    /// One piece of an encoded frame update (see `tether-codec`).
    Frame(FrameChunk),
}

/// A piece of one encoded frame update. Updates larger than a message are split into several
/// chunks with the same `seq`; the one with `last` set completes the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameChunk {
    /// The update's sequence number: the agent's capture counter, strictly increasing.
    pub seq: u64,
    /// Encoded update bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Whether this chunk completes the update.
    pub last: bool,
}

/// What a session may do, granted separately by the agent's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// See the screen.
    pub view: bool,
    /// Move the pointer and type.
    pub control: bool,
    /// Open shells.
    pub shell: bool,
}

impl Capabilities {
    /// See the screen, nothing else.
    pub const VIEW_ONLY: Capabilities = Capabilities {
        view: true,
        control: false,
        shell: false,
    };

    /// See the screen and control it: what a helpdesk technician asks for.
    pub const VIEW_AND_CONTROL: Capabilities = Capabilities {
        view: true,
        control: true,
        shell: false,
    };

    /// What both `self` and `other` allow.
    pub fn intersect(self, other: Capabilities) -> Capabilities {
        Capabilities {
            view: self.view && other.view,
            control: self.control && other.control,
            shell: self.shell && other.shell,
        }
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [
            (self.view, "view"),
            (self.control, "control"),
            (self.shell, "shell"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&names.join(" + "))
        }
    }
}
