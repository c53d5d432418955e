//! `tether-demo`: a complete local Tether session in one process.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use tether_agent::ScreenChoice;
use tether_demo::{DemoOptions, DemoReport};
use tether_viewer::{
    view::ViewMode,
    window::{display_available, run_in_window},
    ViewerError,
};
use tokio::{runtime::Runtime, sync::Notify};

/// Frame updates a headless demo receives unless told otherwise.
const HEADLESS_DEMO_FRAMES: u64 = 90;
/// The longest a headless demo runs: a real screen sends updates only when it changes, so an
/// idle one may never send 90.
const HEADLESS_DEMO_TIME: Duration = Duration::from_secs(5);

/// Runs a complete local session: a relay on 127.0.0.1, an agent (this machine's screen when
/// DISPLAY is set, the built-in demo desktop otherwise) and a viewer joining it by code, all in
/// this process.
///
/// With a display the session appears in a window until you close it (it shows the screen it
/// is on, like a mirror); headless, it receives 90 updates or runs 5 s, whichever comes first.
/// Either way it checks that the viewer's picture equals what the agent captured byte for
/// byte, writes it as a PNG and prints a summary.
///
/// Exit codes: 0 the session was bit-exact, 1 it failed or was not bit-exact, 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "tether-demo", version)]
struct Cli {
    /// What the demo agent shares: this machine's X11 screen when DISPLAY is set (auto), only
    /// the X11 screen (x11), or the built-in demo desktop (demo).
    #[arg(long, value_enum, default_value_t = ScreenChoice::Auto)]
    screen: ScreenChoice,

    /// Frame updates to receive (default: 90 headless, for at most 5 s; until the window is
    /// closed otherwise).
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
    // winit warns about harmless display quirks (e.g. Xvfb reporting a 0 mm screen).
    tether_cli::init_logging("warn,winit=error");
    let cli = Cli::parse();
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether-demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&runtime, cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(runtime: &Runtime, cli: Cli) -> Result<(), ViewerError> {
    let (width, height) = cli.size;
    let options = DemoOptions {
        screen: cli.screen,
        frames: cli.frames,
        width,
        height,
        seed: cli.seed,
        snapshot: cli.snapshot,
        observer: None,
        cursor: None,
        stop: None,
    };
    if !cli.headless && display_available() {
        let size = (options.width, options.height);
        let windowed = options.clone();
        let shown = run_in_window(
            runtime,
            "demo agent".to_owned(),
            (size, ViewMode::Fit),
            |live, stop| async move {
                let options = DemoOptions {
                    observer: Some(live.observer()),
                    cursor: Some(live.cursor_observer()),
                    stop: Some(stop),
                    ..windowed
                };
                let result = tether_demo::run(&options).await;
                match &result {
                    Ok(report) => {
                        print_report(report, &options);
                        live.ended(format!(
                            "session ended: demo complete after {} frames",
                            report.outcome.frames
                        ));
                    }
                    Err(e) => live.ended(format!("{e:#}")),
                }
                result.map_err(ViewerError::from)
            },
        );
        match shown {
            Some(report) => return require_bit_exact(&report?),
            None => eprintln!("tether-demo: running headless"),
        }
    }
    let stop = Arc::new(Notify::new());
    let options = DemoOptions {
        frames: Some(options.frames.unwrap_or(HEADLESS_DEMO_FRAMES)),
        stop: Some(stop.clone()),
        ..options
    };
    let report = runtime.block_on(async {
        let deadline = tokio::spawn(async move {
            tokio::time::sleep(HEADLESS_DEMO_TIME).await;
            stop.notify_one();
        });
        let report = tether_demo::run(&options).await;
        deadline.abort();
        report
    })?;
    print_report(&report, &options);
    require_bit_exact(&report)
}

fn print_report(report: &DemoReport, options: &DemoOptions) {
    let outcome = &report.outcome;
    let secs = outcome.elapsed.as_secs_f64().max(1e-3);
    println!("Tether demo: relay, agent and viewer in one process");
    println!(
        "  relay          {} (QUIC, pinned certificate)",
        report.relay
    );
    println!("  session code   {}", report.code);
    println!(
        "  agent screen   {}",
        outcome.screen.as_deref().unwrap_or("?")
    );
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
