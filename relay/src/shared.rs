//! The state every connection task shares, behind [`crate::lock`]'s one lock policy, and the
//! bookkeeping every session does in it.

use std::{
    collections::HashMap,
    sync::{atomic::AtomicU64, Arc, Mutex, MutexGuard},
};

use quinn::Connection;
use rand::rngs::OsRng;
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};

use tracing::info;

use crate::{
    audit::{AuditEvent, AuditLog},
    connection_limit::ConnectionCounter,
    data_path::DataPort,
    directory::Directory,
    lock::lock,
    metrics::RelayMetrics,
    org::Organisation,
    resume::ResumeBook,
    session::{Peer, SessionEnded, SessionLink, WaitingAgent},
    CodeRegistry, JoinLimiter, RelayConfig,
};

/// A technician's session with a machine, as a revocation of its certificate finds it.
pub(crate) struct TechnicianSession {
    /// The certificate chain the technician presented.
    pub chain: Vec<CertificateDer<'static>>,
    /// The technician's connection, closed at once on revocation.
    pub connection: Connection,
    /// Told why the certificate no longer verifies, so the session records it.
    pub invalid: watch::Sender<Option<String>>,
}

/// State shared by all connections.
pub(crate) struct Shared {
    /// Agents waiting with a code.
    registry: Mutex<CodeRegistry<WaitingAgent>>,
    /// Attended sessions whose viewer may come back after losing its connection.
    resume_book: Mutex<ResumeBook<SessionLink>>,
    join_limiter: Mutex<JoinLimiter>,
    /// Shared with each connection's slot, which gives its count back when dropped.
    pub connection_counter: Arc<Mutex<ConnectionCounter>>,
    pub next_session_id: AtomicU64,
    pub config: RelayConfig,
    pub audit: AuditLog,
    pub metrics: Arc<RelayMetrics>,
    /// The organisation whose technicians and machines this relay serves, if configured.
    pub organisation: Option<Organisation>,
    /// Enrolled machines, technicians and the access policy.
    directory: Mutex<Directory>,
    /// Enrolled machines whose agents are connected now, by name.
    online: Mutex<HashMap<String, Connection>>,
    /// Technicians' sessions with a machine, by their connection's id.
    technician_sessions: Mutex<HashMap<usize, TechnicianSession>>,
    /// Becomes `true` once shutdown begins: connections tell their clients, and sessions it
    /// ends are recorded as ended by the relay.
    pub shutdown: watch::Sender<bool>,
    /// The data port technicians' sessions may use, if enabled.
    pub data_port: Option<DataPort>,
    /// Dropped with the last reference to the shared state: tells shutdown every connection
    /// task has finished (and queued its last audit rows).
    _released: mpsc::Sender<()>,
}

/// Handshakes from addresses that have not shown they receive our packets, at once, beyond
/// which every new one must answer a Retry first: forged source addresses then cost the relay
/// one stateless packet each instead of a TLS handshake and its state.
const UNVALIDATED_HANDSHAKES: u32 = 256;

/// What the shared state is built around; the rest starts empty, shaped by the configuration.
pub(crate) struct SharedParts {
    pub audit: AuditLog,
    pub metrics: Arc<RelayMetrics>,
    pub organisation: Option<Organisation>,
    pub directory: Directory,
    pub data_port: Option<DataPort>,
    /// See [`Shared`]'s field of the same purpose.
    pub released: mpsc::Sender<()>,
}

impl Shared {
    /// The shared state, before any connection.
    pub fn new(config: RelayConfig, parts: SharedParts) -> Self {
        Self {
            registry: Mutex::new(CodeRegistry::new(config.code_ttl, config.registration_caps)),
            resume_book: Mutex::new(ResumeBook::new(config.resume_grace, &mut OsRng)),
            join_limiter: Mutex::new(JoinLimiter::new(config.join_limits)),
            connection_counter: Arc::new(Mutex::new(ConnectionCounter::new(
                config.max_connections_per_address,
                UNVALIDATED_HANDSHAKES,
                config.max_connections,
            ))),
            next_session_id: AtomicU64::new(1),
            config,
            audit: parts.audit,
            metrics: parts.metrics,
            organisation: parts.organisation,
            directory: Mutex::new(parts.directory),
            online: Mutex::new(HashMap::new()),
            technician_sessions: Mutex::new(HashMap::new()),
            shutdown: watch::Sender::new(false),
            data_port: parts.data_port,
            _released: parts.released,
        }
    }

    /// The agents waiting with a code.
    pub fn registry(&self) -> MutexGuard<'_, CodeRegistry<WaitingAgent>> {
        lock(&self.registry)
    }

    /// The book of resumable sessions (its operations are a hash lookup and an HMAC).
    pub fn resume_book(&self) -> MutexGuard<'_, ResumeBook<SessionLink>> {
        lock(&self.resume_book)
    }

    /// The join rate limiter.
    pub fn join_limiter(&self) -> MutexGuard<'_, JoinLimiter> {
        lock(&self.join_limiter)
    }

    /// The directory (its operations are sub-millisecond SQLite calls).
    pub fn directory(&self) -> MutexGuard<'_, Directory> {
        lock(&self.directory)
    }

    /// The machines online now.
    pub fn online(&self) -> MutexGuard<'_, HashMap<String, Connection>> {
        lock(&self.online)
    }

    /// Technicians' sessions with a machine.
    pub fn technician_sessions(&self) -> MutexGuard<'_, HashMap<usize, TechnicianSession>> {
        lock(&self.technician_sessions)
    }

    /// Records that session `session_id` started between `agent` and `viewer`.
    pub fn session_started(&self, session_id: u64, agent: Peer, viewer: Peer) {
        self.audit.record(AuditEvent::SessionStarted {
            session_id,
            agent,
            viewer,
        });
        self.metrics.sessions.inc();
        self.metrics.sessions_active.inc();
    }

    /// Records a session's end in the metrics, the log and the audit log.
    pub fn session_ended(&self, ended: SessionEnded) {
        self.metrics.sessions_active.dec();
        info!(
            session_id = ended.session_id,
            "session ended: {}",
            ended.end.label()
        );
        self.audit.record(ended.into());
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown begins (at once if it has).
    pub async fn shutdown_requested(&self) {
        let mut shutdown = self.shutdown.subscribe();
        // Fails only if the sender is gone, which it cannot be while `self` is borrowed.
        let _ = shutdown.wait_for(|shutting_down| *shutting_down).await;
    }
}
