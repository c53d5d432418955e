//! `tether-agent`: shares this machine's screen through a Tether relay.

use std::process::ExitCode;

use clap::Parser;
use tether_agent::{
    open_screen, terminal::spawn_terminal_front_end, AgentConfig, AgentEvent, ConsentPolicy,
    DemoSettings, ScreenChoice,
};
use tether_capture::MonitorChoice;
use tether_cli::RelayArgs;
use tokio::sync::mpsc;

/// Shares this machine's screen with a technician through a Tether relay.
///
/// Connects to the relay, prints a one-time session code (`session code: 123-456-789-012`) for
/// the user to read to the technician, and streams the screen to the viewer that joins with it.
/// The code's last six digits never reach the relay: they key an end-to-end handshake, so the
/// relay only ever forwards ciphertext. Before anything is shared, the user is asked on this
/// terminal whether the technician may see (and control) the screen; pressing Enter during the
/// session ends it. The agent exits when the session ends: 0 when it ended normally or was
/// declined, 1 on errors.
///
/// The screen shared is the X11 display (`--display`, default `DISPLAY`) captured through
/// MIT-SHM with XDamage, so an idle screen costs nothing; the technician's mouse and keyboard
/// are replayed on it through XTEST. Without a display, the built-in demo desktop is shared.
#[derive(Debug, Parser)]
#[command(name = "tether-agent", version)]
struct Args {
    #[command(flatten)]
    relay: RelayArgs,

    /// How this machine is shown to the technician (default: the host name).
    #[arg(long, env = "TETHER_AGENT_NAME")]
    name: Option<String>,

    /// Upper bound on screen captures per second.
    #[arg(long, env = "TETHER_MAX_FPS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=240))]
    max_fps: u32,

    /// What to share: the X11 display when reachable (auto), only the display (x11), or the
    /// built-in demo desktop (demo).
    #[arg(long, env = "TETHER_SCREEN", value_enum, default_value_t = ScreenChoice::Auto)]
    screen: ScreenChoice,

    /// The X display to share and control [default: $DISPLAY].
    #[arg(long, env = "TETHER_DISPLAY")]
    display: Option<String>,

    /// Which monitor to share: "all" (the whole desktop as one picture) or a monitor's number
    /// (0 is the first RandR monitor).
    #[arg(long, env = "TETHER_MONITOR", default_value = "all", value_parser = parse_monitor)]
    monitor: MonitorChoice,

    /// Size of the demo desktop, WIDTHxHEIGHT.
    #[arg(long, env = "TETHER_DEMO_SIZE", default_value = "1280x720", value_parser = tether_cli::parse_size)]
    demo_size: (u32, u32),

    /// Seed of the demo desktop (its pictures are a pure function of seed and frame number).
    #[arg(long, env = "TETHER_DEMO_SEED", default_value_t = 1)]
    demo_seed: u64,

    /// Admit every technician with what it asks for, without asking anyone. For unattended
    /// machines and scripted tests only: every such session is logged with a warning.
    #[arg(long, env = "TETHER_AUTO_ACCEPT")]
    auto_accept: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tether_cli::init_logging("info");
    let args = Args::parse();
    let (consent, stop) = if args.auto_accept {
        tracing::warn!("--auto-accept: technicians will be admitted without asking anyone");
        (ConsentPolicy::AutoAccept, None)
    } else {
        let (requests, stop) = spawn_terminal_front_end();
        (ConsentPolicy::Ask(requests), Some(stop))
    };
    let (width, height) = args.demo_size;
    let demo = DemoSettings {
        width,
        height,
        seed: args.demo_seed,
    };
    let screen = match open_screen(args.screen, args.display.as_deref(), args.monitor, demo) {
        Ok(screen) => screen,
        Err(e) => {
            eprintln!("tether-agent: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("sharing: {}", screen.source.describe());
    let config = AgentConfig {
        consent,
        stop,
        input: screen.input,
        target: args.relay.target(),
        name: args
            .name
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned()),
        max_fps: args.max_fps,
    };

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            print_event(&event);
        }
    });
    let result = tether_agent::run(config, screen.source, events_tx).await;
    let _ = printer.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what the user needs to see on stdout (scripts read the `session code:` line).
fn print_event(event: &AgentEvent) {
    match event {
        AgentEvent::Connected {
            fingerprint,
            first_use,
        } => {
            if *first_use {
                println!("relay trusted on first use: {fingerprint}");
            }
        }
        AgentEvent::Code {
            code,
            expires_in_secs,
        } => {
            println!("session code: {code}");
            println!(
                "Read this code to your technician; it works once, for {} minutes.",
                expires_in_secs / 60
            );
        }
        AgentEvent::CodeExpired => println!("The code expired unused; here is a new one."),
        AgentEvent::CodeBurned { reason } => {
            println!("code burnt: {reason}");
            println!("That code no longer works.");
        }
        AgentEvent::SessionDeclined { viewer } => println!("session declined: {viewer}"),
        AgentEvent::SessionStarted {
            viewer, granted, ..
        } => {
            println!("session started: {viewer} ({granted})")
        }
        AgentEvent::SessionEnded { reason } => println!("session ended: {reason}"),
        AgentEvent::RelayLost { reason, retry_in } => println!(
            "relay unreachable: {reason}; trying again in {:.1} s",
            retry_in.as_secs_f64()
        ),
    }
}

/// Parses `--monitor`: "all" or a monitor number.
fn parse_monitor(value: &str) -> Result<MonitorChoice, String> {
    match value {
        "all" => Ok(MonitorChoice::All),
        number => number
            .parse()
            .map(MonitorChoice::Index)
            .map_err(|_| format!("expected \"all\" or a monitor number, got {number:?}")),
    }
}
