//! The relay's audit log: every session event it witnesses, one row each, in a SQLite table
//! whose rows form a hash chain so that editing or removing history is detectable.

mod chain;
mod record;
mod report;
mod sampler;
mod since;
mod store;
mod writer;

pub use chain::{
    canonical_bytes, format_head, parse_head, row_hash, verify, verify_with, BreakKind, ChainBreak,
    ChainSummary, ChainVerifier, ChainedRow, Hash, GENESIS,
};
pub use record::{refusal_label, unix_ms, AuditEvent, AuditRecord};
// The session types its rows name, where tests and tools have always found them.
pub use crate::session::{Peer, SessionEnd};
pub use report::{print_rows, Format};
pub use since::parse_since;
pub use store::{AuditError, AuditStore};
pub(crate) use writer::{start as start_writer, AuditLog, AuditWriter};
