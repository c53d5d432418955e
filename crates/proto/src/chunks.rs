//! Frame updates in pieces: [`split_update`] cuts an encoded update into [`FrameChunk`]s that
//! each fit a message; [`UpdateAssembler`] joins them again, with a hard bound on an update's
//! size.

use crate::session::FrameChunk;

/// Cuts `update` into chunks of at most `chunk_bytes` (at least 1) bytes, all carrying `seq`;
/// the last one is marked. An empty update is one empty, last chunk.
pub fn split_update(
    seq: u64,
    update: &[u8],
    chunk_bytes: usize,
) -> impl Iterator<Item = FrameChunk> + '_ {
    let chunk_bytes = chunk_bytes.max(1);
    let count = update.len().div_ceil(chunk_bytes).max(1);
    (0..count).map(move |i| {
        let start = (i * chunk_bytes).min(update.len());
        let end = (start + chunk_bytes).min(update.len());
        FrameChunk {
            seq,
            data: update[start..end].to_vec(),
            last: i + 1 == count,
        }
    })
}

/// A chunk stream the viewer cannot accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssembleError {
    /// An update grew past the bound.
    #[error("frame update {seq} exceeds {max} bytes")]
    TooLarge {
        /// The update's sequence number.
        seq: u64,
        /// The bound.
        max: usize,
    },
    /// A chunk's sequence number broke the order.
    #[error("frame update {got} arrived while {expected} was incomplete or after it")]
    OutOfOrder {
        /// What arrived.
        got: u64,
        /// What the assembler expected (the update in progress, or a later one).
        expected: u64,
    },
}

/// Collects [`FrameChunk`]s into complete updates. Sequence numbers must strictly increase
/// between updates, and every chunk of an update carries the same one.
#[derive(Debug)]
pub struct UpdateAssembler {
    max_bytes: usize,
    current: Option<u64>,
    next_min_seq: u64,
    buf: Vec<u8>,
}

impl UpdateAssembler {
    /// An assembler refusing updates over `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            current: None,
            next_min_seq: 0,
            buf: Vec::new(),
        }
    }

    /// Adds a chunk; returns `(seq, update)` when it completes an update.
    pub fn push(&mut self, chunk: FrameChunk) -> Result<Option<(u64, Vec<u8>)>, AssembleError> {
        match self.current {
            Some(seq) if seq != chunk.seq => {
                return Err(AssembleError::OutOfOrder {
                    got: chunk.seq,
                    expected: seq,
                })
            }
            None if chunk.seq < self.next_min_seq => {
                return Err(AssembleError::OutOfOrder {
                    got: chunk.seq,
                    expected: self.next_min_seq,
                })
            }
            _ => {}
        }
        if self.buf.len() + chunk.data.len() > self.max_bytes {
            return Err(AssembleError::TooLarge {
                seq: chunk.seq,
                max: self.max_bytes,
            });
        }
        self.current = Some(chunk.seq);
        self.buf.extend_from_slice(&chunk.data);
        if !chunk.last {
            return Ok(None);
        }
        self.current = None;
        self.next_min_seq = chunk.seq.saturating_add(1);
        Ok(Some((chunk.seq, std::mem::take(&mut self.buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_then_assemble_round_trips(
            updates in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2000), 1..6),
            chunk_bytes in 1usize..700,
        ) {
            let mut assembler = UpdateAssembler::new(2000);
            for (seq, update) in updates.iter().enumerate() {
                let seq = seq as u64 * 3;
                let mut done = None;
                for chunk in split_update(seq, update, chunk_bytes) {
                    prop_assert!(chunk.data.len() <= chunk_bytes);
                    prop_assert!(done.is_none(), "chunk after the last one");
                    done = assembler.push(chunk).unwrap();
                }
                prop_assert_eq!(done, Some((seq, update.clone())));
            }
        }
    }

    fn chunk(seq: u64, data: &[u8], last: bool) -> FrameChunk {
        FrameChunk {
            seq,
            data: data.to_vec(),
            last,
        }
    }

    #[test]
    fn joins_chunks_of_one_update() {
        let mut a = UpdateAssembler::new(10);
        assert_eq!(a.push(chunk(3, b"ab", false)), Ok(None));
        assert_eq!(
            a.push(chunk(3, b"cd", true)),
            Ok(Some((3, b"abcd".to_vec())))
        );
        assert_eq!(a.push(chunk(5, b"e", true)), Ok(Some((5, b"e".to_vec()))));
    }

    #[test]
    fn refuses_oversized_updates() {
        let mut a = UpdateAssembler::new(4);
        a.push(chunk(0, b"abc", false)).unwrap();
        assert_eq!(
            a.push(chunk(0, b"de", true)),
            Err(AssembleError::TooLarge { seq: 0, max: 4 })
        );
    }

    #[test]
    fn refuses_interleaved_or_repeated_sequence_numbers() {
        let mut a = UpdateAssembler::new(100);
        a.push(chunk(1, b"a", false)).unwrap();
        assert!(a.push(chunk(2, b"b", true)).is_err());
        let mut b = UpdateAssembler::new(100);
        b.push(chunk(4, b"a", true)).unwrap();
        assert!(b.push(chunk(4, b"b", true)).is_err());
        assert!(b.push(chunk(2, b"b", true)).is_err());
    }
}
