//! Length-prefixed framing: each message is a little-endian `u32` byte length followed by that
//! many bytes of postcard-encoded body.
//!
//! [`Deframer`] is the receiving half as a sans-IO state machine: feed it bytes as they arrive and
//! pull complete messages out. It never buffers more than one message plus the last chunk fed,
//! and rejects a length prefix above its limit before reading the body.

use serde::{de::DeserializeOwned, Serialize};

use crate::ProtoError;

/// The hard upper bound on one message's body, in bytes. Frame updates larger than this are
/// split into chunks by the sender (see [`crate::session::FrameChunk`]).
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

const PREFIX_LEN: usize = 4;

/// Appends `message`, length-prefixed, to `out`.
///
/// Fails only if the encoded body exceeds [`MAX_MESSAGE_SIZE`], which for the caller is a bug
/// (it must chunk large payloads), reported as an error rather than a panic.
pub fn encode_message<T: Serialize>(message: &T, out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let start = out.len();
    out.extend_from_slice(&[0; PREFIX_LEN]);
    let mut out_vec = std::mem::take(out);
    out_vec = postcard::to_extend(message, out_vec)?;
    *out = out_vec;
    let len = out.len() - start - PREFIX_LEN;
    if len > MAX_MESSAGE_SIZE {
        out.truncate(start);
        return Err(ProtoError::MessageTooLarge {
            len,
            max: MAX_MESSAGE_SIZE,
        });
    }
    // `len` fits in u32 because it is at most MAX_MESSAGE_SIZE.
    out[start..start + PREFIX_LEN].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Reassembles length-prefixed messages from a byte stream.
#[derive(Debug)]
pub struct Deframer {
    buf: Vec<u8>,
    max: usize,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new(MAX_MESSAGE_SIZE)
    }
}

impl Deframer {
    /// A deframer that rejects bodies larger than `max` bytes (at most [`MAX_MESSAGE_SIZE`]).
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max: max.min(MAX_MESSAGE_SIZE),
        }
    }

    /// Appends bytes received from the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next complete message body, `Ok(None)` if more bytes are needed, or an error
    /// if the stream announced an oversized message (the connection must then be dropped).
    pub fn next_body(&mut self) -> Result<Option<Vec<u8>>, ProtoError> {
        let Some(prefix) = self.buf.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let mut len_bytes = [0; PREFIX_LEN];
        len_bytes.copy_from_slice(prefix);
        let len = u32::from_le_bytes(len_bytes) as usize;
        if len > self.max {
            return Err(ProtoError::MessageTooLarge { len, max: self.max });
        }
        if self.buf.len() < PREFIX_LEN + len {
            return Ok(None);
        }
        let rest = self.buf.split_off(PREFIX_LEN + len);
        let mut body = std::mem::replace(&mut self.buf, rest);
        body.drain(..PREFIX_LEN);
        Ok(Some(body))
    }

    /// Like [`Deframer::next_body`], then parses the body as `T`, within its fields'
    /// [`crate::bounds`].
    pub fn next_message<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ProtoError> {
        match self.next_body()? {
            Some(body) => Ok(Some(crate::bounds::decode(&body)?)),
            None => Ok(None),
        }
    }

    /// Call when the stream has ended: an error if it ended inside a message.
    pub fn finish(&self) -> Result<(), ProtoError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtoError::Truncated {
                buffered: self.buf.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{AgentMessage, FrameChunk};
    use proptest::prelude::*;

    fn chunk(seq: u64, data: Vec<u8>) -> AgentMessage {
        AgentMessage::Frame(FrameChunk {
            seq,
            data,
            last: true,
        })
    }

    #[test]
    fn oversized_prefix_is_rejected_before_the_body_arrives() {
        let mut d = Deframer::new(16);
        d.feed(&17u32.to_le_bytes());
        assert!(matches!(
            d.next_body(),
            Err(ProtoError::MessageTooLarge { len: 17, max: 16 })
        ));
    }

    #[test]
    fn encoder_refuses_bodies_over_the_limit_and_leaves_output_intact() {
        let mut out = vec![1, 2, 3];
        let err = encode_message(&chunk(1, vec![0; MAX_MESSAGE_SIZE]), &mut out);
        assert!(matches!(err, Err(ProtoError::MessageTooLarge { .. })));
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn truncated_stream_is_reported_at_finish() {
        let mut bytes = Vec::new();
        encode_message(&chunk(7, vec![9; 100]), &mut bytes).unwrap();
        let mut d = Deframer::default();
        d.feed(&bytes[..50]);
        assert!(d.next_body().unwrap().is_none());
        assert!(matches!(
            d.finish(),
            Err(ProtoError::Truncated { buffered: 50 })
        ));
    }

    #[test]
    fn body_of_the_wrong_type_is_malformed() {
        let mut bytes = Vec::new();
        encode_message(&u8::MAX, &mut bytes).unwrap();
        let mut d = Deframer::default();
        d.feed(&bytes);
        assert!(matches!(
            d.next_message::<AgentMessage>(),
            Err(ProtoError::Malformed(_))
        ));
    }

    proptest! {
        #[test]
        fn messages_round_trip_through_any_chunking(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
            cut in 1usize..64,
        ) {
            let messages: Vec<AgentMessage> = payloads
                .into_iter()
                .enumerate()
                .map(|(i, p)| chunk(i as u64, p))
                .collect();
            let mut stream = Vec::new();
            for m in &messages {
                encode_message(m, &mut stream).unwrap();
            }
            let mut d = Deframer::default();
            let mut got = Vec::new();
            for piece in stream.chunks(cut) {
                d.feed(piece);
                while let Some(m) = d.next_message::<AgentMessage>().unwrap() {
                    got.push(m);
                }
            }
            d.finish().unwrap();
            prop_assert_eq!(got, messages);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let mut d = Deframer::new(1024);
            d.feed(&bytes);
            // Any mix of messages, errors and "need more" is fine; panics and unbounded
            // buffering are not.
            for _ in 0..bytes.len() + 1 {
                match d.next_message::<AgentMessage>() {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
            prop_assert!(d.buffered() <= bytes.len());
        }
    }
}
