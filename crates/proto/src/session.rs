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
//!
//! A session is a desktop or a shell. A viewer that asks for [`Capabilities::SHELL_ONLY`] and
//! is granted it gets no frames: after the hellos the stream carries the shell conversation of
//! [`crate::shell`], as on an enrolled machine.

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
        /// What the agent is showing (e.g. "demo desktop 1280x720"); in a shell session, the
        /// shell.
        screen: String,
        /// The screen's width in pixels at session start (0 in a shell session).
        width: u32,
        /// The screen's height in pixels at session start (0 in a shell session).
        height: u32,
        /// What the user allowed (never more than the viewer asked for).
        granted: Capabilities,
    },
    /// The user (or the agent's policy) declined the session; the agent closes the stream.
    Declined,
    /// When and how fast the next update's frame was made; sent just before its chunks so the
    /// viewer can measure latency per stage (meaningful when both ends share a clock).
    Timing(FrameTiming),
    /// The mouse pointer moved or changed shape. It is not drawn into the frames, so moving
    /// it costs no frame update; the viewer draws it over the picture.
    Cursor(CursorUpdate),
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
    /// Run commands in a shell (a session of its own, without the screen).
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

    /// A shell, nothing else: what `tether-viewer join --shell` asks for.
    pub const SHELL_ONLY: Capabilities = Capabilities {
        view: false,
        control: false,
        shell: true,
    };

    /// Whether a session granted these has anything to do: a screen to show or a shell.
    pub fn admits_a_session(self) -> bool {
        self.view || self.shell
    }

    /// Whether a request for these offers the user a "view only" answer: it asks for the
    /// screen and more.
    pub fn offers_view_only(self) -> bool {
        self.view && (self.control || self.shell)
    }

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

/// The agent's timings of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameTiming {
    /// The update's sequence number.
    pub seq: u64,
    /// Wall-clock time the capture started, in microseconds since the Unix epoch.
    pub captured_at_us: u64,
    /// Microseconds the capture took.
    pub capture_us: u32,
    /// Microseconds the encoding took.
    pub encode_us: u32,
}

/// Where the remote pointer is, and its image when that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorUpdate {
    /// Column of the pointer's hotspot in screen pixels (may lie off the screen).
    pub x: i32,
    /// Row of the pointer's hotspot in screen pixels (may lie off the screen).
    pub y: i32,
    /// Whether the pointer is on the shared screen at all.
    pub visible: bool,
    /// The new image, when it changed since the last update.
    pub shape: Option<CursorShape>,
}

/// A cursor image; validate with [`CursorShape::check`] before use.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorShape {
    /// Width in pixels, at most [`CursorShape::MAX_SIDE`].
    pub width: u16,
    /// Height in pixels, at most [`CursorShape::MAX_SIDE`].
    pub height: u16,
    /// Column of the hotspot inside the image.
    pub hotspot_x: u16,
    /// Row of the hotspot inside the image.
    pub hotspot_y: u16,
    /// BGRA pixels, premultiplied alpha, `width * 4` bytes per row.
    #[serde(with = "serde_bytes")]
    pub pixels: Vec<u8>,
}

impl CursorShape {
    /// The largest cursor side accepted.
    pub const MAX_SIDE: u16 = 256;

    /// Checks the geometry against the pixel buffer and the size limit.
    pub fn check(&self) -> Result<(), crate::ProtoError> {
        let expected = usize::from(self.width) * usize::from(self.height) * 4;
        if self.width > Self::MAX_SIDE
            || self.height > Self::MAX_SIDE
            || self.pixels.len() != expected
            || (self.width > 0 && self.hotspot_x >= self.width)
            || (self.height > 0 && self.hotspot_y >= self.height)
        {
            return Err(crate::ProtoError::InvalidCursor {
                width: self.width,
                height: self.height,
                bytes: self.pixels.len(),
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for CursorShape {
    /// The geometry only, not the pixels.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorShape")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("hotspot_x", &self.hotspot_x)
            .field("hotspot_y", &self.hotspot_y)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(width: u16, height: u16, bytes: usize) -> CursorShape {
        CursorShape {
            width,
            height,
            hotspot_x: 0,
            hotspot_y: 0,
            pixels: vec![0; bytes],
        }
    }

    #[test]
    fn cursor_shapes_must_match_their_pixels_and_stay_small() {
        assert!(shape(16, 16, 16 * 16 * 4).check().is_ok());
        assert!(shape(16, 16, 16 * 16 * 4 - 1).check().is_err());
        assert!(shape(257, 1, 257 * 4).check().is_err());
        let mut off = shape(4, 4, 64);
        off.hotspot_x = 4;
        assert!(off.check().is_err());
    }
}
