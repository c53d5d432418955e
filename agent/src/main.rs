//! `tether-agent`: shares this machine's screen through a Tether relay.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use tether_agent::{
    dialog::{spawn_dialog_front_end, LiveState},
    machine, open_screen,
    terminal::spawn_terminal_front_end,
    AgentConfig, AgentEvent, ConsentPolicy, DemoSettings, InputTarget, ScreenChoice,
};
use tether_capture::MonitorChoice;
use tether_cli::{exit, RelayArgs};
use tether_proto::Printable;
use tether_shell::ShellConfig;
use tokio::sync::{mpsc, Notify};

/// Shares this machine's screen with a technician through a Tether relay.
///
/// Connects to the relay, prints a one-time session code (`session code: 123-456-789-012`) for
/// the user to read to the technician, and streams the screen to the viewer that joins with it.
/// The code's last six digits never reach the relay: they key an end-to-end handshake, so the
/// relay only ever forwards ciphertext. Before anything is shared, the user is asked whether
/// the technician may see (and control) the screen: in a small dialog on the shared display, or
/// on this terminal (see `--consent`). During the session, the dialog's End session button (or
/// Enter on the terminal) ends it; so do Ctrl-C and SIGTERM, which the technician hears of as
/// the user ending the session (before a session, they withdraw the code; a second one quits
/// at once). The agent exits when the session ends: 0 when it ended normally, was declined or
/// was stopped, 1 on errors.
///
/// The screen shared is the X11 display (`--display`, default `DISPLAY`) captured through
/// MIT-SHM with XDamage, so an idle screen costs nothing; the technician's mouse and keyboard
/// are replayed on it through XTEST. Without a display, the built-in demo desktop is shared.
///
/// Servers nobody sits at are enrolled instead and kept online for the organisation's
/// technicians to open shells on: see `tether-agent enroll --help` and `tether-agent run --help`.
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

    /// Where the user is asked: a dialog on the shared X display when there is one (auto), a
    /// dialog on the X display (dialog), or this terminal (terminal). A dialog that cannot
    /// open falls back to the terminal.
    #[arg(long, env = "TETHER_CONSENT", value_enum, default_value_t = ConsentChoice::Auto)]
    consent: ConsentChoice,
}

/// Where the user is asked for consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ConsentChoice {
    /// The dialog when the shared screen is an X display, else the terminal.
    Auto,
    /// The terminal.
    Terminal,
    /// The dialog, on the shared X display or else on `--display` / `DISPLAY`.
    Dialog,
}

/// How consent is asked, and how the front end learns of and ends sessions.
struct FrontEnd {
    consent: ConsentPolicy,
    stop: Option<Arc<Notify>>,
    /// The dialog's indicator, when the dialog asks.
    live: Option<mpsc::UnboundedSender<LiveState>>,
}

/// `tether-agent enroll|run`: unattended mode, parsed apart from the attended flags (whose
/// `--relay` is required).
#[derive(Debug, Parser)]
#[command(name = "tether-agent", version)]
struct MachineCli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands of unattended mode.
const MACHINE_COMMANDS: [&str; 2] = ["enroll", "run"];

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Enrolls this machine with an organisation's relay, using a one-time enrollment credential
    /// (`tether-certs enroll MACHINE`). Generates the machine's key (kept in the state
    /// directory, owner-only) and prints its fingerprint, keeps the technicians' roles the
    /// credential names (the machine serves no other), and deletes the credential (it refuses
    /// to start where it could not). Exit codes: 0 enrolled, 1 error, 3 refused by the relay.
    Enroll(EnrollArgs),
    /// Keeps this enrolled machine online for technicians' shells, reconnecting with backoff
    /// whenever the relay goes away. Runs until stopped (e.g. as a systemd service). Exit
    /// codes: 1 error, 3 the relay does not know this machine.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
struct EnrollArgs {
    /// The organisation's relay, as HOST:PORT; its certificate must be issued by the
    /// organisation's CA for HOST.
    #[arg(long, env = "TETHER_RELAY")]
    relay: String,

    /// The enrollment credential (certificate, CA and key in one PEM file). It works once, and
    /// is deleted once the machine has enrolled.
    #[arg(long, env = "TETHER_ENROLLMENT_CREDENTIAL")]
    credential: PathBuf,

    /// Where the machine's identity is kept [default: ~/.local/share/tether-agent].
    #[arg(long, env = "TETHER_AGENT_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Where `enroll` kept the machine's identity [default: ~/.local/share/tether-agent].
    #[arg(long, env = "TETHER_AGENT_STATE_DIR")]
    state_dir: Option<PathBuf>,

    /// Use this relay (HOST:PORT) instead of the one the machine enrolled with.
    #[arg(long, env = "TETHER_RELAY")]
    relay: Option<String>,

    /// The program shells run, with its arguments [default: the account's login shell].
    #[arg(long, env = "TETHER_SHELL", num_args = 1.., value_delimiter = ' ')]
    shell: Option<Vec<String>>,

    /// Run shells as this account (the agent must run as root) [default: the agent's own].
    #[arg(long, env = "TETHER_SHELL_USER")]
    shell_user: Option<String>,
}

/// How long a stopping `run` keeps printing what its open shells report.
const STOP_REPORT_WAIT: Duration = Duration::from_secs(3);
/// The log directive that keeps enigo's X11 backend to its errors.
const QUIET_ENIGO: &str = "enigo::platform::x11=error";

#[tokio::main]
async fn main() -> ExitCode {
    // enigo warns about normal operation at every session (an X server with a modifier
    // mapped to no key, as Xvfb and many desktops have); its errors still show.
    tether_cli::init_logging_quieting("info", &[QUIET_ENIGO]);
    let first = std::env::args().nth(1);
    if !first.is_some_and(|arg| MACHINE_COMMANDS.contains(&arg.as_str())) {
        return share(Args::parse()).await;
    }
    match MachineCli::parse().command {
        Command::Enroll(args) => enroll(args).await,
        Command::Run(args) => run_machine(args).await,
    }
}

fn state_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("tether-agent")
    })
}

async fn enroll(args: EnrollArgs) -> ExitCode {
    let state_dir = state_dir(args.state_dir);
    match machine::enroll(&args.relay, &args.credential, &state_dir).await {
        Ok(enrolled) => {
            println!(
                "enrolled: {} (group {}) at {}",
                Printable(&enrolled.machine),
                Printable(&enrolled.group),
                args.relay
            );
            println!("machine key: {}", enrolled.key_fingerprint);
            println!("accepts technicians of {}", enrolled.accepted_roles);
            println!("state: {}", state_dir.display());
            let credential = args.credential.display();
            match &enrolled.credential_deleted {
                Ok(()) => println!(
                    "deleted {credential}: the credential (its private key with it) works once \
                     and has done its job; the organisation's admin now runs `tether-certs \
                     enrolled {}`",
                    Printable(&enrolled.machine)
                ),
                Err(e) => eprintln!(
                    "tether-agent: WARNING: could not delete {credential} ({e}): delete it now, \
                     since whoever copies its key can pose as this machine until the \
                     organisation retires it (`tether-certs enrolled`)"
                ),
            }
            ExitCode::from(exit::SUCCESS)
        }
        Err(e) => machine_failure(&e),
    }
}

/// Reports an unattended-mode failure; exit code 3 when the relay refused the machine.
fn machine_failure(error: &anyhow::Error) -> ExitCode {
    eprintln!("tether-agent: {error:#}");
    if error.downcast_ref::<machine::RelayRefused>().is_some() {
        ExitCode::from(exit::REFUSED)
    } else {
        ExitCode::from(exit::FAILURE)
    }
}

async fn run_machine(args: RunArgs) -> ExitCode {
    let state_dir = state_dir(args.state_dir);
    let state = match machine::MachineState::load(&state_dir) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("tether-agent: {e:#}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    println!(
        "machine: {} (group {})",
        state.record.machine, state.record.group
    );
    let config = machine::MachineConfig {
        state,
        relay: args.relay,
        shell: ShellConfig {
            shell: args.shell,
            user: args.shell_user,
        },
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            print_machine_event(&event);
        }
    });
    let result = machine::run_machine(config, events_tx, tether_cli::shutdown_signal()).await;
    // Shells still open report how they end, for a moment; leaving `main` hangs up the rest.
    let _ = tokio::time::timeout(STOP_REPORT_WAIT, printer).await;
    match result {
        Ok(()) => {
            println!("stopped: offline at the relay");
            ExitCode::from(exit::SUCCESS)
        }
        Err(e) => machine_failure(&e),
    }
}

/// Prints an enrolled machine's progress (scripts read the `online` line).
fn print_machine_event(event: &machine::MachineEvent) {
    use machine::MachineEvent;
    match event {
        MachineEvent::Online { relay } => println!("online at {relay}"),
        MachineEvent::Revocations { revoked } => {
            println!("revocation list updated: {revoked} certificates revoked")
        }
        MachineEvent::RelayLost { reason, retry_in } => println!(
            "relay unreachable: {reason}; trying again in {:.1} s",
            retry_in.as_secs_f64()
        ),
        MachineEvent::ShellOpened {
            session_id,
            technician,
            role,
            data_path,
        } => {
            let via = if *data_path {
                "the data path"
            } else {
                "the relayed stream"
            };
            println!("session {session_id}: shell opened by {technician} ({role}) on {via}")
        }
        MachineEvent::ShellEnded {
            session_id,
            outcome,
        } => println!("session {session_id}: shell ended: {outcome}"),
        MachineEvent::ShellRefused { session_id, reason } => {
            println!("session {session_id}: refused: {reason}")
        }
    }
}

async fn share(args: Args) -> ExitCode {
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
            return ExitCode::from(exit::FAILURE);
        }
    };
    println!("sharing: {}", screen.source.describe());
    let front_end = if args.auto_accept {
        tracing::warn!("--auto-accept: technicians will be admitted without asking anyone");
        FrontEnd {
            consent: ConsentPolicy::AutoAccept,
            stop: None,
            live: None,
        }
    } else {
        open_front_end(args.consent, screen.input.as_ref(), args.display.as_deref())
    };
    // The user's end of the session (Enter, End session) or a signal: either ends it as the
    // user's choice.
    let stop = front_end.stop.unwrap_or_default();
    tokio::spawn(stop_on_signals(stop.clone()));
    let config = AgentConfig {
        consent: front_end.consent,
        stop: Some(stop),
        input: screen.input,
        target: args.relay.target(),
        name: args
            .name
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned()),
        max_fps: args.max_fps,
    };

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let live = front_end.live;
    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            print_event(&event);
            if let (Some(live), Some(state)) = (&live, LiveState::from_event(&event)) {
                let _ = live.send(state);
            }
        }
    });
    let result = tether_agent::run(config, screen.source, events_tx).await;
    let _ = printer.await;
    match result {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            eprintln!("tether-agent: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// Ends the session (or stops a waiting agent) on Ctrl-C or SIGTERM, as the user's end; quits
/// at once on a second one.
async fn stop_on_signals(stop: Arc<Notify>) {
    tether_cli::shutdown_signal().await;
    stop.notify_one();
    tether_cli::shutdown_signal().await;
    eprintln!("tether-agent: stopped at once");
    std::process::exit(i32::from(exit::FAILURE));
}

/// Opens the consent front end `choice` names. The dialog goes on the shared X display
/// (`shared`), or for an explicit `--consent dialog` on `display` / `DISPLAY`; when it cannot
/// open, the terminal asks instead.
fn open_front_end(
    choice: ConsentChoice,
    shared: Option<&InputTarget>,
    display: Option<&str>,
) -> FrontEnd {
    let dialog_display = match choice {
        ConsentChoice::Terminal => None,
        ConsentChoice::Auto => shared.map(|target| target.display.clone()),
        ConsentChoice::Dialog => {
            let display = shared
                .map(|target| target.display.clone())
                .or_else(|| display.map(str::to_owned))
                .or_else(|| std::env::var("DISPLAY").ok())
                .filter(|display| !display.is_empty());
            if display.is_none() {
                tracing::warn!("no X display for the consent dialog: asking on this terminal");
            }
            display
        }
    };
    if let Some(display) = dialog_display {
        match spawn_dialog_front_end(&display) {
            Ok(dialog) => {
                println!("consent: asking in a dialog on display {display}");
                return FrontEnd {
                    consent: ConsentPolicy::Ask(dialog.requests),
                    stop: Some(dialog.stop),
                    live: Some(dialog.live),
                };
            }
            Err(e) => tracing::warn!("no consent dialog ({e}): asking on this terminal"),
        }
    }
    let (requests, stop) = spawn_terminal_front_end();
    FrontEnd {
        consent: ConsentPolicy::Ask(requests),
        stop: Some(stop),
        live: None,
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
        AgentEvent::SessionDeclined { viewer } => {
            println!("session declined: {}", Printable(viewer))
        }
        AgentEvent::SessionStarted {
            viewer, granted, ..
        } => {
            println!("session started: {} ({granted})", Printable(viewer))
        }
        AgentEvent::ViewerLost => println!(
            "session paused: the technician's connection was lost; waiting for it to come back"
        ),
        AgentEvent::SessionResumed => println!("session resumed"),
        AgentEvent::SessionEnded { reason } => println!("session ended: {reason}"),
        AgentEvent::Stopped => println!("stopped before a session began"),
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
