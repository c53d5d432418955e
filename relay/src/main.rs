//! `tether-relay`: the QUIC server that pairs viewers with agents.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use tether_relay::{Relay, RelayConfig};

/// Pairs Tether viewers with agents by one-time session code and forwards their (opaque)
/// streams over QUIC.
///
/// Once ready, prints `listening on ADDR` and `fingerprint: sha256:HEX` on stdout; clients pin
/// that fingerprint. Logs go to stderr (set RUST_LOG, e.g. RUST_LOG=debug).
#[derive(Debug, Parser)]
#[command(name = "tether-relay", version)]
struct Args {
    /// UDP address to listen on; port 0 picks a free port.
    #[arg(long, env = "TETHER_RELAY_LISTEN", default_value = "0.0.0.0:4433")]
    listen: SocketAddr,

    /// Directory for the relay's certificate and key (created on first start).
    #[arg(long, env = "TETHER_RELAY_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Seconds a session code stays valid.
    #[arg(
        long,
        env = "TETHER_RELAY_CODE_TTL_SECS",
        default_value_t = 600,
        hide = true
    )]
    code_ttl_secs: u64,

    /// Seconds of silence after which a connection (and its session) is declared dead
    /// (at least 3; clients send keep-alives every second).
    #[arg(long, env = "TETHER_RELAY_IDLE_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(3..=3600))]
    idle_timeout_secs: u64,
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("tether-relay")
}

#[tokio::main]
async fn main() -> ExitCode {
    tether_cli::init_logging("info");
    let args = Args::parse();
    let mut config = RelayConfig::new(args.listen, args.data_dir.unwrap_or_else(default_data_dir));
    config.code_ttl = Duration::from_secs(args.code_ttl_secs);
    config.idle_timeout = Duration::from_secs(args.idle_timeout_secs);

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
