//! `tether-relay`: the QUIC server that pairs viewers with agents.

use std::{io::ErrorKind, path::PathBuf, process::ExitCode, time::SystemTime};

use clap::{Parser, Subcommand};
use tether_relay::{
    admin::{self, AdminCommand},
    audit::{self, AuditError, AuditStore, ChainVerifier, Format},
    Relay, RelayConfig, RelaySettings,
};

/// Pairs Tether viewers with agents by one-time session code and forwards their (opaque)
/// streams over QUIC.
///
/// Once ready, prints `listening on ADDR` and `fingerprint: sha256:HEX` on stdout, then
/// `metrics on ADDR` when --metrics-listen is set; clients pin that fingerprint. Logs go to
/// stderr (set RUST_LOG, e.g. RUST_LOG=debug). Every session event is appended to the audit log
/// (see `tether-relay audit --help`). The same database holds the directory of enrolled
/// machines, technicians and the access policy (see `tether-relay policy --help`).
///
/// Settings come from flags, else environment variables, else the --config file, else
/// defaults. Exit codes: 0 clean shutdown, 1 runtime failure (e.g. the port is taken), 2 bad
/// usage or configuration.
#[derive(Debug, Parser)]
#[command(name = "tether-relay", version)]
struct Cli {
    /// A TOML file with any of the settings (same names as the flags, with underscores:
    /// listen, data_dir, code_ttl_secs, idle_timeout_secs, database, metrics_listen,
    /// max_connections_per_address, max_connections, max_registrations_per_network,
    /// max_registrations, max_streams_per_session, resume_grace_secs, join_burst_per_address,
    /// join_interval_per_address_ms, join_burst_global, join_interval_global_ms,
    /// join_reserve_global, tls_cert, tls_key, org_ca, org_crl, data_listen).
    #[arg(long, env = "TETHER_RELAY_CONFIG", global = true)]
    config: Option<PathBuf>,

    #[command(flatten)]
    settings: RelaySettings,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the configuration and print the effective settings as TOML, without starting.
    CheckConfig,
    /// Print the audit log (the relay's database, see --database), or verify it.
    ///
    /// Prints one line per session event: nameplates issued, expired or withdrawn, joins
    /// accepted or refused, sessions started and ended (with duration and bytes each way).
    /// Refusals no limit slows down are recorded one by one only while rare: the first of a
    /// kind from a network in a minute, then a refusals_summarized row counting the rest.
    /// Works while the relay runs. Exit codes: 0 done, 1 the log cannot be read (e.g. it does
    /// not exist), 2 bad usage or configuration.
    #[command(args_conflicts_with_subcommands = true)]
    Audit(AuditArgs),
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    /// Only events at or after this time: RFC 3339 (2026-11-22T16:00:00Z) or a span back from
    /// now (90s, 15m, 1h, 7days).
    #[arg(long, value_parser = since_arg)]
    since: Option<SystemTime>,

    /// One JSON object per line (with each row's hashes) instead of a table.
    #[arg(long)]
    json: bool,

    #[command(subcommand)]
    action: Option<AuditAction>,
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Recompute the audit log's hash chain from its first row.
    ///
    /// Each row stores the previous row's hash and its own, SHA-256 over the previous hash and
    /// the row's canonical encoding, so editing, inserting, deleting or reordering rows breaks
    /// the chain. Prints the row count and the newest row's hash. The hashes are not keyed:
    /// whoever can write the database can remove the newest rows, or rewrite the log and
    /// recompute every hash. Keep `audit head` somewhere else from time to time and pass it as
    /// --expect-head to catch that. Exit codes: 0 the chain is intact (and holds the kept
    /// head), 1 the log cannot be read, 2 bad usage or configuration, 3 the chain is broken or
    /// does not hold the kept head (the first bad row's id is on stderr).
    Verify {
        /// A head printed earlier by `audit head` (sha256:HEX): the chain must hold it, as the
        /// hash of one of its rows.
        #[arg(long, value_name = "HASH", value_parser = audit::parse_head)]
        expect_head: Option<audit::Hash>,
    },
    /// Print the newest row's hash (sha256:HEX), the value to keep elsewhere.
    ///
    /// Store it off the relay host (a daily cron job mailing it is enough); later,
    /// `audit verify --expect-head HASH` checks that the log still extends it. The head is
    /// read, not verified. Exit codes: 0 printed, 1 the log cannot be read, 2 bad usage or
    /// configuration.
    Head,
}

/// `audit verify`: the chain is broken.
const EXIT_CHAIN_BROKEN: u8 = 3;

fn since_arg(text: &str) -> Result<SystemTime, String> {
    audit::parse_since(text, SystemTime::now())
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether-relay")
}

fn main() -> ExitCode {
    tether_cli::init_logging("info");
    let cli = Cli::parse();
    let file = match cli
        .config
        .as_deref()
        .map(RelaySettings::from_file)
        .transpose()
    {
        Ok(file) => file.unwrap_or_default(),
        Err(e) => return config_error(&e),
    };
    let config = match cli.settings.over(file).resolve(default_data_dir) {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    match cli.command {
        Some(Command::CheckConfig) => check_config(&config),
        Some(Command::Audit(args)) => audit_command(&config, args),
        Some(Command::Admin(command)) => admin::run(&config, command),
        None => match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime.block_on(run(config)),
            Err(e) => {
                eprintln!("tether-relay: cannot start the async runtime: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check_config(config: &RelayConfig) -> ExitCode {
    match toml::to_string(&RelaySettings::of(config)) {
        Ok(text) => print!("{text}"),
        Err(e) => return config_error(&e),
    }
    println!("# configuration OK");
    ExitCode::SUCCESS
}

fn audit_command(config: &RelayConfig, args: AuditArgs) -> ExitCode {
    let store = match AuditStore::open_read_only(&config.database) {
        Ok(store) => store,
        Err(e) => return audit_error(&e),
    };
    match args.action {
        Some(AuditAction::Head) => {
            println!("{}", audit::format_head(&store.head().1));
            ExitCode::SUCCESS
        }
        Some(AuditAction::Verify { expect_head }) => match store
            .verify_with(expect_head.map_or_else(ChainVerifier::default, ChainVerifier::expecting))
        {
            Ok(Ok(summary)) => {
                println!(
                    "audit log intact: {} rows, head sha256:{}",
                    summary.rows,
                    hex::encode(summary.head)
                );
                ExitCode::SUCCESS
            }
            Ok(Err(broken)) => {
                eprintln!("tether-relay: {broken}");
                ExitCode::from(EXIT_CHAIN_BROKEN)
            }
            Err(e) => audit_error(&e),
        },
        None => {
            let since_ms = args.since.map_or(i64::MIN, audit::unix_ms);
            let format = if args.json {
                Format::JsonLines
            } else {
                Format::Table
            };
            match audit::print_rows(&store, since_ms, format, &mut std::io::stdout().lock()) {
                Ok(_) => ExitCode::SUCCESS,
                // The reader (e.g. `head`) has seen enough.
                Err(AuditError::Output(e)) if e.kind() == ErrorKind::BrokenPipe => {
                    ExitCode::SUCCESS
                }
                Err(e) => audit_error(&e),
            }
        }
    }
}

async fn run(config: RelayConfig) -> ExitCode {
    let relay = match Relay::start(config).await {
        Ok(relay) => relay,
        Err(e) => {
            eprintln!("tether-relay: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", relay.local_addr());
    println!("fingerprint: {}", relay.fingerprint());
    if let Some(addr) = relay.metrics_addr() {
        println!("metrics on {addr}");
    }

    tether_cli::shutdown_signal().await;
    tracing::info!("shutting down");
    relay.shutdown().await;
    ExitCode::SUCCESS
}

fn config_error(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("tether-relay: configuration error: {error}");
    ExitCode::from(2)
}

fn audit_error(error: &AuditError) -> ExitCode {
    eprintln!("tether-relay: {error}");
    ExitCode::FAILURE
}
