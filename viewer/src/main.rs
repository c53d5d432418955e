//! `tether-viewer`: the technician's client.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Args, Parser, Subcommand};
use tether_certs::Fingerprint;
use tether_proto::SessionCode;
use tether_transport::{default_known_relays_path, RelayTarget};
use tether_viewer::{
    demo::{self, DemoOptions, DemoReport},
    join,
    window::{display_available, LiveView, ViewerWindow},
    write_png, JoinOptions, ViewerError,
};
use tokio::{runtime::Runtime, sync::Notify};

/// Frame updates a headless demo receives unless told otherwise.
const HEADLESS_DEMO_FRAMES: u64 = 90;

/// The technician's client: joins a user's session by its one-time code.
///
/// Exit codes: 0 done, 1 error, 2 bad usage, 3 join refused (wrong, expired or used code),
/// 4 the session ended from the other side, 5 the relay is unreachable or not trusted.
#[derive(Debug, Parser)]
#[command(name = "tether-viewer", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Join the session whose code the user read out (e.g. 123-456-789).
    Join(JoinArgs),
    /// Run a complete local session: relay, agent (built-in demo desktop) and viewer in this
    /// process. Shows it in a window when a display exists; always writes the final picture as
    /// a PNG and prints a summary.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
struct JoinArgs {
    /// The session code, e.g. 123-456-789.
    code: SessionCode,

    /// The relay, as HOST:PORT.
    #[arg(long, env = "TETHER_RELAY")]
    relay: String,

    /// Require the relay's certificate to have this fingerprint (`sha256:HEX`). Without it the
    /// known-relays file is used, trusting a new relay on first use.
    #[arg(long, env = "TETHER_RELAY_FINGERPRINT")]
    relay_fingerprint: Option<Fingerprint>,

    /// The known-relays file (default: ~/.config/tether/known_relays).
    #[arg(long, env = "TETHER_KNOWN_RELAYS")]
    known_relays: Option<PathBuf>,

    /// How you are shown to the user (default: your host name).
    #[arg(long, env = "TETHER_VIEWER_NAME")]
    name: Option<String>,

    /// Write the remote screen to this PNG after --frames updates, then exit.
    #[arg(long, requires = "frames")]
    snapshot: Option<PathBuf>,

    /// Frame updates to receive before exiting (default: until the session ends).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    frames: Option<u64>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Frame updates to receive (default: 90 headless; until the window is closed otherwise).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    frames: Option<u64>,

    /// Demo desktop size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = tether_cli::parse_size)]
    size: (u32, u32),

    /// Demo desktop seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Where to write the final picture.
    #[arg(long, default_value = "tether-demo.png")]
    snapshot: PathBuf,

    /// Never open a window, even when a display exists.
    #[arg(long)]
    headless: bool,
}

fn main() -> ExitCode {
    tether_cli::init_logging("warn");
    let cli = Cli::parse();
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether-viewer: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Join(args) => runtime.block_on(run_join(args)),
        Command::Demo(args) => run_demo(&runtime, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-viewer: {e}");
            e.exit_code()
        }
    }
}

async fn run_join(args: JoinArgs) -> Result<(), ViewerError> {
    let options = JoinOptions {
        target: RelayTarget {
            relay: args.relay,
            fingerprint: args.relay_fingerprint,
            known_relays: args.known_relays.unwrap_or_else(default_known_relays_path),
        },
        code: args.code,
        name: args
            .name
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned()),
        frames: args.frames,
        observer: None,
        stop: None,
    };
    let outcome = tokio::select! {
        outcome = join(&options) => outcome?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted");
            return Ok(());
        }
    };
    println!(
        "received {} frames ({} bytes) from {} showing {}",
        outcome.frames, outcome.bytes, outcome.agent, outcome.screen
    );
    if let Some(path) = args.snapshot {
        write_png(&outcome.framebuffer, &path)?;
        println!(
            "snapshot: {} (frame {}, {}x{})",
            path.display(),
            outcome.last_seq,
            outcome.framebuffer.width(),
            outcome.framebuffer.height()
        );
    }
    Ok(())
}

fn run_demo(runtime: &Runtime, args: DemoArgs) -> Result<(), ViewerError> {
    let (width, height) = args.size;
    let options = DemoOptions {
        frames: args.frames,
        width,
        height,
        seed: args.seed,
        snapshot: args.snapshot,
        observer: None,
        stop: None,
    };
    if !args.headless && display_available() {
        match ViewerWindow::new() {
            Ok((window, live)) => return run_demo_in_window(runtime, options, window, live),
            Err(e) => eprintln!("tether-viewer: no window ({e:#}); running headless"),
        }
    }
    let options = DemoOptions {
        frames: Some(options.frames.unwrap_or(HEADLESS_DEMO_FRAMES)),
        ..options
    };
    let report = runtime.block_on(demo::run(&options))?;
    print_demo_report(&report, &options);
    require_bit_exact(&report)
}

/// Runs the demo session on the runtime while the window owns the main thread. The session
/// ends at `--frames` (the window then stays open on the last frame) or when the window closes.
fn run_demo_in_window(
    runtime: &Runtime,
    options: DemoOptions,
    window: ViewerWindow,
    live: LiveView,
) -> Result<(), ViewerError> {
    let stop = Arc::new(Notify::new());
    let options = DemoOptions {
        observer: Some(live.observer()),
        stop: Some(stop.clone()),
        ..options
    };
    let size = (options.width, options.height);
    let session = runtime.spawn(async move {
        let result = demo::run(&options).await;
        match &result {
            Ok(report) => {
                print_demo_report(report, &options);
                live.ended(format!(
                    "demo complete after {} frames",
                    report.outcome.frames
                ));
            }
            Err(e) => live.ended(format!("{e:#}")),
        }
        result
    });
    let shown = window.run("demo agent".to_owned(), size);
    stop.notify_one();
    let report = runtime
        .block_on(session)
        .map_err(|e| anyhow::anyhow!("the demo session crashed: {e}"))??;
    match shown {
        Ok(shown) => println!("  window         {} frames presented", shown.presented),
        Err(e) => eprintln!("tether-viewer: the window failed: {e:#}"),
    }
    require_bit_exact(&report)
}

fn print_demo_report(report: &DemoReport, options: &DemoOptions) {
    let outcome = &report.outcome;
    let secs = outcome.elapsed.as_secs_f64().max(1e-3);
    println!("Tether demo: relay, agent and viewer in one process");
    println!(
        "  relay          {} (QUIC, pinned certificate)",
        report.relay
    );
    println!("  session code   {}", report.code);
    println!("  agent screen   {}", outcome.screen);
    println!(
        "  received       {} frame updates in {:.1} s ({:.1} fps)",
        outcome.frames,
        secs,
        outcome.frames.saturating_sub(1) as f64 / secs
    );
    println!(
        "  traffic        {} bytes, {:.0} bytes/frame, {:.0} kbit/s",
        outcome.bytes,
        outcome.bytes as f64 / outcome.frames.max(1) as f64,
        outcome.bytes as f64 * 8.0 / 1000.0 / secs
    );
    println!(
        "  bit-exact      {}",
        if report.bit_exact {
            "yes: the viewer's framebuffer equals the agent's screen"
        } else {
            "NO: the viewer's framebuffer differs from the agent's screen"
        }
    );
    println!("  snapshot       {}", options.snapshot.display());
}

fn require_bit_exact(report: &DemoReport) -> Result<(), ViewerError> {
    if report.bit_exact {
        Ok(())
    } else {
        Err(anyhow::anyhow!("decoded picture is not bit-exact").into())
    }
}
