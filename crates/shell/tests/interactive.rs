//! `run_interactive` end to end: this binary starts itself as a viewer on a pseudo-terminal
//! (the technician's terminal), wired to an agent in the same process, and types at it.

use std::{
    io::{Read, Write},
    process::ExitCode,
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use nix::sys::termios::LocalFlags;
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use tether_shell::{
    channel, exit_code, receive_open, run_interactive, serve_shell, ShellConfig,
    DISCONNECTED_EXIT_CODE,
};

/// Set in the environment of the copy of this binary that plays the viewer.
const VIEWER_ROLE: &str = "TETHER_SHELL_TEST_VIEWER";
/// The remote shell's prompt (dash takes PS1 from the environment).
const PROMPT: &str = "remote$ ";
const STEP: Duration = Duration::from_secs(20);

type Scenario = fn(&mut Viewer) -> Result<(), String>;

fn main() -> ExitCode {
    if std::env::var_os(VIEWER_ROLE).is_some() {
        return viewer();
    }
    let scenarios: [(&str, Scenario); 5] = [
        (
            "exit_status_comes_back_and_the_terminal_is_restored",
            exit_status,
        ),
        ("tilde_dot_drops_a_hung_session", tilde_dot),
        (
            "ctrl_c_interrupts_the_remote_program_not_the_viewer",
            ctrl_c,
        ),
        ("window_size_changes_follow", resize),
        ("tilde_question_mark_lists_the_escapes", help),
    ];
    let mut failed = 0;
    for (name, scenario) in scenarios {
        let result = Viewer::start().and_then(|mut viewer| {
            let result = scenario(&mut viewer);
            viewer.stop();
            result.map_err(|error| format!("{error}\n--- terminal:\n{}", viewer.screen()))
        });
        match result {
            Ok(()) => println!("test {name} ... ok"),
            Err(error) => {
                failed += 1;
                println!("test {name} ... FAILED\n{error}");
            }
        }
    }
    println!(
        "interactive: {} passed, {failed} failed",
        scenarios.len() - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The viewer: `run_interactive` against an agent on the same process, exiting as
/// `tether-viewer shell` would.
fn viewer() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(async {
        let (mut requests, mut agent_requests) = channel(8);
        let (mut agent_responses, mut responses) = channel(8);
        tokio::spawn(async move {
            if let Ok(open) = receive_open(&mut agent_requests).await {
                let _ = serve_shell(
                    open,
                    &ShellConfig::default(),
                    &mut agent_responses,
                    &mut agent_requests,
                )
                .await;
            }
        });
        match run_interactive(Some(vec!["sh".to_owned()]), &mut requests, &mut responses).await {
            Ok(status) => exit_code(&status),
            Err(error) => {
                eprintln!("viewer: {error}");
                DISCONNECTED_EXIT_CODE
            }
        }
    });
    // At once: the thread reading the keyboard is still blocked in its read.
    std::process::exit(i32::from(code))
}

/// A viewer process on a pseudo-terminal, and what it has shown.
struct Viewer {
    master: Box<dyn MasterPty + Send>,
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    output: mpsc::Receiver<Vec<u8>>,
    shown: Vec<u8>,
    /// Where in `shown` the next expectation starts looking.
    mark: usize,
}

impl Viewer {
    fn start() -> Result<Self, String> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|error| error.to_string())?;
        let exe = std::env::current_exe().map_err(|error| error.to_string())?;
        let mut command = CommandBuilder::new(exe);
        command.env(VIEWER_ROLE, "1");
        command.env("PS1", PROMPT);
        command.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(command)
            .map_err(|error| error.to_string())?;
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .map_err(|error| error.to_string())?;
        let keyboard = pair
            .master
            .take_writer()
            .map_err(|error| error.to_string())?;
        let (sender, output) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || sender.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut viewer = Self {
            master: pair.master,
            keyboard,
            child,
            output,
            shown: Vec::new(),
            mark: 0,
        };
        viewer.expect(PROMPT)?;
        Ok(viewer)
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.shown).into_owned()
    }

    /// Waits until the terminal shows `pattern` after the previous expectation.
    fn expect(&mut self, pattern: &str) -> Result<(), String> {
        let deadline = Instant::now() + STEP;
        loop {
            let after = String::from_utf8_lossy(&self.shown[self.mark..]).into_owned();
            if let Some(at) = after.find(pattern) {
                self.mark += after[..at + pattern.len()].len();
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.shown.extend(bytes),
                Err(_) => return Err(format!("{pattern:?} never showed")),
            }
        }
    }

    fn type_keys(&mut self, keys: &[u8]) -> Result<(), String> {
        self.keyboard
            .write_all(keys)
            .and_then(|()| self.keyboard.flush())
            .map_err(|error| error.to_string())
    }

    /// The viewer's exit code, once it exits.
    fn exit_code(&mut self) -> Result<u32, String> {
        let deadline = Instant::now() + STEP;
        while Instant::now() < deadline {
            match self.child.try_wait().map_err(|error| error.to_string())? {
                Some(status) => {
                    // Collect what it printed last.
                    while let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(100)) {
                        self.shown.extend(bytes);
                    }
                    return Ok(status.exit_code());
                }
                None => thread::sleep(Duration::from_millis(20)),
            }
        }
        Err("the viewer did not exit".to_owned())
    }

    /// Whether the terminal is in raw mode (no line editing, no echo).
    fn is_raw(&self) -> Result<bool, String> {
        let termios = self.master.get_termios().ok_or("no termios")?;
        Ok(!termios
            .local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO))
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn expect_code(viewer: &mut Viewer, expected: u32) -> Result<(), String> {
    let code = viewer.exit_code()?;
    if code != expected {
        return Err(format!("exit code {code}, expected {expected}"));
    }
    if viewer.is_raw()? {
        return Err("the terminal was left in raw mode".to_owned());
    }
    Ok(())
}

fn exit_status(viewer: &mut Viewer) -> Result<(), String> {
    if !viewer.is_raw()? {
        return Err("the terminal is not in raw mode during the session".to_owned());
    }
    viewer.type_keys(b"echo $((6*7))\r")?;
    viewer.expect("42")?;
    viewer.type_keys(b"exit 5\r")?;
    expect_code(viewer, 5)
}

fn tilde_dot(viewer: &mut Viewer) -> Result<(), String> {
    viewer.type_keys(b"sleep 1000\r")?;
    thread::sleep(Duration::from_millis(200));
    viewer.type_keys(b"\r~.")?;
    expect_code(viewer, u32::from(DISCONNECTED_EXIT_CODE))?;
    viewer.expect("disconnected (~.)")
}

fn ctrl_c(viewer: &mut Viewer) -> Result<(), String> {
    viewer.type_keys(b"sleep 1000\r")?;
    thread::sleep(Duration::from_millis(300));
    viewer.type_keys(&[0x03])?;
    viewer.expect(PROMPT)?;
    viewer.type_keys(b"echo after-$((1+1))\r")?;
    viewer.expect("after-2")?;
    viewer.type_keys(b"exit 3\r")?;
    expect_code(viewer, 3)
}

fn resize(viewer: &mut Viewer) -> Result<(), String> {
    viewer
        .master
        .resize(PtySize {
            rows: 33,
            cols: 111,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|error| error.to_string())?;
    // SIGWINCH and the resize race the command: ask again until the new size shows.
    let mut tries = 0;
    loop {
        viewer.type_keys(b"stty size\r")?;
        viewer.expect(PROMPT)?;
        if viewer.screen().contains("33 111") {
            break;
        }
        tries += 1;
        if tries == 10 {
            return Err("the remote terminal kept its old size".to_owned());
        }
        thread::sleep(Duration::from_millis(100));
    }
    viewer.type_keys(b"exit\r")?;
    expect_code(viewer, 0)
}

fn help(viewer: &mut Viewer) -> Result<(), String> {
    viewer.type_keys(b"~?")?;
    viewer.expect("Supported escape sequences")?;
    // Nothing reached the remote line, so this is still the start of one: ~~ sends one ~.
    viewer.type_keys(b"~~tilde-command\r")?;
    viewer.expect("tilde-command: not found")?;
    if viewer.screen().contains("~~tilde") {
        return Err("both tildes reached the remote".to_owned());
    }
    viewer.type_keys(b"exit 0\r")?;
    expect_code(viewer, 0)
}
