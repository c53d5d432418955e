//! Tether's lossless frame codec, version 0: tile diff plus zstd.
//!
//! The agent captures the screen as a sequence of [`Frame`]s (BGRA8, tightly
//! packed) and feeds each one to an [`Encoder`]. The encoder keeps a copy of
//! the last frame it encoded as its *reference*: it cuts the new frame into
//! square tiles, compares every tile with the reference, and emits an update
//! holding only the tiles that changed, compressed with zstd. When nothing
//! changed it emits nothing at all. The first frame, a frame whose size
//! differs from the reference, and the first frame after [`Encoder::reset`]
//! produce a *key update*, which carries every tile.
//!
//! The viewer feeds each update to a [`Decoder`], which owns the framebuffer:
//! a key update (re)creates it, a delta update overwrites the tiles it lists.
//! Updates must be applied in the order they were produced, without gaps;
//! after a loss, the sender calls [`Encoder::reset`] so that the next update
//! is a key update.
//!
//! The decoder treats its input as untrusted: it validates the whole update
//! before changing anything, never panics, and never allocates more than its
//! [`DecoderLimits`] allow. A rejected update leaves the framebuffer exactly
//! as it was. The wire format is described in `FORMAT.md` next to this
//! crate's `Cargo.toml`.
//!
//! The crate is a pure library: no IO, threads, clocks or sockets.
//!
//! ```
//! use tether_codec::{Decoder, DecoderLimits, Encoder, EncoderConfig, Frame};
//!
//! let mut encoder = Encoder::new(EncoderConfig::default());
//! let mut decoder = Decoder::new(DecoderLimits::default());
//!
//! let mut frame = Frame::blank(100, 80);
//! let key = encoder.encode(&frame).expect("the first frame is always sent");
//! assert!(decoder.apply(&key).unwrap().key);
//!
//! // Nothing changed: nothing to send.
//! assert!(encoder.encode(&frame).is_none());
//!
//! // Paint one pixel: only its tile is sent.
//! frame.pixels_mut()[..4].copy_from_slice(&[255, 0, 0, 255]);
//! let delta = encoder.encode(&frame).unwrap();
//! let summary = decoder.apply(&delta).unwrap();
//! assert_eq!(summary.changed.len(), 1);
//! assert_eq!(decoder.framebuffer(), Some(&frame));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decoder;
mod encoder;
mod error;
mod format;
mod frame;

pub use decoder::{Decoder, DecoderLimits, UpdateSummary};
pub use encoder::{Encoder, EncoderConfig};
pub use error::{DecodeError, FrameError};
pub use frame::{Frame, Rect, MAX_DIMENSION};
