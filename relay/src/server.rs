//! The relay's QUIC server: accepts connections and routes each to the agent or viewer side.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use quinn::{Connection, Endpoint, TokioRuntime};
use tether_certs::Fingerprint;
use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage},
    PROTOCOL_VERSION,
};
use tether_transport::TransportError;
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tracing::{debug, info, warn};

use crate::{
    agent_side, attended,
    audit::{self, AuditEvent, AuditStore, AuditWriter},
    connection_limit::{ConnectionSlot, Denied},
    control::{Control, CLOSE_OK, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_MANY, HELLO_TIMEOUT},
    data_path::DataPort,
    directory::Directory,
    endpoint_keys::EndpointKeys,
    error::RelayError,
    machine_side::{self, EnrollRequest},
    metrics::Limit,
    metrics::RelayMetrics,
    metrics_http,
    network::Network,
    org::Organisation,
    shared::{Shared, SharedParts},
    technician_side, tls, viewer_side, RelayConfig,
};

/// How long a shutdown waits for clients, told the relay is shutting down, to hang up. Longer
/// than the time a client is given to read its last message ([`crate::control`]'s linger).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a shutdown then waits for the connections it closed to be gone, and their last audit
/// rows queued.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A running relay.
pub struct Relay {
    endpoint: Endpoint,
    local_addr: SocketAddr,
    fingerprint: Fingerprint,
    metrics_addr: Option<SocketAddr>,
    accept_loop: JoinHandle<()>,
    crl_watch: Option<JoinHandle<()>>,
    metrics_server: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    released: mpsc::Receiver<()>,
    audit_writer: AuditWriter,
}

impl Relay {
    /// Loads (or on first start creates) the relay's identity, opens its audit log, binds the
    /// endpoint (and the metrics endpoint, if configured) and starts accepting connections.
    pub async fn start(config: RelayConfig) -> anyhow::Result<Self> {
        let certified = tls::load_certified_key(&config)?;
        let fingerprint = certified.fingerprint();
        let organisation = config
            .organisation
            .clone()
            .map(Organisation::load)
            .transpose()?;
        let server_config = tls::server_config(&certified, organisation.as_ref())?;
        let keys = EndpointKeys::load_or_create(&config.data_dir)?;
        let socket = std::net::UdpSocket::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let endpoint = Endpoint::new(
            keys.endpoint_config(config.min_reset_interval),
            Some(server_config),
            socket,
            Arc::new(TokioRuntime),
        )
        .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = endpoint.local_addr()?;
        if let Some(org) = &config.organisation {
            info!(ca = %org.ca.display(), "serving the organisation's technicians and machines");
        }

        let metrics = Arc::new(RelayMetrics::default());
        let database = config.database.clone();
        let store = tokio::task::spawn_blocking(move || AuditStore::open(&database)).await??;
        let (audit, audit_writer) = audit::start_writer(store, metrics.audit_rows_dropped.clone())
            .context("cannot start the audit writer")?;
        info!(database = %config.database.display(), "audit log open");
        let database = config.database.clone();
        let directory = tokio::task::spawn_blocking(move || Directory::open(&database))
            .await?
            .context("cannot open the directory of machines and technicians")?;

        let (metrics_addr, metrics_server) = match config.metrics_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot serve metrics on {addr}"))?;
                let bound = listener.local_addr()?;
                let server = tokio::spawn(metrics_http::serve(listener, metrics.clone()));
                (Some(bound), Some(server))
            }
            None => (None, None),
        };

        let data_port = match (&organisation, config.data_listen) {
            (Some(_), Some(addr)) => {
                let port = DataPort::start(addr, metrics.clone()).await?;
                info!(addr = %port.local_addr(), "data port open for technicians' sessions");
                Some(port)
            }
            _ => None,
        };
        let (released_sender, released) = mpsc::channel(1);
        let shared = Arc::new(Shared::new(
            config,
            SharedParts {
                audit,
                metrics,
                organisation,
                directory,
                data_port,
                released: released_sender,
            },
        ));
        let accept_loop = tokio::spawn(accept_loop(endpoint.clone(), shared.clone()));
        let crl_watch = shared
            .organisation
            .is_some()
            .then(|| tokio::spawn(tls::watch_crl(endpoint.clone(), shared.clone(), certified)));
        Ok(Self {
            endpoint,
            local_addr,
            fingerprint,
            metrics_addr,
            accept_loop,
            crl_watch,
            metrics_server,
            shared,
            released,
            audit_writer,
        })
    }

    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The fingerprint clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The address the metrics endpoint listens on, if it is enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Stops accepting connections, tells every agent and viewer `Ended { RelayShutdown }` on
    /// its control stream, waits up to [`SHUTDOWN_GRACE`] for them to hang up, closes whatever
    /// is left, and writes the audit log's last rows.
    pub async fn shutdown(self) {
        let Self {
            endpoint,
            accept_loop,
            crl_watch,
            metrics_server,
            shared,
            mut released,
            audit_writer,
            ..
        } = self;
        // New connection attempts are refused from here on.
        endpoint.set_server_config(None);
        accept_loop.abort();
        if let Some(watch) = crl_watch {
            watch.abort();
        }
        shared.shutdown.send_replace(true);
        if let Some(server) = metrics_server {
            server.abort();
        }
        drop(shared);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, released.recv())
            .await
            .is_ok();
        if !drained {
            info!("shutdown: closing connections still open after the grace period");
        }
        endpoint.close(CLOSE_OK.into(), b"relay shutting down");
        let all_released = drained
            || tokio::time::timeout(CLOSE_WAIT, released.recv())
                .await
                .is_ok();
        let _ = tokio::time::timeout(CLOSE_WAIT, endpoint.wait_idle()).await;
        // The writer ends once the last audit handle (in the shared state) is gone. If some
        // connection task is still running, waiting for the writer could hang: skip it.
        if all_released {
            let _ = tokio::task::spawn_blocking(move || audit_writer.finish()).await;
        } else {
            warn!("shutdown: connections still closing; their last audit rows may be lost");
        }
    }
}

async fn accept_loop(endpoint: Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        let remote = incoming.remote_address();
        let validated = incoming.remote_address_validated();
        let mut slot =
            match ConnectionSlot::admit(&shared.connection_counter, remote.ip(), validated) {
                Ok(slot) => slot,
                Err(Denied::Retry) => {
                    shared.metrics.connections_retried.inc();
                    debug!(%remote, "asked to retry: its address is not validated yet");
                    // Always allowed for an unvalidated address; refuse should quinn disagree.
                    if let Err(e) = incoming.retry() {
                        e.into_incoming().refuse();
                    }
                    continue;
                }
                Err(Denied::Refuse) => {
                    refuse_over_limit(&shared, remote);
                    incoming.refuse();
                    continue;
                }
                Err(Denied::Full) => {
                    shared.metrics.limit_refused(Limit::Connections);
                    warn!(
                        %remote,
                        limit = shared.config.max_connections,
                        "connection refused: the relay holds the most connections it allows"
                    );
                    incoming.refuse();
                    continue;
                }
            };
        let shared = shared.clone();
        tokio::spawn(async move {
            // `slot` moves in here: held until the connection is gone, handshake included.
            match incoming.await {
                Ok(connection) if !slot.validate() => {
                    refuse_over_limit(&shared, remote);
                    connection.close(
                        CLOSE_TOO_MANY.into(),
                        b"too many connections from this address",
                    );
                }
                Ok(connection) => {
                    let metrics = shared.metrics.clone();
                    metrics.connections.inc();
                    metrics.connections_open.inc();
                    serve_connection(shared, connection, &mut slot).await;
                    metrics.connections_open.dec();
                }
                Err(e) => {
                    // A client certificate refused (revoked, expired, another CA) is an access
                    // attempt worth recording; a client that merely went away is not.
                    if matches!(e, quinn::ConnectionError::TransportError(_)) {
                        warn!(%remote, "TLS handshake failed: {e}");
                        shared.metrics.handshakes_failed.inc();
                        shared.audit.record(AuditEvent::HandshakeFailed {
                            addr: remote,
                            reason: e.to_string(),
                        });
                    } else {
                        debug!(%remote, "handshake failed: {e}");
                    }
                }
            }
        });
    }
}

/// Counts and logs a connection refused because its network holds the most allowed.
fn refuse_over_limit(shared: &Shared, remote: SocketAddr) {
    shared.metrics.connections_refused.inc();
    shared.metrics.limit_refused(Limit::ConnectionsPerNetwork);
    warn!(
        %remote,
        network = %Network::of(remote.ip()),
        limit = shared.config.max_connections_per_address,
        "connection refused: too many connections from this network"
    );
}

/// Runs one client connection, which holds `slot`, to its end; any protocol error closes this
/// connection only.
async fn serve_connection(shared: Arc<Shared>, connection: Connection, slot: &mut ConnectionSlot) {
    let remote = connection.remote_address();
    debug!(%remote, "connected");
    if let Err(e) = route(shared.clone(), &connection, slot).await {
        let report = e.report();
        if e.is_disconnect() {
            debug!(%remote, "peer hung up: {report}");
            return;
        }
        if let RelayError::Transport(TransportError::Proto(broken)) = &e {
            shared.metrics.bound_broken(broken);
        }
        warn!(%remote, "closing connection: {report}");
        connection.close(CLOSE_PROTOCOL_ERROR.into(), report.as_bytes());
    }
}

async fn route(
    shared: Arc<Shared>,
    connection: &Connection,
    slot: &mut ConnectionSlot,
) -> Result<(), RelayError> {
    let mut control = Control::accept(connection).await?;
    let hello = tokio::time::timeout(HELLO_TIMEOUT, control.recv.recv())
        .await
        .map_err(|elapsed| RelayError::Timeout {
            what: "no hello in time",
            elapsed,
        })??;
    match hello {
        Some(ClientMessage::Hello { version, software }) if version == PROTOCOL_VERSION => {
            debug!(remote = %connection.remote_address(), %software, "hello");
            control
                .send
                .send(&RelayMessage::Welcome {
                    version: PROTOCOL_VERSION,
                })
                .await?;
        }
        Some(ClientMessage::Hello { version, .. }) => {
            warn!(remote = %connection.remote_address(), version, "refused: protocol version mismatch");
            let reason = Refusal::VersionMismatch {
                relay: PROTOCOL_VERSION,
            };
            control
                .last_word(connection, RelayMessage::Refused { reason })
                .await;
            return Ok(());
        }
        other => return Err(RelayError::expected("hello", &other)),
    }
    // A client that greeted but never says what it wants would hold its slot forever.
    let request = tokio::time::timeout(HELLO_TIMEOUT, control.recv.recv())
        .await
        .map_err(|elapsed| RelayError::Timeout {
            what: "no register or join in time",
            elapsed,
        })??;
    match request {
        Some(ClientMessage::Register { name, auto_accept }) => {
            shared.metrics.agents_registered.inc();
            let served = agent_side::serve(&shared, connection, control, name, auto_accept).await;
            shared.metrics.agents_registered.dec();
            served
        }
        Some(ClientMessage::Enroll {
            machine,
            machine_key,
            endorsement,
        }) => {
            let request = EnrollRequest {
                machine,
                machine_key,
                endorsement,
            };
            machine_side::enroll(&shared, connection, control, request).await
        }
        Some(ClientMessage::Online { machine, proof }) => {
            machine_side::online(&shared, connection, slot, control, machine, proof).await
        }
        Some(ClientMessage::ListMachines) => {
            technician_side::list_machines(&shared, connection, control).await
        }
        Some(ClientMessage::Open { machine }) => {
            technician_side::open(&shared, connection, slot, control, machine, Instant::now()).await
        }
        Some(ClientMessage::Join { nameplate, name }) => {
            let received = Instant::now();
            match viewer_side::join(&shared, connection, control, nameplate, name, received).await {
                Some(pairing) => attended::serve(&shared, connection, pairing).await,
                // Refused, and told why.
                None => Ok(()),
            }
        }
        Some(ClientMessage::Resume { session_id, ticket }) => {
            viewer_side::resume(&shared, connection, control, session_id, ticket).await
        }
        None => Ok(()),
        Some(other) => Err(RelayError::expected("register or join", &other)),
    }
}
