//! The ways to reach the machine: `ssh` straight to the local sshd, `ssh` to it through a
//! forwarding process, and `tether-viewer shell` through the relay to the enrolled agent.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use tether_tests::{
    binary,
    organisation::{Organisation, TechnicianFiles},
};

use crate::{cpu, forwarder::Forwarder, sshd::Sshd, terminal::Terminal};

/// The name the agent is enrolled under.
pub const MACHINE: &str = "web-01";

/// A shell client and the server processes that do its work on the other side.
pub struct Client {
    /// `ssh`, `ssh + hop` or `Tether`, as the table heads its column.
    pub name: &'static str,
    program: PathBuf,
    /// The arguments that open an interactive shell (`/bin/sh`) on the client's terminal.
    interactive: Vec<String>,
    /// The arguments that a command's words follow, to run it on pipes.
    command_prefix: Vec<String>,
    /// Processes whose CPU time, with their reaped children's, is the server side's.
    servers: Vec<u32>,
}

impl Client {
    /// `ssh` to our own sshd; the remote account's login shell runs `/bin/sh`, as the
    /// agent's `--shell /bin/sh` does.
    pub fn ssh(sshd: &Sshd) -> Self {
        Self::ssh_with("ssh", sshd.client_args(), vec![sshd.pid()])
    }

    /// `ssh` to our own sshd through `forwarder`, one process hop each way as Tether's relay.
    pub fn ssh_forwarded(sshd: &Sshd, forwarder: &Forwarder) -> Self {
        Self::ssh_with(
            "ssh + hop",
            sshd.client_args_to(forwarder.port()),
            vec![sshd.pid(), forwarder.pid()],
        )
    }

    fn ssh_with(name: &'static str, base: Vec<String>, servers: Vec<u32>) -> Self {
        let with = |extra: &[&str]| -> Vec<String> {
            let mut args = base.clone();
            args.extend(extra.iter().map(|arg| arg.to_string()));
            args
        };
        Self {
            name,
            program: PathBuf::from("ssh"),
            interactive: with(&["-tt", "127.0.0.1", "/bin/sh"]),
            command_prefix: with(&["-T", "127.0.0.1"]),
            servers,
        }
    }

    /// `tether-viewer shell web-01` as `technician`, through the organisation's relay to the
    /// agent (started with `--shell /bin/sh`).
    pub fn tether(org: &Organisation, technician: &TechnicianFiles) -> anyhow::Result<Self> {
        let mut interactive = vec!["shell".to_owned(), MACHINE.to_owned()];
        interactive.extend(org.technician_args(technician));
        let mut command_prefix = interactive.clone();
        command_prefix.push("--".to_owned());
        Ok(Self {
            name: "Tether",
            program: binary("tether-viewer"),
            interactive,
            command_prefix,
            servers: vec![
                cpu::child_named("tether-relay")?,
                cpu::child_named("tether-agent")?,
            ],
        })
    }

    /// Starts an interactive shell on a pseudo-terminal of its own.
    pub fn terminal(&self) -> anyhow::Result<Terminal> {
        Terminal::start(self.name, &self.program, &self.interactive)
    }

    /// The command line that runs `argv` remotely on pipes; standard input empty, output
    /// piped.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.command_prefix)
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// CPU time used so far by the server side, reaped children included.
    pub fn server_cpu(&self) -> anyhow::Result<std::time::Duration> {
        cpu::total_of(&self.servers)
    }
}
