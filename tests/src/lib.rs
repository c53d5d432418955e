//! Harness for Tether's end-to-end tests: runs the real `tether-relay`, `tether-agent` and
//! `tether-viewer` binaries on 127.0.0.1 with ephemeral ports and reads what they print.
//!
//! The binaries are (re)built once per test process with the same cargo, profile and command
//! as `cargo test --workspace` (so after that command it is a no-op), and a test never runs
//! against a stale binary.

pub mod display;
pub mod evil_relay;
pub mod in_process;
pub mod organisation;
pub mod resume_client;
pub mod snapshot;
pub mod udp_proxy;
pub mod x11_clients;

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex, OnceLock},
    thread,
    time::{Duration, Instant},
};

/// How long any single wait in a test may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

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

/// Lines a child printed on one of its streams, collected by a reader thread.
pub struct Lines {
    all: Arc<Mutex<Vec<String>>>,
    fresh: mpsc::Receiver<String>,
}

impl Lines {
    fn collect(stream: impl Read + Send + 'static) -> Self {
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
        Self { all, fresh }
    }

    /// Waits for the next line starting with `prefix` and returns the rest of it.
    pub fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.fresh.recv_timeout(left) {
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
            thread::sleep(Duration::from_millis(20));
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

    /// Types `line` and Enter on the process's stdin (see [`Process::spawn_interactive`]).
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("spawned with spawn_interactive");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    fn start<S: AsRef<OsStr>>(name: &str, args: &[S], env: &[(&str, &str)], stdin: Stdio) -> Self {
        let mut command = Command::new(binary(name));
        command
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
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
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit with `code` and asserts that its stderr mentions `words`.
    pub fn expect_exit(&mut self, code: i32, words: &str) {
        let status = self.wait();
        let stderr = self.stderr.text();
        assert_eq!(status.code(), Some(code), "stderr: {stderr}");
        assert!(stderr.contains(words), "expected {words:?} in: {stderr}");
    }

    /// Asks the process to stop (SIGTERM) and waits until it has; returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
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

/// A relay on 127.0.0.1 with an ephemeral port and its own data directory.
pub struct Relay {
    /// The process.
    pub process: Process,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `sha256:HEX`.
    pub fingerprint: String,
    /// Scratch space for the relay and its clients (known-relays files, snapshots).
    pub dir: tempfile::TempDir,
    /// The extra arguments it was started with (kept for restarts).
    extra: Vec<String>,
}

impl Relay {
    /// Starts a relay with extra arguments and waits until it is ready.
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("relay");
        let data = data.to_str().expect("utf-8 path");
        let mut args = vec!["--listen", "127.0.0.1:0", "--data-dir", data];
        args.extend_from_slice(extra);
        let process = Process::spawn("tether-relay", &args, &[]);
        let addr = process.stdout.wait_for("listening on ");
        let fingerprint = process.stdout.wait_for("fingerprint: ");
        Self {
            process,
            addr,
            fingerprint,
            dir,
            extra: extra.iter().map(|arg| arg.to_string()).collect(),
        }
    }

    /// Stops the relay the way systemd does (SIGTERM), waits for it to exit, and starts it
    /// again on the same address with the same data directory (so the same identity).
    pub fn restart(&mut self) {
        self.process.terminate();
        self.start_again();
    }

    /// Kills the relay at once (SIGKILL: its clients hear no goodbye, as in a crash or a power
    /// cut) and starts it again on the same address with the same data directory.
    pub fn crash_and_restart(&mut self) {
        self.process.kill();
        self.start_again();
    }

    fn start_again(&mut self) {
        let data = self.path("relay");
        let mut args = vec!["--listen", self.addr.as_str(), "--data-dir", data.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        self.process = Process::spawn("tether-relay", &args, &[]);
        let addr = self.process.stdout.wait_for("listening on ");
        assert_eq!(addr, self.addr, "the restarted relay listens elsewhere");
    }

    /// A path inside the scratch directory.
    pub fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("utf-8")
            .to_owned()
    }

    /// Starts an agent with the given demo seed and size, pinned to this relay and admitting
    /// technicians without asking (`--auto-accept`), and waits for its session code.
    pub fn agent(&self, seed: u64, size: &str) -> (Process, String) {
        let known = self.path("agent_known_relays");
        let agent = Process::spawn(
            "tether-agent",
            &agent_args(
                &self.addr,
                &self.fingerprint,
                seed,
                size,
                &["--auto-accept"],
            ),
            &[("TETHER_KNOWN_RELAYS", &known)],
        );
        let code = agent.stdout.wait_for("session code: ");
        (agent, code)
    }

    /// Starts an agent that asks for consent on its stdin, as a user at a terminal would see
    /// it, and waits for its session code.
    pub fn attended_agent(&self, seed: u64, size: &str) -> (Process, String) {
        let known = self.path("agent_known_relays");
        let agent = Process::spawn_interactive(
            "tether-agent",
            &agent_args(&self.addr, &self.fingerprint, seed, size, &[]),
            &[("TETHER_KNOWN_RELAYS", &known)],
        );
        let code = agent.stdout.wait_for("session code: ");
        (agent, code)
    }

    /// Starts `tether-viewer join CODE` against this relay (pinned) with extra arguments.
    pub fn viewer(&self, code: &str, extra: &[&str]) -> Process {
        let mut args = vec!["--relay-fingerprint", self.fingerprint.as_str()];
        args.extend_from_slice(extra);
        self.viewer_trusting(code, &args, &self.path("viewer_known_relays"))
    }

    /// Starts `tether-viewer join CODE` (pinned) with its window on X display `display`.
    pub fn viewer_on_display(&self, code: &str, display: &str) -> Process {
        self.viewer_on_display_with(code, display, &[])
    }

    /// Like [`Relay::viewer_on_display`], with extra arguments.
    pub fn viewer_on_display_with(&self, code: &str, display: &str, extra: &[&str]) -> Process {
        let known = self.path("viewer_known_relays");
        let mut args = vec![
            "join",
            code,
            "--relay",
            &self.addr,
            "--relay-fingerprint",
            &self.fingerprint,
        ];
        args.extend_from_slice(extra);
        Process::spawn(
            "tether-viewer",
            &args,
            &[
                ("TETHER_KNOWN_RELAYS", known.as_str()),
                ("DISPLAY", display),
            ],
        )
    }

    /// Starts `tether-viewer join CODE` without a pinned fingerprint: trust comes from the
    /// known-relays file `known_relays` (or first use).
    pub fn viewer_trusting(&self, code: &str, extra: &[&str], known_relays: &str) -> Process {
        let mut args = vec!["join", code, "--relay", &self.addr];
        args.extend_from_slice(extra);
        Process::spawn(
            "tether-viewer",
            &args,
            &[("TETHER_KNOWN_RELAYS", known_relays)],
        )
    }
}

/// Command-line arguments of an agent pinned to a relay, sharing a demo desktop of `size` drawn
/// from `seed` unless `extra` chooses another `--screen`.
pub fn agent_args(
    relay: &str,
    fingerprint: &str,
    seed: u64,
    size: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--relay",
        relay,
        "--relay-fingerprint",
        fingerprint,
        "--demo-seed",
        &seed.to_string(),
        "--demo-size",
        size,
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    if !extra.contains(&"--screen") {
        args.extend(["--screen".to_owned(), "demo".to_owned()]);
    }
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}
