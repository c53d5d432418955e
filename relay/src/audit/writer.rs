//! Getting audit rows from async tasks to the database without ever making them wait: a queue
//! bounded in rows and in bytes to one writer thread, which appends whatever has queued up in one
//! transaction. Rows that find the queue full are dropped, counted, and recorded as one row
//! saying how many were lost once the writer catches up; refusals no limit slows down are
//! sampled per network ([`super::sampler`]), the writer closing their windows.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use prometheus_client::metrics::counter::Counter;
use tracing::{error, warn};

use super::{
    sampler::{RefusalSampler, Summary, Verdict},
    AuditEvent, AuditRecord, AuditStore,
};
use crate::lock::lock;

/// Rows that may wait for the writer; beyond it new rows are dropped, not waited for.
const QUEUE_CAPACITY: usize = 4096;
/// Bytes the waiting rows may take together; beyond it new rows are dropped. Rows are a few
/// hundred bytes ([`super::record::MAX_TEXT`] bounds each text), so this is seldom what binds.
const QUEUE_BYTES: usize = 2 * 1024 * 1024;
/// Most rows written in one transaction.
const MAX_BATCH: usize = 512;
/// How often an idle writer closes the sampler's windows that are over.
const TICK: Duration = Duration::from_secs(1);
/// A warning is logged for the first dropped row and then every this many.
const DROP_WARNING_EVERY: u64 = 1000;

/// Where tasks record audit events. Cheap to clone; recording never blocks.
#[derive(Clone)]
pub struct AuditLog {
    queue: SyncSender<AuditRecord>,
    pending: Arc<Pending>,
    dropped: Counter,
}

/// What the tasks and the writer share besides the queue.
#[derive(Default)]
struct Pending {
    /// Bytes of the rows in the queue.
    queued_bytes: AtomicUsize,
    /// Rows lost and not yet recorded as lost.
    unrecorded_losses: AtomicU64,
    /// Which refusals are recorded one by one.
    sampler: Mutex<RefusalSampler>,
}

/// The writer thread; it ends once every [`AuditLog`] is dropped and the queue is written.
pub struct AuditWriter {
    thread: JoinHandle<()>,
}

/// Starts the writer thread for `store`; rows that cannot be queued or written are counted in
/// `dropped`.
pub fn start(store: AuditStore, dropped: Counter) -> std::io::Result<(AuditLog, AuditWriter)> {
    let (queue, rows) = mpsc::sync_channel(QUEUE_CAPACITY);
    let log = AuditLog {
        queue,
        pending: Arc::default(),
        dropped,
    };
    let writer = Writer {
        store,
        pending: log.pending.clone(),
        dropped: log.dropped.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("tether-relay-audit".to_owned())
        .spawn(move || writer.run(rows))?;
    Ok((log, AuditWriter { thread }))
}

impl AuditLog {
    /// Queues `event`, stamped with the current time, unless it is a refusal counted in its
    /// network's window instead. If the writer is behind (or gone), the row is dropped and
    /// counted: forwarding sessions matters more than auditing them.
    pub fn record(&self, event: AuditEvent) {
        if let Some(key) = event.sample_key() {
            if lock(&self.pending.sampler).sample(key, Instant::now()) == Verdict::Count {
                return;
            }
        }
        let record = event.into_record(SystemTime::now());
        let size = record.queued_bytes();
        let queued = self.pending.queued_bytes.fetch_add(size, Ordering::Relaxed) + size;
        let refused = if queued > QUEUE_BYTES {
            Some("queue full")
        } else {
            match self.queue.try_send(record) {
                Ok(()) => None,
                Err(TrySendError::Full(_)) => Some("queue full"),
                Err(TrySendError::Disconnected(_)) => Some("writer stopped"),
            }
        };
        if let Some(why) = refused {
            self.pending.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            self.pending.lost(&self.dropped, 1, why);
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

/// The writer thread's state.
struct Writer {
    store: AuditStore,
    pending: Arc<Pending>,
    dropped: Counter,
}

impl Writer {
    fn run(mut self, rows: Receiver<AuditRecord>) {
        loop {
            let mut batch = match rows.recv_timeout(TICK) {
                Ok(first) => vec![first],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            batch.extend(rows.try_iter().take(MAX_BATCH - batch.len()));
            let bytes = batch.iter().map(AuditRecord::queued_bytes).sum();
            self.pending
                .queued_bytes
                .fetch_sub(bytes, Ordering::Relaxed);
            let due = lock(&self.pending.sampler).due(Instant::now());
            self.write(batch, due);
        }
        let remaining = lock(&self.pending.sampler).close_all();
        self.write(Vec::new(), remaining);
    }

    /// Appends `batch`, then the summaries of the refusals counted and a row for the rows
    /// lost so far, if any.
    fn write(&mut self, mut batch: Vec<AuditRecord>, summaries: Vec<Summary>) {
        let now = SystemTime::now();
        let rows = batch.len() + summaries.len();
        batch.extend(
            summaries
                .into_iter()
                .map(|summary| AuditEvent::RefusalsSummarized(summary).into_record(now)),
        );
        let lost = self.pending.unrecorded_losses.swap(0, Ordering::Relaxed);
        if lost > 0 {
            batch.push(AuditEvent::RowsDropped { rows: lost }.into_record(now));
        }
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.append(&batch) {
            error!("cannot write to the audit log: {e}");
            // The loss is recorded when a later write succeeds.
            self.pending
                .unrecorded_losses
                .fetch_add(lost, Ordering::Relaxed);
            self.pending
                .lost(&self.dropped, rows as u64, "write failed");
        }
    }
}

impl Pending {
    /// Counts `rows` lost, to be recorded as such by the writer.
    fn lost(&self, dropped: &Counter, rows: u64, why: &str) {
        self.unrecorded_losses.fetch_add(rows, Ordering::Relaxed);
        let before = dropped.inc_by(rows);
        if before / DROP_WARNING_EVERY != (before + rows) / DROP_WARNING_EVERY || before == 0 {
            warn!(dropped = before + rows, "audit rows dropped: {why}");
        }
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
            pending: Arc::default(),
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

    fn rows_of(path: &std::path::Path) -> Vec<AuditRecord> {
        let mut rows = Vec::new();
        AuditStore::open_read_only(path)
            .unwrap()
            .for_each_since(i64::MIN, |row| {
                rows.push(row.record.clone());
                Ok(())
            })
            .unwrap();
        rows
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_as_well_as_rows() {
        let (queue, rows) = mpsc::sync_channel(10_000);
        let log = AuditLog {
            queue,
            pending: Arc::default(),
            dropped: Counter::default(),
        };
        let peer = |name: &str| crate::audit::Peer {
            addr: std::net::SocketAddr::from(([192, 0, 2, 1], 1)),
            name: name.repeat(1000),
        };
        for session_id in 0..10_000 {
            log.record(AuditEvent::SessionStarted {
                session_id,
                agent: peer("a"),
                viewer: peer("v"),
            });
        }
        let queued: Vec<AuditRecord> = rows.try_iter().collect();
        let bytes: usize = queued.iter().map(AuditRecord::queued_bytes).sum();
        assert!(bytes <= QUEUE_BYTES, "{bytes} bytes queued");
        assert!(queued.len() < 4000, "{} rows queued", queued.len());
        assert_eq!(log.dropped.get() as usize + queued.len(), 10_000);
        assert_eq!(
            log.pending.unrecorded_losses.load(Ordering::Relaxed),
            log.dropped.get()
        );
    }

    #[test]
    fn lost_rows_are_recorded_as_one_row_when_the_writer_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let pending = Arc::new(Pending::default());
        pending.unrecorded_losses.store(57, Ordering::Relaxed);
        let mut writer = Writer {
            store: AuditStore::open(&path).unwrap(),
            pending: pending.clone(),
            dropped: Counter::default(),
        };
        writer.write(vec![event().into_record(SystemTime::now())], Vec::new());
        writer.write(Vec::new(), Vec::new());
        let rows = rows_of(&path);
        let kinds: Vec<&str> = rows.iter().map(|row| row.kind.as_str()).collect();
        assert_eq!(kinds, ["session_ended", "audit_rows_dropped"]);
        assert_eq!(
            rows[1].reason.as_deref(),
            Some("57 rows lost: the writer was behind or the database failed")
        );
        assert_eq!(pending.unrecorded_losses.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_flood_of_refusals_from_one_network_takes_two_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let (log, writer) = start(AuditStore::open(&path).unwrap(), Counter::default()).unwrap();
        for port in 0..1000 {
            log.record(AuditEvent::JoinRefused {
                nameplate: tether_proto::Nameplate::try_from(1).unwrap(),
                viewer: crate::audit::Peer {
                    addr: std::net::SocketAddr::from(([192, 0, 2, 1], port)),
                    name: "flood".to_owned(),
                },
                reason: tether_proto::control::Refusal::RateLimited {
                    retry_after_secs: 3,
                },
            });
        }
        drop(log);
        writer.finish();
        let rows = rows_of(&path);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].kind, "join_refused");
        assert_eq!(rows[1].kind, "refusals_summarized");
        assert_eq!(rows[1].viewer_addr.as_deref(), Some("192.0.2.1"));
        assert_eq!(
            rows[1].reason.as_deref(),
            Some("join_refused rate_limited: 999 more within a minute, not recorded one by one")
        );
    }
}
