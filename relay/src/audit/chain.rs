//! The audit log's hash chain, as pure functions over rows: no database here.
//!
//! Row `id` (1, 2, 3, … without gaps) stores `prev_hash`, the previous row's `hash` (32 zero
//! bytes for row 1), and `hash = SHA-256(prev_hash || canonical(id, record))`, where
//! `canonical` concatenates, in this order:
//!
//! - `id` as 8 bytes big-endian, `at_ms` as 8 bytes big-endian two's complement;
//! - `kind` as a string;
//! - `session_id`, `nameplate`, `agent_addr`, `agent_name`, `viewer_addr`, `viewer_name`,
//!   `reason`, `duration_ms`, `bytes_to_agent`, `bytes_to_viewer`, each optional: byte `0x00`
//!   when absent, else byte `0x01` followed by the value.
//!
//! A string is its UTF-8 length as 8 bytes big-endian, then its bytes; an integer is 8 bytes
//! big-endian. Changing, inserting, deleting or reordering any row breaks the chain at that row
//! or the next one. Deleting the newest rows leaves a shorter valid chain, and anyone who can
//! write the file can recompute every hash: keep the head hash (`audit head`) somewhere else
//! from time to time, and `audit verify --expect-head` checks that the chain still holds it.

use sha2::{Digest, Sha256};

use super::AuditRecord;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// What the first row chains from.
pub const GENESIS: Hash = [0; 32];

/// A row as stored: its position, its content and its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRow {
    /// The row's position in the log, from 1.
    pub id: u64,
    /// What the row says.
    pub record: AuditRecord,
    /// The previous row's hash ([`GENESIS`] for the first row).
    pub prev_hash: Hash,
    /// This row's hash.
    pub hash: Hash,
}

impl ChainedRow {
    /// Links `record` as row `id` after a row whose hash is `prev_hash`.
    pub fn link(id: u64, record: AuditRecord, prev_hash: Hash) -> Self {
        let hash = row_hash(&prev_hash, id, &record);
        Self {
            id,
            record,
            prev_hash,
            hash,
        }
    }
}

/// The canonical bytes of row `id` with content `record` (see the module documentation).
pub fn canonical_bytes(id: u64, record: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&record.at_ms.to_be_bytes());
    put_str(&mut out, &record.kind);
    put_opt_u64(&mut out, record.session_id);
    put_opt_str(&mut out, record.nameplate.as_deref());
    put_opt_str(&mut out, record.agent_addr.as_deref());
    put_opt_str(&mut out, record.agent_name.as_deref());
    put_opt_str(&mut out, record.viewer_addr.as_deref());
    put_opt_str(&mut out, record.viewer_name.as_deref());
    put_opt_str(&mut out, record.reason.as_deref());
    put_opt_u64(&mut out, record.duration_ms);
    put_opt_u64(&mut out, record.bytes_to_agent);
    put_opt_u64(&mut out, record.bytes_to_viewer);
    out
}

/// `SHA-256(prev_hash || canonical_bytes(id, record))`.
pub fn row_hash(prev_hash: &Hash, id: u64, record: &AuditRecord) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical_bytes(id, record));
    hasher.finalize().into()
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put_str(out, value);
        }
    }
}

fn put_opt_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

/// The first row at which a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at row {id}: {problem}")]
pub struct ChainBreak {
    /// The first row that does not verify.
    pub id: u64,
    /// What is wrong with it.
    pub problem: BreakKind,
}

/// What is wrong with the first bad row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakKind {
    /// Rows are missing before it (or ids were rewritten).
    #[error("expected row {expected} here (rows missing or renumbered)")]
    UnexpectedId {
        /// The id the chain expected.
        expected: u64,
    },
    /// Its `prev_hash` is not the previous row's hash.
    #[error("prev_hash does not match the previous row's hash")]
    PrevHashMismatch,
    /// Its content does not hash to its stored `hash`.
    #[error("content does not match its hash (row modified)")]
    HashMismatch,
    /// It cannot be read as an audit row at all.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// The chain ended (at the row before) without the head kept elsewhere.
    #[error(
        "the chain does not hold the kept head sha256:{}: rows were removed from its end, or it \
         was rewritten",
        hex::encode(.0)
    )]
    KeptHeadMissing(Hash),
}

/// A head hash as `audit head` prints it and `--expect-head` takes it: `sha256:` and 64 hex
/// digits (the prefix may be left out).
pub fn parse_head(text: &str) -> Result<Hash, String> {
    let digits = text.strip_prefix("sha256:").unwrap_or(text);
    let mut hash = [0; 32];
    hex::decode_to_slice(digits, &mut hash)
        .map_err(|_| format!("{text:?}: expected sha256: followed by 64 hex digits"))?;
    Ok(hash)
}

/// A head hash as `audit head` prints it.
pub fn format_head(hash: &Hash) -> String {
    format!("sha256:{}", hex::encode(hash))
}

/// An intact chain: how long it is and its newest hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    /// Rows verified.
    pub rows: u64,
    /// The newest row's hash ([`GENESIS`] for an empty log).
    pub head: Hash,
}

/// Checks rows one at a time, oldest first, so a log of any length verifies in constant memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    summary: ChainSummary,
    /// A head kept elsewhere that the chain must hold, until a row is seen with it.
    expected: Option<Hash>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            summary: ChainSummary {
                rows: 0,
                head: GENESIS,
            },
            expected: None,
        }
    }
}

impl ChainVerifier {
    /// A verifier that also requires the chain to hold `kept`, a head recorded earlier: the
    /// hash of one of its rows ([`GENESIS`], the empty log's, is held by every chain).
    pub fn expecting(kept: Hash) -> Self {
        Self {
            expected: (kept != GENESIS).then_some(kept),
            ..Self::default()
        }
    }

    /// After the last row: whether the chain held the head it was expected to.
    pub fn finish(&self) -> Result<ChainSummary, ChainBreak> {
        match self.expected {
            Some(kept) => Err(ChainBreak {
                id: self.summary.rows + 1,
                problem: BreakKind::KeptHeadMissing(kept),
            }),
            None => Ok(self.summary),
        }
    }

    /// Checks the next row.
    pub fn check(&mut self, row: &ChainedRow) -> Result<(), ChainBreak> {
        let expected = self.summary.rows + 1;
        let broken = |problem| ChainBreak {
            id: row.id,
            problem,
        };
        if row.id != expected {
            return Err(broken(BreakKind::UnexpectedId { expected }));
        }
        if row.prev_hash != self.summary.head {
            return Err(broken(BreakKind::PrevHashMismatch));
        }
        if row_hash(&row.prev_hash, row.id, &row.record) != row.hash {
            return Err(broken(BreakKind::HashMismatch));
        }
        self.summary = ChainSummary {
            rows: expected,
            head: row.hash,
        };
        if self.expected == Some(row.hash) {
            self.expected = None;
        }
        Ok(())
    }

    /// The rows verified so far.
    pub fn summary(&self) -> ChainSummary {
        self.summary
    }
}

/// Verifies a whole sequence of rows, oldest first.
pub fn verify<'a>(
    rows: impl IntoIterator<Item = &'a ChainedRow>,
) -> Result<ChainSummary, ChainBreak> {
    verify_with(ChainVerifier::default(), rows)
}

/// Verifies a whole sequence of rows, oldest first, with `verifier` (e.g. one expecting a kept
/// head).
pub fn verify_with<'a>(
    mut verifier: ChainVerifier,
    rows: impl IntoIterator<Item = &'a ChainedRow>,
) -> Result<ChainSummary, ChainBreak> {
    for row in rows {
        verifier.check(row)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, at_ms: i64) -> AuditRecord {
        AuditRecord {
            at_ms,
            kind: kind.to_owned(),
            session_id: Some(7),
            viewer_name: Some("tech".to_owned()),
            ..AuditRecord::default()
        }
    }

    fn chain(len: u64) -> Vec<ChainedRow> {
        let mut rows: Vec<ChainedRow> = Vec::new();
        for id in 1..=len {
            let prev = rows.last().map_or(GENESIS, |row| row.hash);
            rows.push(ChainedRow::link(
                id,
                record("join_accepted", id as i64 * 1000),
                prev,
            ));
        }
        rows
    }

    #[test]
    fn an_untouched_chain_verifies_and_reports_its_head() {
        let rows = chain(4);
        let summary = verify(&rows).unwrap();
        assert_eq!(summary.rows, 4);
        assert_eq!(summary.head, rows[3].hash);
        assert_eq!(verify(&[]).unwrap().head, GENESIS);
    }

    #[test]
    fn the_encoding_is_fixed() {
        let record = AuditRecord {
            at_ms: 1,
            kind: "k".to_owned(),
            nameplate: Some("".to_owned()),
            bytes_to_viewer: Some(2),
            ..AuditRecord::default()
        };
        let mut expected = Vec::new();
        expected.extend(9u64.to_be_bytes()); // id
        expected.extend(1i64.to_be_bytes()); // at_ms
        expected.extend(1u64.to_be_bytes()); // kind: length, then bytes
        expected.push(b'k');
        expected.push(0); // session_id absent
        expected.push(1); // nameplate present: empty
        expected.extend(0u64.to_be_bytes());
        expected.extend([0; 7]); // agent_addr … bytes_to_agent absent
        expected.push(1); // bytes_to_viewer present
        expected.extend(2u64.to_be_bytes());
        assert_eq!(canonical_bytes(9, &record), expected);
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let absent = record("k", 0);
        let empty = AuditRecord {
            reason: Some(String::new()),
            ..absent.clone()
        };
        assert_ne!(
            row_hash(&GENESIS, 1, &absent),
            row_hash(&GENESIS, 1, &empty)
        );
    }

    #[test]
    fn a_modified_row_is_reported_by_id() {
        let mut rows = chain(5);
        rows[2].record.viewer_name = Some("mallory".to_owned());
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.id, 3);
        assert_eq!(broken.problem, BreakKind::HashMismatch);
    }

    #[test]
    fn a_rehashed_row_breaks_the_next_link() {
        let mut rows = chain(5);
        rows[2].record.at_ms += 1;
        rows[2] = ChainedRow::link(3, rows[2].record.clone(), rows[1].hash);
        let broken = verify(&rows).unwrap_err();
        assert_eq!(
            (broken.id, broken.problem),
            (4, BreakKind::PrevHashMismatch)
        );
    }

    #[test]
    fn a_deleted_row_is_detected() {
        let mut rows = chain(5);
        rows.remove(1);
        let broken = verify(&rows).unwrap_err();
        assert_eq!(broken.id, 3);
        assert_eq!(broken.problem, BreakKind::UnexpectedId { expected: 2 });
        let mut first_gone = chain(3);
        first_gone.remove(0);
        assert_eq!(verify(&first_gone).unwrap_err().id, 2);
    }

    #[test]
    fn a_deleted_and_renumbered_row_is_detected() {
        let mut rows = chain(5);
        rows.remove(1);
        for (index, row) in rows.iter_mut().enumerate() {
            row.id = index as u64 + 1;
        }
        let broken = verify(&rows).unwrap_err();
        assert_eq!(
            (broken.id, broken.problem),
            (2, BreakKind::PrevHashMismatch)
        );
    }

    #[test]
    fn swapped_rows_are_detected() {
        let mut rows = chain(5);
        rows.swap(1, 3);
        assert_eq!(verify(&rows).unwrap_err().id, 4);
        // Swapping contents but keeping ids in order still breaks the links.
        let mut rows = chain(5);
        let (second, fourth) = (rows[1].clone(), rows[3].clone());
        rows[1] = ChainedRow { id: 2, ..fourth };
        rows[3] = ChainedRow { id: 4, ..second };
        assert_eq!(verify(&rows).unwrap_err().id, 2);
    }

    #[test]
    fn truncating_the_newest_rows_shows_only_as_an_older_head() {
        let rows = chain(5);
        let full = verify(&rows).unwrap();
        let truncated = verify(&rows[..3]).unwrap();
        assert_ne!(full.head, truncated.head);
        assert_eq!(truncated.rows, 3);
    }

    #[test]
    fn a_kept_head_is_found_in_a_chain_that_grew_and_missed_in_one_cut_below_it() {
        let rows = chain(5);
        let kept = rows[2].hash;
        assert_eq!(
            verify_with(ChainVerifier::expecting(kept), &rows)
                .unwrap()
                .rows,
            5
        );
        let cut = verify_with(ChainVerifier::expecting(kept), &rows[..2]).unwrap_err();
        assert_eq!((cut.id, cut.problem), (3, BreakKind::KeptHeadMissing(kept)));
        assert!(verify_with(ChainVerifier::expecting(GENESIS), &[]).is_ok());
    }

    #[test]
    fn a_rewritten_chain_does_not_hold_the_kept_head_even_when_it_verifies() {
        // Whoever can write the file can recompute every hash: only a head kept elsewhere
        // shows it.
        let rows = chain(5);
        let kept = rows[4].hash;
        let mut forged: Vec<ChainedRow> = Vec::new();
        for row in &rows {
            let mut record = row.record.clone();
            record.viewer_name = Some("nobody".to_owned());
            let prev = forged.last().map_or(GENESIS, |row| row.hash);
            forged.push(ChainedRow::link(row.id, record, prev));
        }
        assert!(verify(&forged).is_ok());
        let caught = verify_with(ChainVerifier::expecting(kept), &forged).unwrap_err();
        assert_eq!(caught.problem, BreakKind::KeptHeadMissing(kept));
    }

    #[test]
    fn heads_print_and_parse_back() {
        let hash = chain(1)[0].hash;
        let printed = format_head(&hash);
        assert!(printed.starts_with("sha256:") && printed.len() == 71);
        assert_eq!(parse_head(&printed), Ok(hash));
        assert_eq!(parse_head(&printed[7..]), Ok(hash));
        assert!(parse_head("sha256:abc").is_err());
        assert!(parse_head(&format!("md5:{}", &printed[7..])).is_err());
    }
}
