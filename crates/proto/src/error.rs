//! Errors raised while framing, parsing or validating protocol data.

/// Everything that can be wrong with bytes received from the network.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// A length prefix announced a message larger than the hard limit.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// The announced length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A message body could not be parsed as the expected type.
    #[error("malformed message: {0}")]
    Malformed(#[from] postcard::Error),
    /// A field of a message is longer than the protocol allows (see [`crate::bounds`]).
    #[error("malformed message: {0}")]
    OutOfBounds(crate::bounds::OutOfBounds),
    /// The stream ended in the middle of a message.
    #[error("stream ended in the middle of a message ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the incomplete message that had arrived.
        buffered: usize,
    },
    /// A session code did not have the form `123-456-789-012`.
    #[error("invalid session code {0:?}: expected 12 digits such as 123-456-789-012")]
    InvalidCode(String),
    /// A cursor image's geometry does not match its pixels or is too large.
    #[error("invalid cursor image: {width}x{height} with {bytes} bytes of pixels")]
    InvalidCursor {
        /// Claimed width.
        width: u16,
        /// Claimed height.
        height: u16,
        /// Pixel bytes present.
        bytes: usize,
    },
    /// A nameplate number was out of range.
    #[error("invalid nameplate {0}: expected a number below 1000000")]
    InvalidNameplate(u32),
    /// A shell request broke the protocol's bounds.
    #[error("invalid shell request: {0}")]
    InvalidShellRequest(String),
    /// A datagram on the relay's data port was not the data path message expected.
    #[error("not a data path {0} message")]
    NotADataPathMessage(&'static str),
}
