//! The relay's settings.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{JoinLimits, RegistrationCaps};

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
    /// Connections one source network (an IPv4 address or an IPv6 /64) may hold at once,
    /// handshakes included; those that proved who they are (enrolled machines online,
    /// technicians with a certificate) do not count.
    pub max_connections_per_address: u32,
    /// Connections the relay holds at once in all.
    pub max_connections: u32,
    /// Codes that may wait for a viewer at once, per network and in all.
    pub registration_caps: RegistrationCaps,
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
    /// The UDP address of the data port, which forwards technicians' sessions as datagrams
    /// (see [`tether_proto::data_path`]); `None` keeps them on relayed streams. Used only
    /// with an organisation.
    pub data_listen: Option<SocketAddr>,
    /// The least time between two stateless resets (quinn's guard against reset loops). After
    /// a crash, the restarted relay answers each old client's next packet with a reset that
    /// sends it to reconnect at once: this bounds how many a second learn so.
    pub min_reset_interval: Duration,
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

/// Where the data port listens, as a setting: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DataListen {
    /// No data port: technicians' sessions stay on relayed streams.
    Off,
    /// The data port's UDP address.
    At(SocketAddr),
}

/// A `data_listen` value that is neither an address nor `off`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?}: expected a UDP address such as 0.0.0.0:4434, or off")]
pub struct BadDataListen(String);

impl FromStr for DataListen {
    type Err = BadDataListen;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "off" => Ok(Self::Off),
            _ => value
                .parse()
                .map(Self::At)
                .map_err(|_| BadDataListen(value.to_owned())),
        }
    }
}

impl TryFrom<String> for DataListen {
    type Error = BadDataListen;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DataListen> for String {
    fn from(value: DataListen) -> Self {
        match value {
            DataListen::Off => "off".to_owned(),
            DataListen::At(addr) => addr.to_string(),
        }
    }
}

/// A reset a millisecond: about as many clients a second as the relay can take handshakes
/// from (0.8-0.9 ms of CPU each, measured), against quinn's 20 ms (50 a second). A reset is
/// smaller than the packet that caused it, so it cannot amplify; the interval only has to
/// keep two endpoints that forgot each other from resetting each other without end.
pub const DEFAULT_MIN_RESET_INTERVAL: Duration = Duration::from_millis(1);

/// The data port beside `listen`: the next port up, or any free one when `listen` takes any.
pub fn default_data_listen(listen: SocketAddr) -> SocketAddr {
    let port = match listen.port() {
        0 => 0,
        port => port.wrapping_add(1).max(1),
    };
    SocketAddr::new(listen.ip(), port)
}

impl RelayConfig {
    /// Defaults for a relay listening on `listen` with its data (and its audit log,
    /// `relay.db`) in `data_dir`, and no metrics endpoint.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_listen: Some(default_data_listen(listen)),
            database: data_dir.join("relay.db"),
            metrics_listen: None,
            tls: None,
            organisation: None,
            data_dir,
            code_ttl: Duration::from_secs(600),
            idle_timeout: tether_transport::config::DEFAULT_IDLE_TIMEOUT,
            join_limits: JoinLimits::default(),
            max_connections_per_address: 64,
            max_connections: 100_000,
            registration_caps: RegistrationCaps::default(),
            max_streams_per_session: 16,
            resume_grace: Duration::from_secs(30),
            min_reset_interval: DEFAULT_MIN_RESET_INTERVAL,
        }
    }
}
