//! The relay's QUIC server: accepts connections and routes each to the agent or viewer side.

use std::{
    net::SocketAddr,
    sync::{atomic::AtomicU64, Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use quinn::{Connection, Endpoint};
use tether_certs::{Fingerprint, RelayIdentity};
use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage},
    PROTOCOL_VERSION,
};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::{
    agent_side::{self, WaitingAgent},
    control::{Control, CLOSE_OK, CLOSE_PROTOCOL_ERROR, HELLO_TIMEOUT},
    viewer_side, CodeRegistry, JoinLimiter, RelayConfig,
};

/// State shared by all connections.
pub(crate) struct Shared {
    pub registry: Mutex<CodeRegistry<WaitingAgent>>,
    pub join_limiter: Mutex<JoinLimiter>,
    pub next_session_id: AtomicU64,
    pub config: RelayConfig,
}

/// A running relay.
pub struct Relay {
    endpoint: Endpoint,
    local_addr: SocketAddr,
    fingerprint: Fingerprint,
    accept_loop: JoinHandle<()>,
}

impl Relay {
    /// Loads (or on first start creates) the relay's identity, binds the endpoint and starts
    /// accepting connections.
    pub async fn start(config: RelayConfig) -> anyhow::Result<Self> {
        let identity = RelayIdentity::load_or_create(&config.data_dir)?;
        if identity.created {
            info!(dir = %config.data_dir.display(), "created a new relay certificate");
        }
        let server_config = tether_transport::config::server_config(&identity, config.idle_timeout)
            .map_err(|e| anyhow::anyhow!("invalid TLS setup: {e}"))?;
        let endpoint = Endpoint::server(server_config, config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let local_addr = endpoint.local_addr()?;
        let shared = Arc::new(Shared {
            registry: Mutex::new(CodeRegistry::new(config.code_ttl)),
            join_limiter: Mutex::new(JoinLimiter::new(config.join_limits)),
            next_session_id: AtomicU64::new(1),
            config,
        });
        let accept_loop = tokio::spawn(accept_loop(endpoint.clone(), shared));
        Ok(Self {
            endpoint,
            local_addr,
            fingerprint: identity.fingerprint(),
            accept_loop,
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

    /// Closes every connection with a "relay shutting down" reason and waits briefly for the
    /// close to reach the peers.
    pub async fn shutdown(self) {
        self.accept_loop.abort();
        self.endpoint.close(CLOSE_OK.into(), b"relay shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

async fn accept_loop(endpoint: Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(connection) => serve_connection(shared, connection).await,
                Err(e) => debug!(%remote, "handshake failed: {e}"),
            }
        });
    }
}

/// Runs one client connection to its end; any protocol error closes this connection only.
async fn serve_connection(shared: Arc<Shared>, connection: Connection) {
    let remote = connection.remote_address();
    debug!(%remote, "connected");
    if let Err(e) = route(shared, &connection).await {
        let hung_up = e
            .downcast_ref::<tether_transport::TransportError>()
            .is_some_and(|e| e.is_disconnect());
        if hung_up {
            debug!(%remote, "peer hung up: {e:#}");
            return;
        }
        warn!(%remote, "closing connection: {e:#}");
        connection.close(CLOSE_PROTOCOL_ERROR.into(), format!("{e:#}").as_bytes());
    }
}

async fn route(shared: Arc<Shared>, connection: &Connection) -> anyhow::Result<()> {
    let mut control = Control::accept(connection).await?;
    let hello = tokio::time::timeout(HELLO_TIMEOUT, control.recv.recv())
        .await
        .context("no hello in time")??;
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
        other => anyhow::bail!("expected hello, got {other:?}"),
    }
    match control.recv.recv().await? {
        Some(ClientMessage::Register { name }) => {
            agent_side::serve(&shared, connection, control, name).await
        }
        Some(ClientMessage::Join { nameplate, name }) => {
            let remote = connection.remote_address();
            let admitted = shared
                .join_limiter
                .lock()
                .map_err(|_| anyhow::anyhow!("join limiter lock poisoned"))?
                .check(remote.ip(), Instant::now());
            if let Err(wait) = admitted {
                let retry_after_secs = u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX);
                warn!(%remote, retry_after_secs, "join refused: rate limited");
                let reason = Refusal::RateLimited { retry_after_secs };
                control
                    .last_word(connection, RelayMessage::Refused { reason })
                    .await;
                return Ok(());
            }
            viewer_side::serve(&shared, connection, control, nameplate, name).await
        }
        None => Ok(()),
        Some(other) => anyhow::bail!("expected register or join, got {other:?}"),
    }
}
