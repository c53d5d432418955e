//! Sealed records: one session message per ChaCha20-Poly1305 ciphertext, in order.
//!
//! Each direction has its own key and counts its records from 0; the count is the nonce, never
//! sent. A record that was altered, dropped, replayed or moved therefore fails to open. The
//! last plaintext byte says whether the record carries data or closes the direction, so a
//! stream cut short (no close record before the end) is told apart from a finished one.

use ring::aead::{self, Aad, LessSafeKey, Nonce};
use tether_proto::MAX_MESSAGE_SIZE;

use crate::E2eError;

/// Bytes a sealed record adds to its message: the kind byte and the 16-byte tag.
pub const RECORD_OVERHEAD: usize = 1 + 16;
/// Largest message one record carries, so that the record fits a protocol message.
const MAX_PLAINTEXT: usize = MAX_MESSAGE_SIZE - RECORD_OVERHEAD - 16;

const KIND_DATA: u8 = 0;
const KIND_CLOSE: u8 = 1;

/// Seals the messages one side sends.
pub struct Sealer {
    key: LessSafeKey,
    next_seq: u64,
}

impl Sealer {
    pub(crate) fn new(key: LessSafeKey) -> Self {
        Self { key, next_seq: 0 }
    }

    /// Seals one message.
    pub fn seal(&mut self, message: &[u8]) -> Result<Vec<u8>, E2eError> {
        if message.len() > MAX_PLAINTEXT {
            return Err(E2eError::RecordTooLarge {
                len: message.len(),
                max: MAX_PLAINTEXT,
            });
        }
        self.seal_kind(KIND_DATA, message)
    }

    /// Seals the record that closes this direction; nothing may be sealed after it.
    pub fn seal_close(&mut self) -> Result<Vec<u8>, E2eError> {
        let record = self.seal_kind(KIND_CLOSE, &[])?;
        self.next_seq = u64::MAX;
        Ok(record)
    }

    fn seal_kind(&mut self, kind: u8, message: &[u8]) -> Result<Vec<u8>, E2eError> {
        let seq = self.next_seq;
        if seq == u64::MAX {
            return Err(E2eError::SequenceExhausted);
        }
        let mut record = Vec::with_capacity(message.len() + RECORD_OVERHEAD);
        record.extend_from_slice(message);
        record.push(kind);
        self.key
            .seal_in_place_append_tag(nonce(seq), Aad::empty(), &mut record)
            .map_err(|_| E2eError::SequenceExhausted)?;
        self.next_seq += 1;
        Ok(record)
    }
}

/// What an opened record held.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// One message.
    Data(Vec<u8>),
    /// The peer closed its direction cleanly.
    Close,
}

/// Opens the records the peer sends, strictly in order.
pub struct Opener {
    key: LessSafeKey,
    next_seq: u64,
    closed: bool,
}

impl Opener {
    pub(crate) fn new(key: LessSafeKey) -> Self {
        Self {
            key,
            next_seq: 0,
            closed: false,
        }
    }

    /// Authenticates and decrypts the next record.
    pub fn open(&mut self, mut record: Vec<u8>) -> Result<Opened, E2eError> {
        if self.closed {
            return Err(E2eError::RecordAfterClose);
        }
        let seq = self.next_seq;
        let rejected = E2eError::RecordRejected { seq };
        let plaintext_len = self
            .key
            .open_in_place(nonce(seq), Aad::empty(), &mut record)
            .map_err(|_| rejected.clone())?
            .len();
        self.next_seq = seq.checked_add(1).ok_or(E2eError::SequenceExhausted)?;
        record.truncate(plaintext_len);
        match record.pop() {
            Some(KIND_DATA) => Ok(Opened::Data(record)),
            Some(KIND_CLOSE) if record.is_empty() => {
                self.closed = true;
                Ok(Opened::Close)
            }
            // Authentic but malformed: only a broken peer seals this.
            _ => Err(rejected),
        }
    }

    /// Called when the stream ends: fine after the peer's close record, truncation otherwise.
    pub fn finish(&self) -> Result<(), E2eError> {
        if self.closed {
            Ok(())
        } else {
            Err(E2eError::Truncated)
        }
    }
}

/// The nonce of record `seq`: 4 zero bytes, then the sequence number big-endian.
fn nonce(seq: u64) -> Nonce {
    let mut bytes = [0u8; aead::NONCE_LEN];
    bytes[4..].copy_from_slice(&seq.to_be_bytes());
    Nonce::assume_unique_for_key(bytes)
}
