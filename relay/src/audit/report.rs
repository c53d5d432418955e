//! `tether-relay audit`: the log as a table for people or as JSON lines for programs.

use std::{
    fmt::Write as _,
    io::Write,
    time::{Duration, SystemTime},
};

use serde::Serialize;
use tether_proto::Printable;

use super::{AuditError, AuditRecord, AuditStore, ChainedRow};

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One aligned line per row, with a header.
    Table,
    /// One JSON object per row and line.
    JsonLines,
}

/// Prints the rows seen at or after `since_ms` to `out`; returns how many there were.
pub fn print_rows(
    store: &AuditStore,
    since_ms: i64,
    format: Format,
    out: &mut impl Write,
) -> Result<u64, AuditError> {
    if format == Format::Table {
        writeln!(
            out,
            "{:>6}  {:<24}  {:<20}  {:>7}  DETAILS",
            "ID", "TIME", "EVENT", "SESSION"
        )?;
    }
    let mut count = 0;
    store.for_each_since(since_ms, |row| {
        count += 1;
        match format {
            Format::Table => writeln!(out, "{}", table_line(row)),
            Format::JsonLines => {
                serde_json::to_writer(&mut *out, &JsonRow::from(row))?;
                writeln!(out)
            }
        }
    })?;
    out.flush()?;
    Ok(count)
}

fn time(at_ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(at_ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

fn table_line(row: &ChainedRow) -> String {
    let record = &row.record;
    let session = record
        .session_id
        .map_or_else(|| "-".to_owned(), |id| id.to_string());
    let mut line = format!(
        "{:>6}  {:<24}  {:<20}  {:>7} ",
        row.id,
        time(record.at_ms),
        record.kind,
        session
    );
    // Names are chosen by clients: quoted and escaped, so they cannot forge table lines.
    let peer = |role: &str, name: &Option<String>, addr: &Option<String>| match (name, addr) {
        (None, None) => String::new(),
        (name, addr) => format!(
            " {role}={:?}@{}",
            name.as_deref().unwrap_or(""),
            addr.as_deref().unwrap_or("?")
        ),
    };
    if let Some(nameplate) = &record.nameplate {
        let _ = write!(line, " nameplate={nameplate}");
    }
    line += &peer("agent", &record.agent_name, &record.agent_addr);
    line += &peer("viewer", &record.viewer_name, &record.viewer_addr);
    // Reasons may quote a client (a TLS error, a group): escaped like names.
    if let Some(reason) = &record.reason {
        let _ = write!(line, " reason={}", Printable(reason));
    }
    if let Some(duration_ms) = record.duration_ms {
        let _ = write!(line, " duration={:.3}s", duration_ms as f64 / 1000.0);
    }
    if let (Some(up), Some(down)) = (record.bytes_to_agent, record.bytes_to_viewer) {
        let _ = write!(line, " bytes_to_agent={up} bytes_to_viewer={down}");
    }
    line
}

/// A row as printed by `--json`.
#[derive(Serialize)]
struct JsonRow<'a> {
    id: u64,
    time: String,
    #[serde(flatten)]
    record: &'a AuditRecord,
    prev_hash: String,
    hash: String,
}

impl<'a> From<&'a ChainedRow> for JsonRow<'a> {
    fn from(row: &'a ChainedRow) -> Self {
        Self {
            id: row.id,
            time: time(row.record.at_ms),
            record: &row.record,
            prev_hash: hex::encode(row.prev_hash),
            hash: hex::encode(row.hash),
        }
    }
}
