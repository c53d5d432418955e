//! Accounting: what an update is made of, so benchmarks can tell where the
//! bytes go.

use crate::record::RecordKind;

/// Records of one kind in an update (or summed over many).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindTally {
    /// Number of records.
    pub records: u64,
    /// Their bytes in the uncompressed body, position and kind included.
    pub body_bytes: u64,
}

/// The composition of one update, as [`Encoder::last_stats`](crate::Encoder::last_stats)
/// reports it. Compression works on the whole body, so only the body bytes
/// are known per record kind; the payload is known per update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Whether it was a key update.
    pub key: bool,
    /// Bytes of the envelope, lossy picture and payload excluded.
    pub header_bytes: usize,
    /// Bytes of the lossy picture (a progressive key update's JPEG).
    pub picture_bytes: usize,
    /// Bytes of the uncompressed body.
    pub body_bytes: usize,
    /// Bytes of the compressed payload.
    pub payload_bytes: usize,
    tallies: [KindTally; RecordKind::ALL.len()],
}

impl UpdateStats {
    /// Nothing counted yet, for a key update or not.
    pub(crate) fn new(key: bool) -> UpdateStats {
        UpdateStats {
            key,
            ..UpdateStats::default()
        }
    }

    /// The records of `kind`.
    pub fn tally(&self, kind: RecordKind) -> KindTally {
        self.tallies[kind.index()]
    }

    /// Counts one record of `kind` taking `bytes` of the body.
    pub(crate) fn count(&mut self, kind: RecordKind, bytes: usize) {
        let tally = &mut self.tallies[kind.index()];
        tally.records += 1;
        tally.body_bytes += bytes as u64;
    }
}
