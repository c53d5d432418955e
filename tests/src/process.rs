//! The workspace's binaries as child processes: built on first use, their output read as it
//! comes, and every wait on them bounded by [`TIMEOUT`].

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio},
    sync::{mpsc, Arc, Mutex, OnceLock},
    thread,
    time::{Duration, Instant},
};

use crate::TIMEOUT;

/// How often waits on a process (which sends no event when it exits) look again.
const POLL: Duration = Duration::from_millis(20);

/// Path of one of the workspace's binaries, built on first use.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // Test executables live in target/<profile>/deps.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable inside target/<profile>/deps")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        // The same feature resolution as `cargo test --workspace`: a narrower build would
        // compile a second copy of much of the dependency tree. Each binary crate has
        // integration tests, so cargo builds its executable here.
        build.args(["test", "--workspace", "--no-run", "--quiet"]);
        // Cargo gives test processes the variables of their own package; build scripts (ring's
        // among them) rerun when those change, so passing them on would rebuild half the
        // dependency tree on every test run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let per_package = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
                .iter()
                .any(|prefix| key.starts_with(prefix))
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "OUT_DIR",
                ]
                .contains(&key.as_ref());
            if per_package {
                build.env_remove(key.as_ref());
            }
        }
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the binaries failed");
        profile_dir
    });
    dir.join(name)
}

/// Runs `command` to its end with an empty stdin and returns what it printed, as
/// [`Command::output`] does, but fails the test (killing it) if it runs longer than
/// [`TIMEOUT`].
pub fn output(command: &mut Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    wait_with_output(child)
}

/// Waits for `child` to exit and collects its piped stdout and stderr, as
/// [`Child::wait_with_output`] does, but fails the test (killing it) if it runs longer than
/// [`TIMEOUT`].
pub fn wait_with_output(mut child: Child) -> Output {
    let stdout = child.stdout.take().map(read_to_end);
    let stderr = child.stderr.take().map(read_to_end);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {TIMEOUT:?}", child.id());
        }
        thread::sleep(POLL);
    };
    // A grandchild may hold a pipe open after the child exits: its output is not waited for.
    let collect = |bytes: Option<mpsc::Receiver<Vec<u8>>>| {
        bytes.map_or_else(Vec::new, |bytes| {
            let left = deadline.saturating_duration_since(Instant::now());
            bytes
                .recv_timeout(left)
                .expect("the process's output did not end")
        })
    };
    Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }
}

/// Reads `stream` to its end on a thread of its own; the bytes arrive on the channel.
fn read_to_end(mut stream: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// Lines a child printed on one of its streams, collected by a reader thread.
pub struct Lines {
    all: Arc<Mutex<Vec<String>>>,
    fresh: Mutex<mpsc::Receiver<String>>,
}

impl Lines {
    /// Collects the lines `stream` prints from now on.
    pub(crate) fn collect(stream: impl Read + Send + 'static) -> Self {
        let all = Arc::new(Mutex::new(Vec::new()));
        let (tx, fresh) = mpsc::channel();
        let sink = all.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Self {
            all,
            fresh: Mutex::new(fresh),
        }
    }

    /// Waits for the next line not yet taken by [`Lines::next_line`] or [`Lines::wait_for`].
    pub fn next_line(&self) -> String {
        self.fresh
            .lock()
            .unwrap()
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("no further line; got:\n{}", self.text()))
    }

    /// Waits for the next line starting with `prefix` and returns the rest of it.
    pub fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let fresh = self.fresh.lock().unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match fresh.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(_) => panic!("no line starting with {prefix:?}; got:\n{}", self.text()),
            }
        }
    }

    /// Waits until some line (already printed or still to come) contains `needle`.
    pub fn wait_for_substring(&self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.all.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "nothing containing {needle:?}; got:\n{}",
                self.text()
            );
            thread::sleep(POLL);
        }
    }

    /// Everything printed so far.
    pub fn text(&self) -> String {
        self.all.lock().unwrap().join("\n")
    }
}

/// A running binary, killed when dropped.
pub struct Process {
    child: Child,
    /// Its standard output.
    pub stdout: Lines,
    /// Its standard error (logs).
    pub stderr: Lines,
    stdin: Option<ChildStdin>,
}

impl Process {
    /// Starts `name` with `args` and extra environment, its stdin empty.
    pub fn spawn<S: AsRef<OsStr>>(name: &str, args: &[S], env: &[(&str, &str)]) -> Self {
        Self::start(name, args, env, Stdio::null())
    }

    /// Starts `name` with a stdin the test types into with [`Process::type_line`].
    pub fn spawn_interactive<S: AsRef<OsStr>>(
        name: &str,
        args: &[S],
        env: &[(&str, &str)],
    ) -> Self {
        Self::start(name, args, env, Stdio::piped())
    }

    /// Starts `command` as it is (its environment untouched) with `stdin`: a pipe
    /// ([`Stdio::piped`]) is typed into with [`Process::type_line`].
    pub fn spawn_command(command: Command, stdin: Stdio) -> Self {
        Self::launch(command, stdin)
    }

    fn launch(mut command: Command, stdin: Stdio) -> Self {
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = Lines::collect(child.stdout.take().expect("piped stdout"));
        let stderr = Lines::collect(child.stderr.take().expect("piped stderr"));
        let stdin = child.stdin.take();
        Self {
            child,
            stdout,
            stderr,
            stdin,
        }
    }

    /// Types `line` and Enter on the process's stdin (see [`Process::spawn_interactive`]).
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("spawned with a piped stdin");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    fn start<S: AsRef<OsStr>>(name: &str, args: &[S], env: &[(&str, &str)], stdin: Stdio) -> Self {
        let mut command = Command::new(binary(name));
        command
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info");
        Self::launch(command, stdin)
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads drain the pipes.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit; stdout:\n{}\nstderr:\n{}",
                self.stdout.text(),
                self.stderr.text()
            );
            thread::sleep(POLL);
        }
    }

    /// Waits for the process to exit with `code` and asserts that its stderr mentions `words`.
    pub fn expect_exit(&mut self, code: i32, words: &str) {
        let status = self.wait();
        let stderr = self.stderr.text();
        assert_eq!(status.code(), Some(code), "stderr: {stderr}");
        assert!(stderr.contains(words), "expected {words:?} in: {stderr}");
    }

    /// Asks the process to stop (SIGTERM), as systemd does, without waiting for it.
    pub fn ask_to_stop(&self) {
        self.signal("TERM");
    }

    /// Sends the process the signal `name` (`INT` as Ctrl-C does, `TERM`, ...), without waiting.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Asks the process to stop (SIGTERM) and waits until it has; returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        self.ask_to_stop();
        self.wait()
    }

    /// Kills the process at once (SIGKILL: no goodbye reaches its peers).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
