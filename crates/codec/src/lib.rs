//! Tether's frame codec, format version 2: lossless, but for an optional progressive first picture.
//!
//! The agent captures the screen as a sequence of [`Frame`]s (BGRA8, tightly
//! packed) and feeds each one to an [`Encoder`]. The encoder keeps a copy of
//! the last frame it encoded (its *reference*), the frame of its last key
//! update, and a tile cache. It cuts the new frame into square tiles, finds
//! the tiles that differ from the reference (optionally only inside the
//! capturer's damage rectangles), looks for content that moved (scrolls,
//! dragged windows) and codes each changed tile with the cheapest of: a
//! solid fill, a reference to a cached tile, a copy from an earlier picture,
//! a residual against one or two earlier pictures, a palette, raw pixels, or
//! a patch of just the changed rectangle inside the tile. A key update's
//! records are compressed as a zstd frame of their own; the delta updates
//! between two key updates share one zstd stream, each flushed, so that an
//! update can refer to the bytes of earlier ones (a glyph typed before costs
//! a few bytes). When nothing changed it emits nothing at all. The first frame, a frame whose size differs from the
//! reference, and the first frame after [`Encoder::reset`] produce a *key
//! update*, which rebuilds every tile from scratch.
//!
//! On a thin link the first picture can be sent progressively: with
//! [`EncoderConfig::key_budget`] set, a key update larger than the budget
//! carries its natural-image tiles as one lossy JPEG picture (approximate
//! tiles) and the rest exactly, and [`Encoder::refine`] then sends the
//! approximate tiles losslessly, a bounded number of bytes at a time, until
//! [`Decoder::approximate_tiles`] is 0. The encoder never predicts from
//! approximate pixels, so decoding stays bit-exact everywhere else.
//!
//! The viewer feeds each update to a [`Decoder`], which owns the framebuffer
//! and mirrors the encoder's state. Updates must be applied in the order they
//! were produced, without gaps; after a loss, the sender calls
//! [`Encoder::reset`] so that the next update is a key update, which
//! restarts the compression stream on both sides. A decoder that could not
//! decompress a delta refuses further deltas until a key update.
//!
//! The decoder treats its input as untrusted: it validates the whole update
//! and rebuilds every tile in scratch memory before changing anything, never
//! panics, and never allocates more than its [`DecoderLimits`] (plus a fixed
//! 32 MiB tile cache) allow. A rejected update leaves the framebuffer exactly
//! as it was. The wire format is described in `FORMAT.md` next to this
//! crate's `Cargo.toml`.
//!
//! The crate is a pure library: no IO, clocks or sockets, and no threads of
//! its own: tiles are analysed and rebuilt in parallel on the caller's rayon
//! thread pool, with output independent of the number of threads.
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

mod approx;
mod cache;
mod choose;
mod decoder;
mod detect;
mod encoder;
mod error;
mod format;
mod frame;
mod lossy;
mod motion;
mod palette;
mod rebuild;
mod record;
mod stats;
mod stream;

pub use decoder::{Decoder, DecoderLimits, UpdateSummary};
pub use encoder::{Encoder, EncoderConfig};
pub use error::{DecodeError, FrameError};
pub use frame::{Frame, Rect, MAX_DIMENSION};
pub use record::RecordKind;
pub use stats::{KindTally, UpdateStats};
