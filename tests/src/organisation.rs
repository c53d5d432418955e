//! An organisation for end-to-end tests of enrolled machines: a PKI made with the real
//! `tether-certs`, a relay serving it, enrolled agents and technicians' viewers.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::{binary, output, Process, Relay};

/// A PKI in a temporary directory and a relay on 127.0.0.1 that serves it.
pub struct Organisation {
    /// The relay (its scratch directory also holds the PKI, under `pki`).
    pub relay: Relay,
    pki: PathBuf,
    _scratch: tempfile::TempDir,
}

/// A technician's certificate and key files.
#[derive(Debug, Clone)]
pub struct TechnicianFiles {
    /// The certificate chain (PEM).
    pub cert: String,
    /// The private key (PEM).
    pub key: String,
}

impl Organisation {
    /// Creates a CA and a relay certificate for 127.0.0.1, and starts a relay with them.
    pub fn new() -> Self {
        Self::with_relay_args(&[])
    }

    /// [`Organisation::new`], with `extra` flags for the relay.
    pub fn with_relay_args(extra: &[&str]) -> Self {
        let scratch = tempfile::tempdir().expect("tempdir");
        let pki = scratch.path().join("pki");
        certs_in(&pki, &["init", "--org", "Tether Tests"]);
        certs_in(&pki, &["relay", "127.0.0.1", "localhost"]);
        let path = |name: &str| pki.join(name).to_str().expect("utf-8").to_owned();
        let (cert, key, ca) = (path("relay.pem"), path("relay.key"), path("ca.pem"));
        let mut args = vec!["--tls-cert", &cert, "--tls-key", &key, "--org-ca", &ca];
        args.extend_from_slice(extra);
        let relay = Relay::start(&args);
        Self {
            relay,
            pki,
            _scratch: scratch,
        }
    }

    /// The PKI directory.
    pub fn pki(&self) -> &Path {
        &self.pki
    }

    /// Runs `tether-certs` on this organisation's PKI and asserts it succeeded.
    pub fn certs(&self, args: &[&str]) -> String {
        certs_in(&self.pki, args)
    }

    /// Issues a technician certificate.
    pub fn technician(&self, name: &str, role: &str, valid_for: &str) -> TechnicianFiles {
        self.certs(&["technician", name, "--role", role, "--valid-for", valid_for]);
        let file = |ext: &str| {
            self.pki
                .join("technicians")
                .join(format!("{name}.{ext}"))
                .to_str()
                .expect("utf-8")
                .to_owned()
        };
        TechnicianFiles {
            cert: file("pem"),
            key: file("key"),
        }
    }

    /// Issues an enrollment credential for `machine`; returns its file.
    pub fn enrollment(&self, machine: &str, group: &str) -> String {
        self.certs(&["enroll", machine, "--group", group]);
        self.pki
            .join("enrollments")
            .join(format!("{machine}.pem"))
            .to_str()
            .expect("utf-8")
            .to_owned()
    }

    /// Runs `tether-agent enroll` with `credential` into `state_dir`.
    pub fn enroll(&self, credential: &str, state_dir: &str) -> Output {
        output(
            Command::new(binary("tether-agent"))
                .args(["enroll", "--relay", &self.relay.addr, "--credential"])
                .arg(credential)
                .args(["--state-dir", state_dir]),
        )
    }

    /// Enrolls `machine` in `group` and starts its agent; returns it once online.
    pub fn machine(&self, machine: &str, group: &str) -> Process {
        let credential = self.enrollment(machine, group);
        let state_dir = self.relay.path(&format!("agent-{machine}"));
        let enrolled = self.enroll(&credential, &state_dir);
        assert!(
            enrolled.status.success(),
            "enroll failed: {}",
            String::from_utf8_lossy(&enrolled.stderr)
        );
        let agent = Process::spawn(
            "tether-agent",
            &["run", "--state-dir", &state_dir, "--shell", "/bin/sh"],
            &[],
        );
        agent.stdout.wait_for("online at ");
        agent
    }

    /// The flags that make a viewer `technician` at this relay.
    pub fn technician_args(&self, technician: &TechnicianFiles) -> Vec<String> {
        let ca = self.pki.join("ca.pem").to_str().expect("utf-8").to_owned();
        [
            "--relay",
            &self.relay.addr,
            "--cert",
            &technician.cert,
            "--key",
            &technician.key,
            "--ca",
            &ca,
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect()
    }

    /// `tether-viewer shell MACHINE -- COMMAND...` as `technician`, ready for its stdio to be
    /// set and to be started.
    pub fn shell_command(
        &self,
        technician: &TechnicianFiles,
        machine: &str,
        command: &[&str],
    ) -> Command {
        let mut viewer = Command::new(binary("tether-viewer"));
        viewer
            .args(["shell", machine])
            .args(self.technician_args(technician))
            .arg("--")
            .args(command);
        viewer
    }

    /// [`Self::shell_command`] with an empty standard input; returns its output once it exits.
    pub fn shell(&self, technician: &TechnicianFiles, machine: &str, command: &[&str]) -> Output {
        output(&mut self.shell_command(technician, machine, command))
    }

    /// `tether-viewer machines --json` as `technician`.
    pub fn machines(&self, technician: &TechnicianFiles) -> Output {
        output(
            Command::new(binary("tether-viewer"))
                .arg("machines")
                .args(self.technician_args(technician))
                .arg("--json"),
        )
    }
}

impl Default for Organisation {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `tether-certs --dir PKI ARGS...` and asserts it succeeded; returns its stdout.
fn certs_in(pki: &Path, args: &[&str]) -> String {
    let output = output(
        Command::new(binary("tether-certs"))
            .args(args)
            .arg("--dir")
            .arg(pki),
    );
    assert!(
        output.status.success(),
        "tether-certs {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
