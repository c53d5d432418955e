//! The relay every test talks to: the real `tether-relay` binary on 127.0.0.1 with an
//! ephemeral port and a data directory of its own, and the agents and viewers started against
//! it.

use std::process::{Command, Output};

use crate::{output, process::binary, Process};

/// A relay on 127.0.0.1 with an ephemeral port and its own data directory.
pub struct Relay {
    /// The process.
    pub process: Process,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `sha256:HEX`.
    pub fingerprint: String,
    /// Where its metrics endpoint listens, when started with `--metrics-listen`.
    pub metrics: Option<String>,
    /// Scratch space for the relay and its clients (known-relays files, snapshots).
    pub dir: tempfile::TempDir,
    /// The extra arguments it was started with (kept for restarts).
    extra: Vec<String>,
}

impl Relay {
    /// Starts a relay with extra arguments and waits until it is ready.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", extra)
    }

    /// Starts a relay listening on `listen` (`[::1]:0`, say) with extra arguments, and waits
    /// until it is ready.
    pub fn start_on(listen: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("relay");
        let data = data.to_str().expect("utf-8 path");
        let mut args = vec!["--listen", listen, "--data-dir", data];
        args.extend_from_slice(extra);
        let process = Process::spawn("tether-relay", &args, &[]);
        let addr = process.stdout.wait_for("listening on ");
        let fingerprint = process.stdout.wait_for("fingerprint: ");
        let metrics = metrics_line(&process, extra);
        Self {
            process,
            addr,
            fingerprint,
            metrics,
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

    /// Starts the relay again once it has exited, on the same address with the same data
    /// directory and arguments.
    pub fn start_again(&mut self) {
        let data = self.data_dir();
        let mut args = vec!["--listen", self.addr.as_str(), "--data-dir", data.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        self.process = Process::spawn("tether-relay", &args, &[]);
        let addr = self.process.stdout.wait_for("listening on ");
        assert_eq!(addr, self.addr, "the restarted relay listens elsewhere");
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.metrics = metrics_line(&self.process, &extra);
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

    /// The relay's data directory (its identity, keys and database).
    pub fn data_dir(&self) -> String {
        self.path("relay")
    }

    /// Runs `tether-relay ARGS... --data-dir DATA` (an administration command) against this
    /// relay's data directory.
    pub fn admin(&self, args: &[&str]) -> Output {
        output(
            Command::new(binary("tether-relay"))
                .args(args)
                .args(["--data-dir", &self.data_dir()]),
        )
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

/// The metrics endpoint's address a relay started with `extra` prints, if it serves one.
fn metrics_line(process: &Process, extra: &[&str]) -> Option<String> {
    extra
        .contains(&"--metrics-listen")
        .then(|| process.stdout.wait_for("metrics on "))
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
