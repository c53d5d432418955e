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

use crate::RelayConfig;

/// Shortest and longest allowed idle timeout, in seconds: no shorter than the transport's
/// minimum (clients send keep-alives every second, so shorter would drop healthy connections).
const IDLE_TIMEOUT_SECS: std::ops::RangeInclusive<u64> =
    tether_transport::config::MIN_IDLE_TIMEOUT.as_secs()..=3600;
/// Shortest and longest allowed session-code lifetime, in seconds.
const CODE_TTL_SECS: std::ops::RangeInclusive<u64> = 1..=86_400;

/// Relay settings; every one optional so the sources can be layered.
#[derive(Debug, Default, Clone, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// UDP address to listen on; port 0 picks a free port [default: 0.0.0.0:4433].
    #[arg(long, env = "TETHER_RELAY_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,

    /// Directory for the relay's certificate and key (and by default its audit log), created
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

    /// The audit log's SQLite database, created on first start [default: DATA_DIR/relay.db].
    #[arg(long, env = "TETHER_RELAY_DATABASE", global = true)]
    pub database: Option<PathBuf>,

    /// TCP address for the Prometheus endpoint (GET /metrics, GET /healthz); port 0 picks a
    /// free port [default: off].
    #[arg(long, env = "TETHER_RELAY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,
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
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
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
        }
    }
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
