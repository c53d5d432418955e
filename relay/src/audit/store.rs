//! The audit log's SQLite table: appending chained rows, reading them back, verifying them.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, Row};

use super::{
    chain::{row_hash, BreakKind, ChainBreak, ChainSummary, ChainVerifier, ChainedRow, Hash},
    AuditRecord, GENESIS,
};
use crate::database::{open_for_writing, OpenFailure, BUSY_TIMEOUT};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    session_id INTEGER,
    nameplate TEXT,
    agent_addr TEXT,
    agent_name TEXT,
    viewer_addr TEXT,
    viewer_name TEXT,
    reason TEXT,
    duration_ms INTEGER,
    bytes_to_agent INTEGER,
    bytes_to_viewer INTEGER,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_log_at_ms ON audit_log (at_ms);
";

const COLUMNS: &str = "id, at_ms, kind, session_id, nameplate, agent_addr, agent_name, \
    viewer_addr, viewer_name, reason, duration_ms, bytes_to_agent, bytes_to_viewer, prev_hash, hash";

/// The audit log cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// There is no database at the path.
    #[error("no audit log at {0}")]
    Missing(PathBuf),
    /// The database file or its directory cannot be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("audit log {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A row cannot be decoded (see `audit verify`).
    #[error("audit log {path}: row {id} is unreadable: {reason}")]
    Unreadable {
        /// The database file.
        path: PathBuf,
        /// The row.
        id: i64,
        /// Why.
        reason: String,
    },
    /// The caller's output failed (e.g. a closed pipe).
    #[error("cannot write the audit log out: {0}")]
    Output(#[from] std::io::Error),
}

/// An open audit log database.
pub struct AuditStore {
    connection: Connection,
    path: PathBuf,
    /// The newest row's id and hash: where the next row chains from.
    head: (u64, Hash),
}

impl AuditStore {
    /// Opens the log for appending, creating the file (mode 0600: it holds clients' addresses
    /// and names), its directory and the table if needed. WAL mode: readers such as
    /// `audit verify` never block the relay's writes.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let connection = match open_for_writing(path) {
            Ok(connection) => connection,
            Err(OpenFailure::Create(path, source)) => {
                return Err(AuditError::Create { path, source })
            }
            Err(OpenFailure::Database(source)) => return Err(database(path)(source)),
        };
        connection.execute_batch(SCHEMA).map_err(database(path))?;
        Self::with_head(connection, path)
    }

    /// Opens an existing log for reading only.
    pub fn open_read_only(path: &Path) -> Result<Self, AuditError> {
        if !path.is_file() {
            return Err(AuditError::Missing(path.to_owned()));
        }
        let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(database(path))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(database(path))?;
        Self::with_head(connection, path)
    }

    fn with_head(connection: Connection, path: &Path) -> Result<Self, AuditError> {
        let newest = connection.query_row(
            "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)),
        );
        let head = match newest {
            Ok((id, hash)) => {
                let unreadable = |reason: &str| AuditError::Unreadable {
                    path: path.to_owned(),
                    id,
                    reason: reason.to_owned(),
                };
                let id = u64::try_from(id).map_err(|_| unreadable("negative id"))?;
                let hash = Hash::try_from(hash).map_err(|_| unreadable("hash is not 32 bytes"))?;
                (id, hash)
            }
            Err(rusqlite::Error::QueryReturnedNoRows) => (0, GENESIS),
            Err(e) => return Err(database(path)(e)),
        };
        Ok(Self {
            connection,
            path: path.to_owned(),
            head,
        })
    }

    /// Appends `records` in order, chained after the newest row, in one transaction: all are
    /// written or none.
    pub fn append(&mut self, records: &[AuditRecord]) -> Result<(), AuditError> {
        let (mut id, mut prev_hash) = self.head;
        let transaction = self
            .connection
            .transaction()
            .map_err(database(&self.path))?;
        {
            let mut insert = transaction
                .prepare_cached(&format!(
                    "INSERT INTO audit_log ({COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ))
                .map_err(database(&self.path))?;
            for record in records {
                id += 1;
                let hash = row_hash(&prev_hash, id, record);
                insert
                    .execute(params![
                        id,
                        record.at_ms,
                        record.kind,
                        record.session_id,
                        record.nameplate,
                        record.agent_addr,
                        record.agent_name,
                        record.viewer_addr,
                        record.viewer_name,
                        record.reason,
                        record.duration_ms,
                        record.bytes_to_agent,
                        record.bytes_to_viewer,
                        &prev_hash[..],
                        &hash[..],
                    ])
                    .map_err(database(&self.path))?;
                prev_hash = hash;
            }
        }
        transaction.commit().map_err(database(&self.path))?;
        self.head = (id, prev_hash);
        Ok(())
    }

    /// Calls `visit` with every row seen at or after `since_ms` (milliseconds since the Unix
    /// epoch), oldest first.
    pub fn for_each_since(
        &self,
        since_ms: i64,
        mut visit: impl FnMut(&ChainedRow) -> std::io::Result<()>,
    ) -> Result<(), AuditError> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE at_ms >= ?1 ORDER BY id"
            ))
            .map_err(database(&self.path))?;
        let mut rows = statement.query([since_ms]).map_err(database(&self.path))?;
        while let Some(row) = rows.next().map_err(database(&self.path))? {
            let id = row.get::<_, i64>(0).map_err(database(&self.path))?;
            let decoded = decode(row).map_err(|reason| AuditError::Unreadable {
                path: self.path.clone(),
                id,
                reason,
            })?;
            visit(&decoded)?;
        }
        Ok(())
    }

    /// Recomputes the whole chain, oldest row first: `Ok(Err(_))` names the first bad row.
    pub fn verify(&self) -> Result<Result<ChainSummary, ChainBreak>, AuditError> {
        self.verify_with(ChainVerifier::default())
    }

    /// Like [`AuditStore::verify`], with `verifier` (e.g. one expecting a head kept elsewhere).
    pub fn verify_with(
        &self,
        mut verifier: ChainVerifier,
    ) -> Result<Result<ChainSummary, ChainBreak>, AuditError> {
        let mut statement = self
            .connection
            .prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY id"))
            .map_err(database(&self.path))?;
        let mut rows = statement.query([]).map_err(database(&self.path))?;
        while let Some(row) = rows.next().map_err(database(&self.path))? {
            let id = row.get::<_, i64>(0).map_err(database(&self.path))?;
            let checked = decode(row)
                .map_err(|reason| ChainBreak {
                    // A negative id cannot be the next row: report it as the row after the
                    // last good one.
                    id: u64::try_from(id).unwrap_or(verifier.summary().rows + 1),
                    problem: BreakKind::Unreadable(reason),
                })
                .and_then(|row| verifier.check(&row));
            if let Err(broken) = checked {
                return Ok(Err(broken));
            }
        }
        Ok(verifier.finish())
    }

    /// The newest row's id and hash (0 and [`GENESIS`] for an empty log), unverified.
    pub fn head(&self) -> (u64, Hash) {
        self.head
    }
}

fn database(path: &Path) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
    move |source| AuditError::Database {
        path: path.to_owned(),
        source,
    }
}

/// Reads one row selected with [`COLUMNS`].
fn decode(row: &Row<'_>) -> Result<ChainedRow, String> {
    let hash = |index: usize| -> Result<Hash, String> {
        let bytes: Vec<u8> = row.get(index).map_err(|e| e.to_string())?;
        Hash::try_from(bytes).map_err(|bytes| format!("a hash of {} bytes", bytes.len()))
    };
    let read = || -> rusqlite::Result<(u64, AuditRecord)> {
        Ok((
            row.get(0)?,
            AuditRecord {
                at_ms: row.get(1)?,
                kind: row.get(2)?,
                session_id: row.get(3)?,
                nameplate: row.get(4)?,
                agent_addr: row.get(5)?,
                agent_name: row.get(6)?,
                viewer_addr: row.get(7)?,
                viewer_name: row.get(8)?,
                reason: row.get(9)?,
                duration_ms: row.get(10)?,
                bytes_to_agent: row.get(11)?,
                bytes_to_viewer: row.get(12)?,
            },
        ))
    };
    let (id, record) = read().map_err(|e| e.to_string())?;
    Ok(ChainedRow {
        id,
        record,
        prev_hash: hash(13)?,
        hash: hash(14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str) -> AuditRecord {
        AuditRecord {
            at_ms: 1_000,
            kind: kind.to_owned(),
            agent_name: Some("desk".to_owned()),
            bytes_to_agent: Some(42),
            ..AuditRecord::default()
        }
    }

    #[test]
    fn rows_append_across_reopenings_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("relay.db");
        let mut store = AuditStore::open(&path).unwrap();
        store.append(&[record("a"), record("b")]).unwrap();
        drop(store);
        let mut store = AuditStore::open(&path).unwrap();
        store.append(&[record("c")]).unwrap();
        let summary = store.verify().unwrap().unwrap();
        assert_eq!(summary.rows, 3);

        let reader = AuditStore::open_read_only(&path).unwrap();
        let mut kinds = Vec::new();
        reader
            .for_each_since(0, |row| {
                kinds.push((row.id, row.record.kind.clone()));
                assert_eq!(row.record, record(&row.record.kind));
                Ok(())
            })
            .unwrap();
        assert_eq!(kinds, [(1, "a".into()), (2, "b".into()), (3, "c".into())]);
    }

    #[test]
    fn an_edit_through_sql_is_reported_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let mut store = AuditStore::open(&path).unwrap();
        store
            .append(&[record("a"), record("b"), record("c")])
            .unwrap();
        store
            .connection
            .execute("UPDATE audit_log SET bytes_to_agent = 1 WHERE id = 2", [])
            .unwrap();
        let broken = store.verify().unwrap().unwrap_err();
        assert_eq!((broken.id, broken.problem), (2, BreakKind::HashMismatch));
        store
            .connection
            .execute("UPDATE audit_log SET hash = x'00' WHERE id = 1", [])
            .unwrap();
        let broken = store.verify().unwrap().unwrap_err();
        assert_eq!(broken.id, 1);
        assert!(matches!(broken.problem, BreakKind::Unreadable(_)));
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        AuditStore::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_file_is_not_created_by_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        assert!(matches!(
            AuditStore::open_read_only(&path),
            Err(AuditError::Missing(_))
        ));
        assert!(!path.exists());
    }
}
