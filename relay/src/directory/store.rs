//! Opening the directory: the database file, its connection settings and its tables.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode};

use super::{
    schema::{self, Prepared},
    DirectoryError,
};
use crate::database::{open_for_writing, OpenFailure};

/// The relay's directory of machines, technicians and access rules, in its SQLite database.
pub struct Directory {
    pub(super) connection: Connection,
    pub(super) path: PathBuf,
}

impl Directory {
    /// Opens the directory in the database at `path`, creating the file (mode 0600: it holds
    /// machines' credentials), its directory and the tables if needed. A new directory starts
    /// with one rule: role `admin` may reach `*`.
    pub fn open(path: &Path) -> Result<Self, DirectoryError> {
        let mut connection = match open_for_writing(path) {
            Ok(connection) => connection,
            Err(OpenFailure::Create(path, source)) => {
                return Err(DirectoryError::Create { path, source })
            }
            Err(OpenFailure::Database(source)) => return Err(database(path)(source)),
        };
        match schema::prepare(&mut connection).map_err(database(path))? {
            Prepared::Ready => Ok(Self {
                connection,
                path: path.to_owned(),
            }),
            Prepared::Unsupported(found) => Err(DirectoryError::SchemaVersion {
                path: path.to_owned(),
                found,
                supported: schema::VERSION,
            }),
        }
    }
}

/// Maps SQLite's errors on the file at `path`.
pub(super) fn database(path: &Path) -> impl Fn(rusqlite::Error) -> DirectoryError + '_ {
    move |source| match source.sqlite_error_code() {
        // SQLite's own wording ("file is not a database") does not say which file.
        Some(ErrorCode::NotADatabase) => DirectoryError::NotADatabase(path.to_owned()),
        _ => DirectoryError::Database {
            path: path.to_owned(),
            source,
        },
    }
}

/// A stored `row` of the file at `path` cannot be decoded, for `reason`.
pub(super) fn unreadable(path: &Path, row: String, reason: String) -> DirectoryError {
    DirectoryError::Unreadable {
        path: path.to_owned(),
        row,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::{
        audit::{AuditRecord, AuditStore},
        directory::{testing::new_machine, Rule, Target},
    };

    #[test]
    fn the_directory_can_move_to_a_blocking_task() {
        fn assert_send<T: Send>() {}
        assert_send::<Directory>();
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        std::fs::write(&path, "this is a text file, not a database\n".repeat(100)).unwrap();
        let error = Directory::open(&path).err().unwrap();
        assert!(matches!(&error, DirectoryError::NotADatabase(p) if *p == path));
        assert!(
            error.to_string().contains("is not a SQLite database"),
            "{error}"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let directory = Directory::open(&path).unwrap();
        directory
            .connection
            .execute("UPDATE schema_versions SET version = 7", [])
            .unwrap();
        drop(directory);
        assert!(matches!(
            Directory::open(&path),
            Err(DirectoryError::SchemaVersion {
                found: 7,
                supported: 1,
                ..
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_database_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("relay.db");
        Directory::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_audit_log_and_the_directory_share_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let mut audit = AuditStore::open(&path).unwrap();
        let mut directory = Directory::open(&path).unwrap();
        let now = SystemTime::now();
        // Interleaved writes through both connections, both kept open.
        audit
            .append(&[AuditRecord {
                kind: "a".into(),
                ..AuditRecord::default()
            }])
            .unwrap();
        directory
            .enroll(new_machine("web-1", "web", "s1"), now)
            .unwrap();
        audit
            .append(&[AuditRecord {
                kind: "b".into(),
                ..AuditRecord::default()
            }])
            .unwrap();
        directory.technician_seen("ann", "ops", "t1", now).unwrap();
        assert_eq!(audit.verify().unwrap().unwrap().rows, 2);
        drop((audit, directory));

        let directory = Directory::open(&path).unwrap();
        assert_eq!(directory.machines().unwrap().len(), 1);
        assert_eq!(directory.technicians().unwrap().len(), 1);
        assert_eq!(
            directory.rules().unwrap(),
            [Rule {
                role: "admin".into(),
                target: Target::Everything
            }]
        );
        let audit = AuditStore::open(&path).unwrap();
        assert_eq!(audit.verify().unwrap().unwrap().rows, 2);
    }
}
