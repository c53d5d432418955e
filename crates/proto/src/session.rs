//! The end-to-end session conversation between viewer and agent, carried opaquely by the relay.
//!
//! The viewer opens a stream, says [`ViewerMessage::Hello`], and the agent answers
//! [`AgentMessage::Hello`]. Then the agent sends frame updates as [`FrameChunk`]s and the viewer
//! acknowledges each complete update with [`ViewerMessage::Ack`]. The agent keeps at most
//! `window` updates unacknowledged; while the window is full it captures nothing, so when room
//! opens it encodes the latest screen against the last update sent: damage merges instead of
//! queueing, and a slow viewer always receives current pixels.

use serde::{Deserialize, Serialize};

/// Viewer → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewerMessage {
    /// Opens the session stream.
    Hello {
        /// The viewer's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// Most unacknowledged updates the agent may send (clamped by the agent to 1..=8).
        window: u8,
    },
    /// The update with this sequence number was fully received and applied.
    Ack {
        /// The acknowledged update's sequence number.
        seq: u64,
    },
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
    },
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
