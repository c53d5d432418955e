//! Opening the relay's SQLite database, which the audit log and the directory share.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::Connection;

/// How long a connection waits for another's lock (the audit writer's, the directory's, or an
/// admin command's) before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database could not be opened.
pub(crate) enum OpenFailure {
    /// Its directory or file could not be created.
    Create(PathBuf, std::io::Error),
    /// SQLite refused it.
    Database(rusqlite::Error),
}

/// Opens the database at `path` for writing, creating its directory and the file (mode 0600:
/// it holds clients' addresses and machines' keys) if needed. WAL mode, so readers such as
/// `audit verify` and the two writers never block each other's reads.
pub(crate) fn open_for_writing(path: &Path) -> Result<Connection, OpenFailure> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| OpenFailure::Create(dir.to_owned(), e))?;
    }
    // SQLite gives its -wal and -shm files the database file's mode.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| OpenFailure::Create(path.to_owned(), e))?;
    let connection = Connection::open(path).map_err(OpenFailure::Database)?;
    let setup = |connection: &Connection| -> rusqlite::Result<()> {
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        })?;
        connection.pragma_update(None, "synchronous", "NORMAL")
    };
    setup(&connection).map_err(OpenFailure::Database)?;
    Ok(connection)
}
