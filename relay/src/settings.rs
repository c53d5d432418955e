//! The relay's settings from its three sources: flags, environment variables and a TOML file.
//!
//! One struct is both the command-line schema and the file schema, so the two cannot drift.
//! Precedence: a flag, else its environment variable (both handled by clap), else the file,
//! else the default. Values are validated once, after merging, whatever their source.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tether_certs::files::read_bounded_text;

use crate::{
    config::{DataListen, OrgFiles, TlsFiles},
    JoinLimits, RegistrationCaps, RelayConfig,
};

/// Shortest and longest allowed idle timeout, in seconds: no shorter than the transport's
/// minimum (clients send keep-alives every second, so shorter would drop healthy connections).
const IDLE_TIMEOUT_SECS: std::ops::RangeInclusive<u64> =
    tether_transport::config::MIN_IDLE_TIMEOUT.as_secs()..=3600;
/// Shortest and longest allowed session-code lifetime, in seconds.
const CODE_TTL_SECS: std::ops::RangeInclusive<u64> = 1..=86_400;
/// Allowed connections per source network: at least one, and few enough that one network
/// cannot hold a large share of the relay's capacity.
const MAX_CONNECTIONS_PER_ADDRESS: std::ops::RangeInclusive<u64> = 1..=100_000;
/// Allowed connections in all (about 50 KiB of memory each).
const MAX_CONNECTIONS: std::ops::RangeInclusive<u64> = 1..=10_000_000;
/// Allowed waiting codes per network.
const MAX_REGISTRATIONS_PER_NETWORK: std::ops::RangeInclusive<u64> = 1..=100_000;
/// Allowed waiting codes in all: at most half the nameplate space, where the registry stops
/// anyway.
const MAX_REGISTRATIONS: std::ops::RangeInclusive<u64> = 1..=500_000;
/// Allowed forwarded streams per session: QUIC lets a peer open at most 100 streams at once
/// (quinn's default), so a larger cap could never be reached.
const MAX_STREAMS_PER_SESSION: std::ops::RangeInclusive<u64> = 1..=100;
/// Allowed grace periods for a lost viewer to come back, in seconds (0: sessions end at once).
const RESUME_GRACE_SECS: std::ops::RangeInclusive<u64> = 0..=3600;
/// Allowed join bursts.
const JOIN_BURST: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// Allowed intervals between join attempts once a burst is spent, in milliseconds (0: no
/// limit past the burst; at most an hour).
const JOIN_INTERVAL_MS: std::ops::RangeInclusive<u64> = 0..=3_600_000;

/// Relay settings; every one optional so the sources can be layered.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// UDP address to listen on; port 0 picks a free port [default: 0.0.0.0:4433].
    #[arg(long, env = "TETHER_RELAY_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,

    /// Directory for the relay's certificate and keys (and by default its audit log), created
    /// on first start [default: ~/.local/share/tether-relay].
    #[arg(long, env = "TETHER_RELAY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Seconds a session code stays valid [default: 600].
    #[arg(long, env = "TETHER_RELAY_CODE_TTL_SECS", global = true)]
    pub code_ttl_secs: Option<u64>,

    /// Seconds of silence after which a connection (and its session) is declared dead, 3 to
    /// 3600 [default: 10].
    #[arg(long, env = "TETHER_RELAY_IDLE_TIMEOUT_SECS", global = true)]
    pub idle_timeout_secs: Option<u64>,

    /// The relay's SQLite database (audit log, enrolled machines, technicians, access policy),
    /// created on first start [default: DATA_DIR/relay.db].
    #[arg(long, env = "TETHER_RELAY_DATABASE", global = true)]
    pub database: Option<PathBuf>,

    /// TCP address for the Prometheus endpoint (GET /metrics, GET /healthz); port 0 picks a
    /// free port [default: off].
    #[arg(long, env = "TETHER_RELAY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Connections one source network (an IPv4 address, or an IPv6 /64) may hold at once,
    /// handshakes included; more are refused before the handshake. Enrolled machines online
    /// and technicians with a certificate stop counting once they proved it [default: 64].
    #[arg(long, env = "TETHER_RELAY_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: Option<u32>,

    /// Connections the relay holds at once in all, about 50 KiB of memory each; more are
    /// refused before the handshake [default: 100000].
    #[arg(long, env = "TETHER_RELAY_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<u32>,

    /// Session codes that agents from one network may hold waiting at once; more are refused
    /// as network_busy [default: 64].
    #[arg(
        long,
        env = "TETHER_RELAY_MAX_REGISTRATIONS_PER_NETWORK",
        global = true
    )]
    pub max_registrations_per_network: Option<u32>,

    /// Session codes that may wait at once in all, at most 500000 (half the nameplate space);
    /// more are refused as busy [default: 100000].
    #[arg(long, env = "TETHER_RELAY_MAX_REGISTRATIONS", global = true)]
    pub max_registrations: Option<u32>,

    /// Streams one session may have forwarded at once, 1 to 100; a viewer opening more is
    /// disconnected [default: 16].
    #[arg(long, env = "TETHER_RELAY_MAX_STREAMS_PER_SESSION", global = true)]
    pub max_streams_per_session: Option<u32>,

    /// Seconds a session waits for a viewer whose connection was lost (not closed) to come back
    /// on a new connection with its resume ticket, 0 to 3600; 0 ends such sessions at once
    /// [default: 30].
    #[arg(long, env = "TETHER_RELAY_RESUME_GRACE_SECS", global = true)]
    pub resume_grace_secs: Option<u64>,

    /// Join attempts one source address may make at once [default: 20].
    #[arg(long, env = "TETHER_RELAY_JOIN_BURST_PER_ADDRESS", global = true)]
    pub join_burst_per_address: Option<u32>,

    /// Then one join attempt per this many milliseconds per address [default: 3000].
    #[arg(long, env = "TETHER_RELAY_JOIN_INTERVAL_PER_ADDRESS_MS", global = true)]
    pub join_interval_per_address_ms: Option<u64>,

    /// Join attempts all addresses together may make at once [default: 500].
    #[arg(long, env = "TETHER_RELAY_JOIN_BURST_GLOBAL", global = true)]
    pub join_burst_global: Option<u32>,

    /// Then one join attempt per this many milliseconds in total [default: 5].
    #[arg(long, env = "TETHER_RELAY_JOIN_INTERVAL_GLOBAL_MS", global = true)]
    pub join_interval_global_ms: Option<u64>,

    /// Of join_burst_global, the attempts kept for each network's first few (3, then one a
    /// minute), so that networks at their own limit cannot hold the global one; below
    /// join_burst_global, 0 keeps none [default: a fifth of join_burst_global, 100].
    #[arg(long, env = "TETHER_RELAY_JOIN_RESERVE_GLOBAL", global = true)]
    pub join_reserve_global: Option<u32>,

    /// The relay's TLS certificate chain (PEM), e.g. issued by `tether-certs relay`
    /// [default: a self-signed certificate in DATA_DIR, which clients pin].
    #[arg(
        long,
        env = "TETHER_RELAY_TLS_CERT",
        global = true,
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of `tls_cert`.
    #[arg(
        long,
        env = "TETHER_RELAY_TLS_KEY",
        global = true,
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// The organisation's CA certificate (PEM, from `tether-certs init`). Enables enrolled
    /// machines and technicians' shells: client certificates are verified against it
    /// [default: off, attended sessions only].
    #[arg(long, env = "TETHER_RELAY_ORG_CA", global = true)]
    pub org_ca: Option<PathBuf>,

    /// The organisation's certificate revocation list (PEM, from `tether-certs revoke`),
    /// re-read whenever it changes [default: DIR/crl.pem beside the CA, if it exists].
    #[arg(long, env = "TETHER_RELAY_ORG_CRL", global = true)]
    pub org_crl: Option<PathBuf>,

    /// UDP address of the data port, or `off`. With an organisation, technicians' sessions run
    /// their own end-to-end QUIC connection through it, the relay forwarding datagrams
    /// unopened; off, they stay on streams the relay forwards [default: the listen port + 1].
    #[arg(long, env = "TETHER_RELAY_DATA_LISTEN", global = true)]
    pub data_listen: Option<DataListen>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings (unknown keys included).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// Settings that only work together were given apart.
    #[error("{0}")]
    Incomplete(&'static str),
    /// A value is out of range.
    #[error("{key} = {value} is out of range ({min}..={max})")]
    OutOfRange {
        /// The setting.
        key: &'static str,
        /// Its value.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
}

impl RelaySettings {
    /// Reads settings from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = read_bounded_text(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// These settings, with any left unset taken from `lower`.
    pub fn over(self, lower: RelaySettings) -> RelaySettings {
        RelaySettings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            code_ttl_secs: self.code_ttl_secs.or(lower.code_ttl_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(lower.idle_timeout_secs),
            database: self.database.or(lower.database),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
            max_connections_per_address: self
                .max_connections_per_address
                .or(lower.max_connections_per_address),
            max_connections: self.max_connections.or(lower.max_connections),
            max_registrations_per_network: self
                .max_registrations_per_network
                .or(lower.max_registrations_per_network),
            max_registrations: self.max_registrations.or(lower.max_registrations),
            max_streams_per_session: self
                .max_streams_per_session
                .or(lower.max_streams_per_session),
            resume_grace_secs: self.resume_grace_secs.or(lower.resume_grace_secs),
            join_burst_per_address: self.join_burst_per_address.or(lower.join_burst_per_address),
            join_interval_per_address_ms: self
                .join_interval_per_address_ms
                .or(lower.join_interval_per_address_ms),
            join_burst_global: self.join_burst_global.or(lower.join_burst_global),
            join_interval_global_ms: self
                .join_interval_global_ms
                .or(lower.join_interval_global_ms),
            join_reserve_global: self.join_reserve_global.or(lower.join_reserve_global),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            org_ca: self.org_ca.or(lower.org_ca),
            org_crl: self.org_crl.or(lower.org_crl),
            data_listen: self.data_listen.or(lower.data_listen),
        }
    }

    /// Fills in defaults and validates: the configuration the relay runs with.
    pub fn resolve(
        self,
        default_data_dir: impl FnOnce() -> PathBuf,
    ) -> Result<RelayConfig, SettingsError> {
        let listen = self
            .listen
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 4433)));
        let data_dir = self.data_dir.unwrap_or_else(default_data_dir);
        let mut config = RelayConfig::new(listen, data_dir);
        if let Some(database) = self.database {
            config.database = database;
        }
        config.metrics_listen = self.metrics_listen;
        match self.data_listen {
            Some(DataListen::Off) => config.data_listen = None,
            Some(DataListen::At(addr)) => config.data_listen = Some(addr),
            None => {}
        }
        config.tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(SettingsError::Incomplete(
                    "tls_cert and tls_key go together: set both or neither",
                ))
            }
        };
        config.organisation = match (self.org_ca, self.org_crl) {
            (Some(ca), crl) => {
                let crl = crl.unwrap_or_else(|| ca.with_file_name("crl.pem"));
                Some(OrgFiles { ca, crl })
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Err(SettingsError::Incomplete(
                    "org_crl needs org_ca: a revocation list means nothing without its CA",
                ))
            }
        };
        config.code_ttl = Duration::from_secs(checked(
            "code_ttl_secs",
            self.code_ttl_secs.unwrap_or(config.code_ttl.as_secs()),
            CODE_TTL_SECS,
        )?);
        config.idle_timeout = Duration::from_secs(checked(
            "idle_timeout_secs",
            self.idle_timeout_secs
                .unwrap_or(config.idle_timeout.as_secs()),
            IDLE_TIMEOUT_SECS,
        )?);
        config.max_connections_per_address = checked_u32(
            "max_connections_per_address",
            self.max_connections_per_address,
            config.max_connections_per_address,
            MAX_CONNECTIONS_PER_ADDRESS,
        )?;
        config.max_connections = checked_u32(
            "max_connections",
            self.max_connections,
            config.max_connections,
            MAX_CONNECTIONS,
        )?;
        let caps = config.registration_caps;
        config.registration_caps = RegistrationCaps {
            per_network: checked_u32(
                "max_registrations_per_network",
                self.max_registrations_per_network,
                caps.per_network,
                MAX_REGISTRATIONS_PER_NETWORK,
            )?,
            total: checked_u32(
                "max_registrations",
                self.max_registrations,
                caps.total,
                MAX_REGISTRATIONS,
            )?,
        };
        config.max_streams_per_session = checked_u32(
            "max_streams_per_session",
            self.max_streams_per_session,
            config.max_streams_per_session,
            MAX_STREAMS_PER_SESSION,
        )?;
        config.resume_grace = Duration::from_secs(checked(
            "resume_grace_secs",
            self.resume_grace_secs
                .unwrap_or(config.resume_grace.as_secs()),
            RESUME_GRACE_SECS,
        )?);
        let limits = config.join_limits;
        let global_burst = checked_u32(
            "join_burst_global",
            self.join_burst_global,
            limits.global_burst,
            JOIN_BURST,
        )?;
        config.join_limits = JoinLimits {
            per_address_burst: checked_u32(
                "join_burst_per_address",
                self.join_burst_per_address,
                limits.per_address_burst,
                JOIN_BURST,
            )?,
            per_address_interval: checked_millis(
                "join_interval_per_address_ms",
                self.join_interval_per_address_ms,
                limits.per_address_interval,
            )?,
            global_burst,
            global_interval: checked_millis(
                "join_interval_global_ms",
                self.join_interval_global_ms,
                limits.global_interval,
            )?,
            global_reserve: checked_u32(
                "join_reserve_global",
                self.join_reserve_global,
                global_burst / 5,
                0..=u64::from(global_burst - 1),
            )?,
        };
        Ok(config)
    }

    /// The complete settings of `config`, e.g. to print the effective configuration as TOML.
    pub fn of(config: &RelayConfig) -> RelaySettings {
        RelaySettings {
            listen: Some(config.listen),
            data_dir: Some(config.data_dir.clone()),
            code_ttl_secs: Some(config.code_ttl.as_secs()),
            idle_timeout_secs: Some(config.idle_timeout.as_secs()),
            database: Some(config.database.clone()),
            metrics_listen: config.metrics_listen,
            max_connections_per_address: Some(config.max_connections_per_address),
            max_connections: Some(config.max_connections),
            max_registrations_per_network: Some(config.registration_caps.per_network),
            max_registrations: Some(config.registration_caps.total),
            max_streams_per_session: Some(config.max_streams_per_session),
            resume_grace_secs: Some(config.resume_grace.as_secs()),
            join_burst_per_address: Some(config.join_limits.per_address_burst),
            join_interval_per_address_ms: Some(millis(config.join_limits.per_address_interval)),
            join_burst_global: Some(config.join_limits.global_burst),
            join_interval_global_ms: Some(millis(config.join_limits.global_interval)),
            join_reserve_global: Some(config.join_limits.global_reserve),
            tls_cert: config.tls.as_ref().map(|tls| tls.cert.clone()),
            tls_key: config.tls.as_ref().map(|tls| tls.key.clone()),
            org_ca: config.organisation.as_ref().map(|org| org.ca.clone()),
            org_crl: config.organisation.as_ref().map(|org| org.crl.clone()),
            data_listen: Some(config.data_listen.map_or(DataListen::Off, DataListen::At)),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `value` (or `default` if unset), checked against `range`.
fn checked_u32(
    key: &'static str,
    value: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u32, SettingsError> {
    // The range's bounds are within u32, so the checked value converts back losslessly.
    let value = checked(key, value.unwrap_or(default).into(), range)?;
    Ok(u32::try_from(value).unwrap_or(u32::MAX))
}

/// A number of milliseconds (or `default` if unset), checked against [`JOIN_INTERVAL_MS`].
fn checked_millis(
    key: &'static str,
    value: Option<u64>,
    default: Duration,
) -> Result<Duration, SettingsError> {
    let value = checked(key, value.unwrap_or(millis(default)), JOIN_INTERVAL_MS)?;
    Ok(Duration::from_millis(value))
}

fn checked(
    key: &'static str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, SettingsError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(SettingsError::OutOfRange {
            key,
            value,
            min: *range.start(),
            max: *range.end(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RelaySettings, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = parse("").unwrap().resolve(|| "/data".into()).unwrap();
        assert_eq!(config.listen, SocketAddr::from(([0, 0, 0, 0], 4433)));
        assert_eq!(config.data_dir, PathBuf::from("/data"));
        assert_eq!(config.code_ttl, Duration::from_secs(600));
        assert_eq!(config.idle_timeout, Duration::from_secs(10));
        assert_eq!(config.database, PathBuf::from("/data/relay.db"));
        assert_eq!(config.metrics_listen, None);
        assert_eq!(config.max_connections_per_address, 64);
        assert_eq!(config.max_connections, 100_000);
        assert_eq!(config.registration_caps, RegistrationCaps::default());
        assert_eq!(config.max_streams_per_session, 16);
        assert_eq!(config.resume_grace, Duration::from_secs(30));
        assert_eq!(config.join_limits, JoinLimits::default());
    }

    #[test]
    fn the_connection_stream_and_join_limits_can_be_set() {
        let config = parse(
            "max_connections_per_address = 8\nmax_streams_per_session = 4\nresume_grace_secs = 0\n\
             join_burst_per_address = 5\njoin_interval_per_address_ms = 1500\n\
             join_burst_global = 50\njoin_interval_global_ms = 0\n",
        )
        .unwrap()
        .resolve(|| "/data".into())
        .unwrap();
        assert_eq!(config.max_connections_per_address, 8);
        assert_eq!(config.max_streams_per_session, 4);
        assert_eq!(config.resume_grace, Duration::ZERO);
        assert_eq!(
            config.join_limits,
            JoinLimits {
                per_address_burst: 5,
                per_address_interval: Duration::from_millis(1500),
                global_burst: 50,
                global_interval: Duration::ZERO,
                global_reserve: 10,
            }
        );
    }

    #[test]
    fn limits_out_of_range_are_refused_by_name() {
        for (text, message) in [
            (
                "max_connections_per_address = 0",
                "max_connections_per_address = 0 is out of range (1..=100000)",
            ),
            (
                "max_streams_per_session = 101",
                "max_streams_per_session = 101 is out of range (1..=100)",
            ),
            (
                "resume_grace_secs = 3601",
                "resume_grace_secs = 3601 is out of range (0..=3600)",
            ),
            (
                "join_burst_global = 0",
                "join_burst_global = 0 is out of range (1..=1000000)",
            ),
            (
                "join_interval_per_address_ms = 3600001",
                "join_interval_per_address_ms = 3600001 is out of range (0..=3600000)",
            ),
            (
                "max_registrations = 500001",
                "max_registrations = 500001 is out of range (1..=500000)",
            ),
            (
                "max_connections = 0",
                "max_connections = 0 is out of range (1..=10000000)",
            ),
            (
                "join_burst_global = 10\njoin_reserve_global = 10",
                "join_reserve_global = 10 is out of range (0..=9)",
            ),
        ] {
            let err = parse(text)
                .unwrap()
                .resolve(|| "/data".into())
                .unwrap_err()
                .to_string();
            assert_eq!(err, message);
        }
    }

    #[test]
    fn the_relay_wide_and_per_network_caps_can_be_set() {
        let config = parse(
            "max_connections = 20000\nmax_registrations_per_network = 8\n\
             max_registrations = 5000\njoin_reserve_global = 0\n",
        )
        .unwrap()
        .resolve(|| "/data".into())
        .unwrap();
        assert_eq!(config.max_connections, 20_000);
        assert_eq!(
            config.registration_caps,
            RegistrationCaps {
                per_network: 8,
                total: 5000
            }
        );
        assert_eq!(config.join_limits.global_reserve, 0);
    }

    #[test]
    fn the_database_and_metrics_address_can_be_set() {
        let config =
            parse("database = \"/var/log/tether/audit.db\"\nmetrics_listen = \"127.0.0.1:9464\"\n")
                .unwrap()
                .resolve(|| "/data".into())
                .unwrap();
        assert_eq!(config.database, PathBuf::from("/var/log/tether/audit.db"));
        assert_eq!(
            config.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
    }

    #[test]
    fn the_data_port_sits_beside_the_listen_port_unless_set_or_off() {
        let resolve = |text: &str| parse(text).unwrap().resolve(|| "/data".into());
        let beside = resolve("listen = \"0.0.0.0:4433\"\n").unwrap();
        assert_eq!(
            beside.data_listen,
            Some(SocketAddr::from(([0, 0, 0, 0], 4434)))
        );
        let any = resolve("listen = \"127.0.0.1:0\"\n").unwrap();
        assert_eq!(any.data_listen, Some(SocketAddr::from(([127, 0, 0, 1], 0))));
        let set = resolve("data_listen = \"10.0.0.1:9000\"\n").unwrap();
        assert_eq!(
            set.data_listen,
            Some(SocketAddr::from(([10, 0, 0, 1], 9000)))
        );
        let off = resolve("data_listen = \"off\"\n").unwrap();
        assert_eq!(off.data_listen, None);
        assert_eq!(
            RelaySettings::of(&off).data_listen,
            Some(DataListen::Off),
            "printed back as off"
        );
        let err = parse("data_listen = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a UDP address"), "{err}");
    }

    #[test]
    fn the_organisation_and_tls_files_can_be_set_and_must_be_complete() {
        let config = parse("org_ca = \"/pki/ca.pem\"\ntls_cert = \"/pki/relay.pem\"\ntls_key = \"/pki/relay.key\"\n")
            .unwrap()
            .resolve(|| "/data".into())
            .unwrap();
        let org = config.organisation.unwrap();
        assert_eq!(org.ca, PathBuf::from("/pki/ca.pem"));
        assert_eq!(
            org.crl,
            PathBuf::from("/pki/crl.pem"),
            "the CRL defaults to beside the CA"
        );
        assert_eq!(config.tls.unwrap().key, PathBuf::from("/pki/relay.key"));
        for text in ["tls_cert = \"/a.pem\"", "org_crl = \"/crl.pem\""] {
            let err = parse(text).unwrap().resolve(|| "/data".into()).unwrap_err();
            assert!(matches!(err, SettingsError::Incomplete(_)), "{text}: {err}");
        }
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let file = parse("listen = \"127.0.0.1:9000\"\ncode_ttl_secs = 60\n").unwrap();
        let flags = RelaySettings {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 7000))),
            ..RelaySettings::default()
        };
        let config = flags.over(file).resolve(|| "/data".into()).unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.code_ttl, Duration::from_secs(60));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors() {
        let unknown = parse("listen_addr = \"0.0.0.0:1\"")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("listen_addr"), "{unknown}");
        assert!(parse("code_ttl_secs = \"ten\"").is_err());
        assert!(parse("listen = \"not an address\"").is_err());
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let settings = RelaySettings {
            idle_timeout_secs: Some(2),
            ..RelaySettings::default()
        };
        let err = settings.resolve(|| "/data".into()).unwrap_err().to_string();
        assert_eq!(err, "idle_timeout_secs = 2 is out of range (3..=3600)");
    }

    #[test]
    fn effective_settings_print_as_toml_that_reads_back() {
        let config = parse("listen = \"127.0.0.1:0\"\nidle_timeout_secs = 5\n")
            .unwrap()
            .resolve(|| "/srv/relay".into())
            .unwrap();
        let text = toml::to_string(&RelaySettings::of(&config)).unwrap();
        let again = parse(&text)
            .unwrap()
            .resolve(|| "/elsewhere".into())
            .unwrap();
        assert_eq!(RelaySettings::of(&again), RelaySettings::of(&config));
    }
}
