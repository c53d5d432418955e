//! What can go wrong with the directory.

use std::path::PathBuf;

use super::InvalidName;

/// The directory cannot be opened, read or changed as asked.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The database file or its directory cannot be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but is not a SQLite database.
    #[error("{0} is not a SQLite database")]
    NotADatabase(PathBuf),
    /// SQLite failed.
    #[error("directory {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The directory's tables were written with a schema this relay does not know.
    #[error(
        "directory {path}: schema version {found} is not supported (this relay knows version \
         {supported}; was the database written by a newer relay?)"
    )]
    SchemaVersion {
        /// The database file.
        path: PathBuf,
        /// The version recorded in the file.
        found: i64,
        /// The version this relay writes.
        supported: i64,
    },
    /// A stored row cannot be decoded (edited by hand, or damaged).
    #[error("directory {path}: {row} is unreadable: {reason}")]
    Unreadable {
        /// The database file.
        path: PathBuf,
        /// Which row, e.g. `machine "web-1"`.
        row: String,
        /// Why.
        reason: String,
    },
    /// A machine, group or role name is not allowed.
    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    /// The enrollment credential was used before: each one enrolls one machine, once.
    #[error("enrollment credential {serial:?} was already used, by machine {machine:?}")]
    CredentialUsed {
        /// The credential's serial.
        serial: String,
        /// The machine it enrolled.
        machine: String,
    },
    /// No machine by that name is enrolled.
    #[error("no machine named {0:?} is enrolled")]
    UnknownMachine(String),
}
