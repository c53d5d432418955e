//! The session's compression stream. The bodies of delta updates are
//! compressed as one long zstd frame, each update ending with a flush: a
//! block boundary where everything so far can be decoded. An update can then
//! refer to the bytes of earlier updates (the glyph typed a moment ago, the
//! palette of the line being edited), as a zlib stream spanning a VNC session
//! does. Encoder and decoder keep their contexts in lockstep: every delta
//! payload is fed to the decoder's context exactly once, in order, and both
//! start a new frame at each key update.

use std::io;

use zstd::stream::raw::{CParameter, DParameter, Decoder, Encoder, InBuffer, Operation, OutBuffer};

use crate::error::DecodeError;

/// log2 of the history an update may refer to: 4 MiB of earlier bodies.
/// The decoder refuses streams that ask for more.
pub const WINDOW_LOG: u32 = 22;

/// Bytes a flush may add to its input, at worst: a frame header (at most
/// 14 bytes, only at the start of a frame) and one 3-byte block header per
/// 128 KiB block, which zstd stores raw when compression does not pay.
pub fn flush_bound(len: usize) -> usize {
    len + 14 + 3 * (len / (128 << 10) + 1)
}

fn expect_zstd<T>(result: io::Result<T>, what: &str) -> T {
    // The contexts are created with parameters inside zstd's ranges; its
    // calls then fail only when it cannot allocate.
    result.unwrap_or_else(|error| panic!("zstd {what}: {error}"))
}

/// The encoder's end of the stream.
pub struct StreamCompressor {
    context: Encoder<'static>,
}

impl StreamCompressor {
    /// A stream compressing at `level` (inside zstd's range).
    pub fn new(level: i32) -> StreamCompressor {
        let mut context = expect_zstd(Encoder::new(level), "compression context");
        expect_zstd(
            context.set_parameter(CParameter::WindowLog(WINDOW_LOG)),
            "window size",
        );
        StreamCompressor { context }
    }

    /// Starts a new frame: what follows refers to nothing before.
    pub fn reset(&mut self) {
        expect_zstd(self.context.reinit(), "reset");
    }

    /// Compresses `body` as the next part of the stream, appending it to
    /// `out`, flushed so that the decoder can rebuild all of it.
    pub fn compress(&mut self, body: &[u8], out: &mut Vec<u8>) {
        out.reserve(flush_bound(body.len()));
        let mut input = InBuffer::around(body);
        loop {
            let start = out.len();
            let mut output = OutBuffer::around_pos(out, start);
            let pending = if input.pos() < body.len() {
                expect_zstd(self.context.run(&mut input, &mut output), "compression");
                1
            } else {
                expect_zstd(self.context.flush(&mut output), "flush")
            };
            if pending == 0 && input.pos() == body.len() {
                return;
            }
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
        }
    }
}

/// The decoder's end of the stream.
pub struct StreamDecompressor {
    context: Decoder<'static>,
    /// Set when a payload could not be decoded: the context no longer
    /// matches the encoder's, until the next key update.
    lost: bool,
}

impl StreamDecompressor {
    /// A stream accepting histories of up to 2^[`WINDOW_LOG`] bytes.
    pub fn new() -> StreamDecompressor {
        let mut context = expect_zstd(Decoder::new(), "decompression context");
        expect_zstd(
            context.set_parameter(DParameter::WindowLogMax(WINDOW_LOG)),
            "window limit",
        );
        StreamDecompressor {
            context,
            lost: false,
        }
    }

    /// Starts a new frame, as the encoder does at a key update.
    pub fn reset(&mut self) {
        expect_zstd(self.context.reinit(), "reset");
        self.lost = false;
    }

    /// Starts a new frame within the session, as the encoder does before a
    /// large delta body; a lost stream stays lost.
    pub fn restart(&mut self) {
        if !self.lost {
            expect_zstd(self.context.reinit(), "reset");
        }
    }

    /// Decodes `payload`, the next part of the stream, into `body`, which
    /// must come out exactly `body.len()` bytes long. zstd writes into
    /// `body` only, so a payload cannot make it allocate more than its
    /// window. On error the stream is lost until [`reset`](Self::reset).
    pub fn decompress(&mut self, payload: &[u8], body: &mut [u8]) -> Result<(), DecodeError> {
        if self.lost {
            return Err(DecodeError::StreamLost);
        }
        let result = self.run(payload, body);
        self.lost = result.is_err();
        result
    }

    fn run(&mut self, payload: &[u8], body: &mut [u8]) -> Result<(), DecodeError> {
        let expected = body.len();
        let mut input = InBuffer::around(payload);
        let mut output = OutBuffer::around(body);
        loop {
            let (read, written) = (input.pos(), output.pos());
            self.context
                .run(&mut input, &mut output)
                .map_err(|error| DecodeError::Decompress(error.to_string()))?;
            let stalled = input.pos() == read && output.pos() == written;
            if input.pos() == payload.len() && (output.pos() == expected || stalled) {
                break;
            }
            if stalled || output.pos() == expected {
                // Input left but no room, or no progress: more body than
                // announced, or a payload zstd cannot use.
                return Err(DecodeError::LengthMismatch {
                    expected: expected as u64,
                    actual: output.pos() as u64 + 1,
                });
            }
        }
        if output.pos() != expected {
            return Err(DecodeError::LengthMismatch {
                expected: expected as u64,
                actual: output.pos() as u64,
            });
        }
        // Everything the payload holds must be out: zstd may keep decoded
        // bytes back when the output is exactly full.
        let mut probe = [0u8; 1];
        let mut extra = OutBuffer::around(&mut probe[..]);
        self.context
            .run(&mut InBuffer::around(&[]), &mut extra)
            .map_err(|error| DecodeError::Decompress(error.to_string()))?;
        if extra.pos() != 0 {
            return Err(DecodeError::LengthMismatch {
                expected: expected as u64,
                actual: expected as u64 + 1,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u8 / 7).wrapping_mul(seed)).collect()
    }

    #[test]
    fn later_updates_refer_to_earlier_ones() {
        let mut compressor = StreamCompressor::new(1);
        let mut decompressor = StreamDecompressor::new();
        let glyph = body(37, 600);
        let mut sizes = Vec::new();
        for _ in 0..3 {
            let mut payload = Vec::new();
            compressor.compress(&glyph, &mut payload);
            let mut out = vec![0; glyph.len()];
            decompressor.decompress(&payload, &mut out).unwrap();
            assert_eq!(out, glyph);
            sizes.push(payload.len());
        }
        // The repeats cost a few bytes: a match into the history.
        assert!(sizes[1] < 20 && sizes[2] < 20, "{sizes:?}");
        assert!(sizes[0] > sizes[1] * 3, "{sizes:?}");
    }

    #[test]
    fn reset_starts_over_on_both_sides() {
        let mut compressor = StreamCompressor::new(1);
        let mut decompressor = StreamDecompressor::new();
        let data = body(11, 3000);
        let mut payload = Vec::new();
        compressor.compress(&data, &mut payload);
        let mut out = vec![0; data.len()];
        decompressor.decompress(&payload, &mut out).unwrap();
        compressor.reset();
        decompressor.reset();
        let mut again = Vec::new();
        compressor.compress(&data, &mut again);
        // A new frame: no reference to the first payload's bytes.
        assert_eq!(again, payload);
        decompressor.decompress(&again, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn wrong_lengths_and_garbage_lose_the_stream() {
        let mut compressor = StreamCompressor::new(1);
        let data = body(5, 1000);
        let mut payload = Vec::new();
        compressor.compress(&data, &mut payload);
        for len in [999, 1001] {
            let mut decompressor = StreamDecompressor::new();
            let mut out = vec![0; len];
            assert!(matches!(
                decompressor.decompress(&payload, &mut out),
                Err(DecodeError::LengthMismatch { .. })
            ));
            assert!(matches!(
                decompressor.decompress(&payload, &mut out),
                Err(DecodeError::StreamLost)
            ));
            decompressor.reset();
            let mut out = vec![0; data.len()];
            decompressor.decompress(&payload, &mut out).unwrap();
        }
        let mut decompressor = StreamDecompressor::new();
        let mut out = vec![0; 10];
        assert!(decompressor
            .decompress(b"not zstd at all", &mut out)
            .is_err());
    }

    #[test]
    fn windows_larger_than_the_limit_are_refused() {
        let mut encoder = Encoder::new(1).unwrap();
        encoder
            .set_parameter(CParameter::WindowLog(WINDOW_LOG + 2))
            .unwrap();
        let data = body(3, 100);
        let mut payload = Vec::with_capacity(1000);
        let mut input = InBuffer::around(&data);
        let mut output = OutBuffer::around(&mut payload);
        encoder.run(&mut input, &mut output).unwrap();
        encoder.flush(&mut output).unwrap();
        let mut decompressor = StreamDecompressor::new();
        let mut out = vec![0; data.len()];
        assert!(matches!(
            decompressor.decompress(&payload, &mut out),
            Err(DecodeError::Decompress(_))
        ));
    }
}
