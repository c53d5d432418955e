//! The directory's tables, created (with the default policy) the first time a database is
//! opened, and the version that tells later relays what they are reading.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The schema this relay writes. Bump it, with a migration, when the tables change.
pub(super) const VERSION: i64 = 1;

/// Component versions; shared-database friendly, unlike `PRAGMA user_version`, which the
/// audit log or a later component might also want.
const VERSIONS: &str = "
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) STRICT;
";

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS machines (
    name TEXT PRIMARY KEY,
    group_name TEXT NOT NULL,
    machine_key BLOB NOT NULL CHECK (length(machine_key) = 32),
    enrollment_cert BLOB NOT NULL,
    endorsement BLOB NOT NULL,
    enrolled_at_ms INTEGER NOT NULL,
    last_seen_ms INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS enrollment_credentials (
    serial TEXT PRIMARY KEY,
    machine TEXT NOT NULL,
    used_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS technicians (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    serial TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS policy_rules (
    role TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (role, target)
) STRICT;
";

/// The rule a new directory starts with, so the first admin is not locked out.
const DEFAULT_RULE: (&str, &str) = ("admin", "*");

/// What [`prepare`] found.
pub(super) enum Prepared {
    /// The tables are there, at [`VERSION`].
    Ready,
    /// The file holds a directory of another version.
    Unsupported(i64),
}

/// Creates the tables and the default rule if the directory is new; checks the version if not.
/// One immediate transaction, so two processes opening a new file at once seed it once.
pub(super) fn prepare(connection: &mut Connection) -> rusqlite::Result<Prepared> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(VERSIONS)?;
    let found: Option<i64> = transaction
        .query_row(
            "SELECT version FROM schema_versions WHERE component = 'directory'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match found {
        None => {
            transaction.execute_batch(TABLES)?;
            transaction.execute(
                "INSERT OR IGNORE INTO policy_rules (role, target) VALUES (?1, ?2)",
                DEFAULT_RULE,
            )?;
            transaction.execute(
                "INSERT INTO schema_versions (component, version) VALUES ('directory', ?1)",
                [VERSION],
            )?;
        }
        Some(VERSION) => {}
        Some(other) => return Ok(Prepared::Unsupported(other)),
    }
    transaction.commit()?;
    Ok(Prepared::Ready)
}
