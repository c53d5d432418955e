//! `tether-viewer`: the technician's client.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Args, Parser, Subcommand};
use tether_cli::{exit, RelayArgs};
use tether_proto::{session::Capabilities, Printable, SessionCode};
use tether_viewer::{
    join, join_shell,
    technician::{self, RemoteProgram, ShellOutcome, TechnicianArgs},
    view::ViewMode,
    window::{display_available, run_console, LiveView},
    write_png, Finished, JoinEvent, JoinOptions, ViewerError, Viewing,
};
use tokio::{runtime::Runtime, sync::Notify};

/// The technician's client: joins a user's session by its one-time code.
///
/// Every session is encrypted end to end: the code's last six digits never reach the relay and
/// key a handshake with the agent; both sides then show the same security digits.
///
/// `join` ends when the user ends the session, after `--frames` updates, or when you close the
/// window or press Ctrl-C (or send SIGTERM), which the user hears of as the technician ending
/// the session. Without a window it then prints what it received (`received N frames ...`,
/// the rate, latency percentiles) and how it ended (`ended: ...`), whatever the ending.
///
/// Exit codes: 0 done, 1 error, 2 bad usage, 3 join refused (wrong, expired or used code, or
/// the user declined), 4 the session ended from the other side, 5 the relay is unreachable or
/// not trusted, 6 the session could not be secured (wrong code or tampering; the code is then
/// spent: ask the user for the new one their agent shows).
#[derive(Debug, Parser)]
#[command(name = "tether-viewer", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Join the session whose code the user read out (e.g. 123-456-789-012). With --shell,
    /// ask for a shell on the user's computer instead of the screen: the user is asked as for
    /// the screen, and the shell then works as `tether-viewer shell` does (interactive here,
    /// or `-- CMD ARGS...`; `~.` drops it; exits with the remote program's status, 255 when
    /// the shell could not be opened).
    Join(JoinArgs),
    /// List the enrolled machines your role may reach, and whether each is online. Needs a
    /// technician certificate from the organisation's CA. Exit codes: 0 listed, 1 error, 3
    /// refused by the relay.
    Machines(MachinesArgs),
    /// Open a shell on an enrolled machine, like ssh: interactive on this terminal (when
    /// standard input is not a terminal, the login shell reads its commands from it), or with
    /// `-- CMD ARGS...` run one command (its output, errors and exit status come back; no
    /// terminal needed; with `-t`, on a remote terminal). Type `~.` after Enter to drop a hung
    /// session, `~?` for the other escapes. Exits with the remote program's status; 255 when
    /// the shell could not be opened or the connection failed (as ssh does).
    Shell(ShellArgs),
}

#[derive(Debug, Args)]
struct MachinesArgs {
    #[command(flatten)]
    technician: TechnicianArgs,

    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShellArgs {
    /// The enrolled machine's name.
    machine: String,

    #[command(flatten)]
    technician: TechnicianArgs,

    /// Run the command on a remote terminal, as `ssh -t` does: for full-screen or
    /// interactive programs (`top`, `vi FILE`, `sudo ...`). Needs a terminal here. Without
    /// it a command runs on pipes, fit for scripts.
    #[arg(short = 't', long = "tty")]
    tty: bool,

    /// A command to run instead of the login shell, after `--`.
    #[arg(last = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
struct JoinArgs {
    /// The session code, e.g. 123-456-789-012.
    code: SessionCode,

    /// Ask only to see the screen, not to control it.
    #[arg(long)]
    view_only: bool,

    /// How the window shows the remote screen at first: scaled to fit, or actual size (one
    /// to one, scrolled by moving the pointer to the window's edges). Ctrl+Alt+Shift+S
    /// switches between them.
    #[arg(long, value_enum, default_value_t = ViewMode::Fit)]
    view: ViewMode,

    #[command(flatten)]
    relay: RelayArgs,

    /// How you are shown to the user (default: your host name).
    #[arg(long, env = "TETHER_VIEWER_NAME")]
    name: Option<String>,

    /// Write the remote screen to this PNG after --frames updates, then exit (no window).
    #[arg(long, requires = "frames")]
    snapshot: Option<PathBuf>,

    /// Never open a window, even when a display exists.
    #[arg(long)]
    headless: bool,

    /// Frame updates to receive before exiting (default: until the session ends).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    frames: Option<u64>,

    /// Ask for a shell on the user's computer instead of the screen.
    #[arg(long, conflicts_with_all = ["view_only", "snapshot", "frames", "headless"])]
    shell: bool,

    /// With --shell: run the command on a remote terminal, as `ssh -t` does.
    #[arg(short = 't', long = "tty", requires = "shell")]
    tty: bool,

    /// With --shell: a command to run instead of the login shell, after `--`.
    #[arg(last = true, requires = "shell")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    // winit warns about harmless display quirks (e.g. Xvfb reporting a 0 mm screen).
    tether_cli::init_logging("warn,winit=error");
    let cli = Cli::parse();
    let runtime = match runtime_for(&cli.command) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether-viewer: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match cli.command {
        Command::Join(args) if args.shell => runtime.block_on(run_join_shell(args)),
        Command::Join(args) => run_join(&runtime, args),
        Command::Machines(args) => runtime.block_on(run_machines(args)),
        Command::Shell(args) => runtime.block_on(run_shell(args)),
    }
}

// `shell` exits as the shell crate's viewers do when Tether itself failed.
const _: () = assert!(exit::SHELL_FAILED == tether_shell::DISCONNECTED_EXIT_CODE);

async fn run_machines(args: MachinesArgs) -> ExitCode {
    let machines = match technician::list_machines(&args.technician).await {
        Ok(machines) => machines,
        Err(e) => {
            eprintln!("tether-viewer: {e:#}");
            let refused = e.downcast_ref::<technician::RelayRefused>().is_some();
            return ExitCode::from(if refused {
                exit::REFUSED
            } else {
                exit::FAILURE
            });
        }
    };
    if args.json {
        for machine in &machines {
            let line = serde_json::json!({
                "name": machine.name,
                "group": machine.group,
                "online": machine.online,
                "last_seen_secs_ago": machine.last_seen_secs_ago,
            });
            println!("{line}");
        }
    } else if machines.is_empty() {
        println!("no machines your role may reach");
    } else {
        print!("{}", technician::machines_table(&machines));
    }
    ExitCode::from(exit::SUCCESS)
}

async fn run_shell(args: ShellArgs) -> ExitCode {
    let program = remote_program(args.command, args.tty);
    let opened = technician::open_shell(&args.technician, &args.machine, program).await;
    shell_exit(opened, &args.machine)
}

async fn run_join_shell(args: JoinArgs) -> ExitCode {
    let program = remote_program(args.command, args.tty);
    let name = args
        .name
        .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned());
    let mut progress = Progress::default();
    let mut report = |event| {
        progress.report(event);
    };
    let target = args.relay.target();
    let joined = join_shell(&target, args.code, &name, program, &mut report).await;
    shell_exit(joined.map_err(Into::into), "the user's computer")
}

/// What to run remotely: as ssh, the login shell gets a terminal when there is one here; a
/// command only with -t.
fn remote_program(command: Vec<String>, tty: bool) -> RemoteProgram {
    let command = (!command.is_empty()).then_some(command);
    let on_terminal = match command {
        None => std::io::stdin().is_terminal(),
        Some(_) => tty,
    };
    RemoteProgram {
        command,
        on_terminal,
    }
}

/// A shell's exit code, as ssh's: the remote program's status, 255 when Tether failed.
fn shell_exit(outcome: anyhow::Result<ShellOutcome>, peer: &str) -> ExitCode {
    match outcome {
        Ok(ShellOutcome::Exited(status)) => ExitCode::from(tether_shell::exit_code(&status)),
        Ok(ShellOutcome::Disconnected) => {
            eprintln!("tether-viewer: connection to {peer} closed.");
            ExitCode::from(exit::SHELL_FAILED)
        }
        Err(e) => {
            eprintln!("tether-viewer: {e:#}");
            ExitCode::from(exit::SHELL_FAILED)
        }
    }
}

/// The shell is one connection and a terminal, like ssh's single loop: on one thread, each
/// keystroke and echo is handled where it is woken instead of handed between threads (which
/// measurably slows the echo). Windows decode frames beside the network, so they get workers.
fn runtime_for(command: &Command) -> std::io::Result<Runtime> {
    match command {
        Command::Shell(_) | Command::Join(JoinArgs { shell: true, .. }) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        Command::Join(_) | Command::Machines(_) => Runtime::new(),
    }
}

fn run_join(runtime: &Runtime, args: JoinArgs) -> ExitCode {
    let options = JoinOptions {
        target: args.relay.target(),
        code: args.code,
        wants: if args.view_only {
            Capabilities::VIEW_ONLY
        } else {
            Capabilities::VIEW_AND_CONTROL
        },
        events: None,
        input: None,
        name: args
            .name
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned()),
        frames: args.frames,
        observer: None,
        cursor: None,
        stop: None,
    };
    let snapshot = args.snapshot;
    if snapshot.is_none() && !args.headless && display_available() {
        let title = format!("session {}", options.code);
        let windowed = options.clone();
        let window = ((1280, 720), args.view);
        let shown = run_console(runtime, title, window, move |live, stop| async move {
            let options = JoinOptions {
                events: Some(follow_progress(Some(live.clone()))),
                observer: Some(live.observer()),
                cursor: Some(live.cursor_observer()),
                input: Some(live.input()),
                stop: Some(stop),
                ..windowed
            };
            let viewing = join(&options).await;
            match &viewing.ended {
                Ok(_) => live.ended(format!(
                    "session ended: {} frames received",
                    viewing.outcome.frames
                )),
                Err(e) => live.failed(e),
            }
            Ok(viewing)
        });
        match shown {
            Some(Ok(viewing)) => return report_join(&viewing, None),
            Some(Err(e)) => {
                eprintln!("tether-viewer: {e}");
                return e.exit_code();
            }
            None => eprintln!("tether-viewer: running headless"),
        }
    }
    // Ctrl-C and SIGTERM end the session as the technician's choice, as closing the window does.
    let stop = Arc::new(Notify::new());
    let viewing = runtime.block_on(async {
        tokio::spawn(stop_on_signals(stop.clone()));
        let options = JoinOptions {
            events: Some(follow_progress(None)),
            stop: Some(stop),
            ..options
        };
        join(&options).await
    });
    report_join(&viewing, snapshot.as_deref())
}

/// Ends the viewing on Ctrl-C or SIGTERM, as the technician's end of the session; quits at
/// once on a second one.
async fn stop_on_signals(stop: Arc<Notify>) {
    tether_cli::shutdown_signal().await;
    stop.notify_one();
    tether_cli::shutdown_signal().await;
    eprintln!("tether-viewer: stopped at once");
    std::process::exit(i32::from(exit::FAILURE));
}

/// Prints what the viewing received and how it ended, whatever the ending, on stdout (one
/// `key: value` line each, the first `received N frames ...`), writes the snapshot of a
/// viewing that ended as asked, and returns the exit code the ending means.
fn report_join(viewing: &Viewing, snapshot: Option<&std::path::Path>) -> ExitCode {
    let outcome = &viewing.outcome;
    let mut received = format!(
        "received {} frames ({} bytes)",
        outcome.frames, outcome.bytes
    );
    if let Some(agent) = &outcome.agent {
        received.push_str(&format!(" from {}", Printable(agent)));
    }
    if let Some(screen) = &outcome.screen {
        received.push_str(&format!(" showing {}", Printable(screen)));
    }
    println!("{received}");
    let secs = outcome.elapsed.as_secs_f64();
    let kbits = if secs > 0.0 {
        outcome.bytes as f64 * 8.0 / 1000.0 / secs
    } else {
        0.0
    };
    println!(
        "rate: {:.1} fps, {kbits:.0} kbit/s over {secs:.2} s",
        outcome.fps()
    );
    if !outcome.latency.is_empty() {
        println!("latency p50/p99 ms: {}", outcome.latency.summary());
    }
    if outcome.resumes > 0 {
        println!(
            "resumed {} time(s) after the connection was lost",
            outcome.resumes
        );
    }
    let finished = match &viewing.ended {
        Ok(finished) => finished,
        Err(e) => {
            let why = match e {
                ViewerError::Ended(reason) => reason.to_string(),
                other => other.to_string(),
            };
            println!("ended: {why}");
            eprintln!("tether-viewer: {e}");
            return e.exit_code();
        }
    };
    println!(
        "ended: {}",
        match finished {
            Finished::FramesReceived => "the frames asked for were received",
            Finished::Stopped => "you ended the session",
        }
    );
    if let (Some(path), Some(frame)) = (snapshot, &outcome.framebuffer) {
        if let Err(e) = write_png(frame, path) {
            eprintln!("tether-viewer: {e:#}");
            return ExitCode::from(exit::FAILURE);
        }
        println!(
            "snapshot: {} (frame {}, {}x{})",
            path.display(),
            outcome.last_seq.unwrap_or_default(),
            frame.width(),
            frame.height()
        );
    }
    ExitCode::from(exit::SUCCESS)
}

/// Starts telling the technician how joining goes; returns where the session reports it.
fn follow_progress(window: Option<LiveView>) -> tokio::sync::mpsc::UnboundedSender<JoinEvent> {
    let (events, progress) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(print_progress(progress, window));
    events
}

/// Tells the technician, on stderr and in the window's title, how joining goes: the security
/// digits to compare with the user's, and when the user has answered.
async fn print_progress(
    mut events: tokio::sync::mpsc::UnboundedReceiver<JoinEvent>,
    window: Option<LiveView>,
) {
    let mut progress = Progress::default();
    while let Some(event) = events.recv().await {
        if let Some(window) = &window {
            window.progress(event.clone());
        }
        let status = progress.report(event);
        if let Some(window) = &window {
            window.status(status);
        }
    }
}

/// How joining goes, as the technician is told it.
#[derive(Default)]
struct Progress {
    /// The security digits, once known.
    digits: String,
}

impl Progress {
    /// Tells the technician on stderr; returns the window's status line.
    fn report(&mut self, event: JoinEvent) -> String {
        let digits = &mut self.digits;
        match event {
            JoinEvent::Paired { agent } => {
                let agent = Printable(&agent);
                eprintln!("Connected to {agent}.");
                format!("securing the session with {agent}")
            }
            JoinEvent::Secured { sas } => {
                eprintln!("security digits: {sas}");
                eprintln!("The user sees the same digits. Waiting for the user to accept...");
                *digits = format!("digits {sas}");
                format!("{digits} · waiting for the user to accept")
            }
            JoinEvent::Admitted { granted } => {
                eprintln!("admitted: {granted}");
                format!("{digits} · {granted}")
            }
            JoinEvent::ConnectionLost => {
                eprintln!("connection to the relay lost; taking the session back...");
                format!("{digits} · connection lost, reconnecting")
            }
            JoinEvent::Resumed { after } => {
                eprintln!("session resumed after {} ms", after.as_millis());
                format!("{digits} · resumed")
            }
        }
    }
}
