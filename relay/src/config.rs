//! The relay's settings.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::JoinLimits;

/// Everything the relay needs to run.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// UDP address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Where the relay keeps its certificate and key.
    pub data_dir: PathBuf,
    /// How long an issued session code stays valid.
    pub code_ttl: Duration,
    /// How long a silent connection lives before its session is declared dead.
    pub idle_timeout: Duration,
    /// Rate limits on join attempts.
    pub join_limits: JoinLimits,
    /// Connections one source address may hold at once (handshakes included).
    pub max_connections_per_address: u32,
    /// Streams one session may have forwarded at once; a viewer opening more is disconnected.
    pub max_streams_per_session: u32,
    /// How long a session waits for a viewer whose connection was lost to come back (zero:
    /// such sessions end at once).
    pub resume_grace: Duration,
    /// The audit log's SQLite database.
    pub database: PathBuf,
    /// Where to serve Prometheus metrics over HTTP, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The TLS certificate and key to present, if not the self-signed one in `data_dir`.
    pub tls: Option<TlsFiles>,
    /// The organisation whose technicians and enrolled machines this relay serves, if any.
    pub organisation: Option<OrgFiles>,
}

/// A certificate chain and its key, in PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// An organisation's CA certificate and revocation list, in PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFiles {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The revocation list; it may not exist yet (nothing revoked).
    pub crl: PathBuf,
}

impl RelayConfig {
    /// Defaults for a relay listening on `listen` with its data (and its audit log,
    /// `relay.db`) in `data_dir`, and no metrics endpoint.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            database: data_dir.join("relay.db"),
            metrics_listen: None,
            tls: None,
            organisation: None,
            data_dir,
            code_ttl: Duration::from_secs(600),
            idle_timeout: tether_transport::config::DEFAULT_IDLE_TIMEOUT,
            join_limits: JoinLimits::default(),
            max_connections_per_address: 64,
            max_streams_per_session: 16,
            resume_grace: Duration::from_secs(30),
        }
    }
}
