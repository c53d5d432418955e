//! Getting audit rows from async tasks to the database without ever making them wait: a bounded
//! queue to one writer thread, which appends whatever has queued up in one transaction.

use std::{
    sync::mpsc::{self, Receiver, SyncSender, TrySendError},
    thread::JoinHandle,
    time::SystemTime,
};

use prometheus_client::metrics::counter::Counter;
use tracing::{error, warn};

use super::{AuditEvent, AuditRecord, AuditStore};

/// Rows that may wait for the writer; beyond it new rows are dropped, not waited for.
const QUEUE_CAPACITY: usize = 4096;
/// Most rows written in one transaction.
const MAX_BATCH: usize = 512;
/// A warning is logged for the first dropped row and then every this many.
const DROP_WARNING_EVERY: u64 = 1000;

/// Where tasks record audit events. Cheap to clone; recording never blocks.
#[derive(Clone)]
pub struct AuditLog {
    queue: SyncSender<AuditRecord>,
    dropped: Counter,
}

/// The writer thread; it ends once every [`AuditLog`] is dropped and the queue is written.
pub struct AuditWriter {
    thread: JoinHandle<()>,
}

/// Starts the writer thread for `store`; rows that cannot be queued or written are counted in
/// `dropped`.
pub fn start(store: AuditStore, dropped: Counter) -> std::io::Result<(AuditLog, AuditWriter)> {
    let (queue, rows) = mpsc::sync_channel(QUEUE_CAPACITY);
    let writer_dropped = dropped.clone();
    let thread = std::thread::Builder::new()
        .name("tether-relay-audit".to_owned())
        .spawn(move || write_rows(store, rows, writer_dropped))?;
    Ok((AuditLog { queue, dropped }, AuditWriter { thread }))
}

impl AuditLog {
    /// Queues `event`, stamped with the current time. If the writer is behind (or gone), the
    /// row is dropped and counted: forwarding sessions matters more than auditing them.
    pub fn record(&self, event: AuditEvent) {
        let record = event.into_record(SystemTime::now());
        if let Err(failed) = self.queue.try_send(record) {
            let why = match failed {
                TrySendError::Full(_) => "queue full",
                TrySendError::Disconnected(_) => "writer stopped",
            };
            note_dropped(&self.dropped, 1, why);
        }
    }
}

impl AuditWriter {
    /// Waits for the thread to write what was queued. Call once every [`AuditLog`] is dropped.
    pub fn finish(self) {
        if self.thread.join().is_err() {
            error!("the audit writer thread panicked");
        }
    }
}

fn write_rows(mut store: AuditStore, rows: Receiver<AuditRecord>, dropped: Counter) {
    while let Ok(first) = rows.recv() {
        let mut batch = vec![first];
        batch.extend(rows.try_iter().take(MAX_BATCH - 1));
        if let Err(e) = store.append(&batch) {
            error!("cannot write to the audit log: {e}");
            note_dropped(&dropped, batch.len() as u64, "write failed");
        }
    }
}

fn note_dropped(dropped: &Counter, rows: u64, why: &str) {
    let before = dropped.inc_by(rows);
    if before / DROP_WARNING_EVERY != (before + rows) / DROP_WARNING_EVERY || before == 0 {
        warn!(dropped = before + rows, "audit rows dropped: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::SessionEnd;

    fn event() -> AuditEvent {
        AuditEvent::SessionEnded {
            session_id: 1,
            reason: SessionEnd::ViewerDisconnected,
            duration: std::time::Duration::ZERO,
            bytes_to_agent: 0,
            bytes_to_viewer: 0,
        }
    }

    #[test]
    fn a_full_queue_or_a_stopped_writer_drops_and_counts_instead_of_waiting() {
        let (queue, rows) = mpsc::sync_channel(1);
        let log = AuditLog {
            queue,
            dropped: Counter::default(),
        };
        log.record(event());
        log.record(event());
        assert_eq!(log.dropped.get(), 1);
        assert_eq!(rows.try_iter().count(), 1);
        drop(rows);
        log.record(event());
        assert_eq!(log.dropped.get(), 2);
    }

    #[test]
    fn the_writer_writes_everything_queued_before_it_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let dropped = Counter::default();
        let (log, writer) = start(AuditStore::open(&path).unwrap(), dropped.clone()).unwrap();
        for _ in 0..1000 {
            log.record(event());
        }
        drop(log);
        writer.finish();
        let summary = AuditStore::open_read_only(&path)
            .unwrap()
            .verify()
            .unwrap()
            .unwrap();
        assert_eq!(summary.rows + dropped.get(), 1000);
        assert_eq!(dropped.get(), 0, "1000 rows fit in the queue");
    }
}
