//! `tether-relay`: the QUIC server that pairs viewers with agents.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tether_relay::{Relay, RelaySettings};

/// Pairs Tether viewers with agents by one-time session code and forwards their (opaque)
/// streams over QUIC.
///
/// Once ready, prints `listening on ADDR` and `fingerprint: sha256:HEX` on stdout; clients pin
/// that fingerprint. Logs go to stderr (set RUST_LOG, e.g. RUST_LOG=debug).
///
/// Settings come from flags, else environment variables, else the --config file, else
/// defaults. Exit codes: 0 clean shutdown, 1 runtime failure (e.g. the port is taken), 2 bad
/// usage or configuration.
#[derive(Debug, Parser)]
#[command(name = "tether-relay", version)]
struct Cli {
    /// A TOML file with any of the settings (same names as the flags, with underscores:
    /// listen, data_dir, code_ttl_secs, idle_timeout_secs).
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
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether-relay")
}

#[tokio::main]
async fn main() -> ExitCode {
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
    if let Some(Command::CheckConfig) = cli.command {
        match toml::to_string(&RelaySettings::of(&config)) {
            Ok(text) => print!("{text}"),
            Err(e) => return config_error(&e),
        }
        println!("# configuration OK");
        return ExitCode::SUCCESS;
    }

    let relay = match Relay::start(config).await {
        Ok(relay) => relay,
        Err(e) => {
            eprintln!("tether-relay: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", relay.local_addr());
    println!("fingerprint: {}", relay.fingerprint());

    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    relay.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn config_error(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("tether-relay: configuration error: {error}");
    ExitCode::from(2)
}
