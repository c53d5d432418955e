//! The baseline: Debian's OpenSSH server, started here on 127.0.0.1 with keys and a
//! configuration of its own, and the client flags that reach it without prompts.

use std::{
    fs,
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use anyhow::{bail, ensure, Context};

/// sshd re-executes itself by absolute path, so it must be started by one.
const SSHD: &str = "/usr/sbin/sshd";
/// sshd refuses to start without its privilege separation directory (made by systemd's
/// tmpfiles on a booted system).
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long sshd may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Installs `openssh-server` and `openssh-client` with apt-get when `sshd`, `ssh` or
/// `ssh-keygen` is missing, saying so.
pub fn ensure_installed() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    if !Path::new(SSHD).exists() {
        missing.push("openssh-server");
    }
    if !on_path("ssh") || !on_path("ssh-keygen") {
        missing.push("openssh-client");
    }
    if missing.is_empty() {
        return Ok(());
    }
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let update = [sudo, &["apt-get", "update", "-qq"]].concat();
    let install = [
        sudo,
        &["apt-get", "install", "-y", "-qq", "--no-install-recommends"],
        &missing,
    ]
    .concat();
    for command in [update, install] {
        println!("shell_bench: running `{}`", command.join(" "));
        let status = Command::new(command[0])
            .args(&command[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("run {}", command[0]))?;
        ensure!(status.success(), "`{}` failed: {status}", command.join(" "));
    }
    Ok(())
}

/// Whether `program` is found on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Whether this process runs as root (`id -u` prints 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// An sshd of our own on 127.0.0.1, killed (this child only) when dropped.
pub struct Sshd {
    child: Child,
    port: u16,
    client_key: PathBuf,
    /// Holds the keys and the configuration.
    _dir: tempfile::TempDir,
}

impl Sshd {
    /// Generates a host key and a client key, authorises the client key, and starts sshd in
    /// the foreground on a free port; returns once it listens.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("a temporary directory for sshd")?;
        let host_key = dir.path().join("host_ed25519");
        let client_key = dir.path().join("client_ed25519");
        keygen(&host_key)?;
        keygen(&client_key)?;
        let authorized = dir.path().join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).context("write authorized_keys")?;
        let port = free_port()?;
        let config = dir.path().join("sshd_config");
        fs::write(&config, configuration(port, &host_key, &authorized))
            .context("write sshd_config")?;
        if !Path::new(PRIVSEP_DIR).is_dir() {
            println!("shell_bench: creating {PRIVSEP_DIR} (sshd's privilege separation directory)");
            fs::create_dir_all(PRIVSEP_DIR).with_context(|| format!("create {PRIVSEP_DIR}"))?;
        }
        let mut child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {SSHD}"))?;
        let log = child.stderr.take().context("sshd's piped stderr")?;
        let sshd = Self {
            child,
            port,
            client_key,
            _dir: dir,
        };
        wait_until_listening(log)?;
        Ok(sshd)
    }

    /// The process id of the listening sshd (its sessions are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `ssh` options that log in as this user with the generated key, trusting the host key
    /// without remembering it, never prompting, and ignoring the user's own configuration.
    pub fn client_args(&self) -> Vec<String> {
        self.client_args_to(self.port)
    }

    /// [`Sshd::client_args`] for a connection to `port` of 127.0.0.1, which leads here.
    pub fn client_args_to(&self, port: u16) -> Vec<String> {
        let key = self.client_key.to_string_lossy().into_owned();
        let port = port.to_string();
        [
            "-F",
            "/dev/null",
            "-i",
            key.as_str(),
            "-p",
            port.as_str(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            // The default already; said so that nobody wonders.
            "-o",
            "Compression=no",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect()
    }

    /// The key exchange and the cipher a connection negotiates, from `ssh -v`'s log.
    pub fn negotiated(&self) -> String {
        // -v first: the first LogLevel given wins.
        let output = Command::new("ssh")
            .arg("-v")
            .args(self.client_args())
            .args(["-T", "127.0.0.1", "true"])
            .stdin(Stdio::null())
            .output();
        let Ok(output) = output else {
            return "? (ssh -v did not run)".to_owned();
        };
        let log = String::from_utf8_lossy(&output.stderr);
        let found: Vec<&str> = log
            .lines()
            .filter_map(|line| {
                line.strip_prefix("debug1: kex: algorithm: ")
                    .or_else(|| line.strip_prefix("debug1: kex: server->client cipher: "))
            })
            .collect();
        found.join("; ")
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ssh-keygen -q -t ed25519 -N '' -f KEY`.
fn keygen(key: &Path) -> anyhow::Result<()> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "shell_bench", "-f"])
        .arg(key)
        .stdin(Stdio::null())
        .status()
        .context("run ssh-keygen")?;
    ensure!(status.success(), "ssh-keygen failed: {status}");
    Ok(())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The whole sshd configuration: public-key logins only, for the one key, on 127.0.0.1.
///
/// sshd runs every command through the account's login shell. Debian's bash reads `~/.bashrc`
/// even for `bash -c CMD` when it sees `SSH_CLIENT` and `SHLVL` is unset, and an account's
/// `.bashrc` can cost far more than ssh itself (on the machine this was written on, root's
/// runs `pyenv init`: +0.3 s per command). `SHLVL=1` makes bash skip it, so that the baseline
/// is ssh's own cost; the agent, like this, starts commands without reading any rc file.
fn configuration(port: u16, host_key: &Path, authorized: &Path) -> String {
    format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PermitRootLogin prohibit-password\n\
         UsePAM no\n\
         StrictModes no\n\
         PidFile none\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         SetEnv SHLVL=1\n",
        host_key = host_key.display(),
        authorized = authorized.display(),
    )
}

/// Reads sshd's log (`-e`) until it says it listens, then keeps draining it on a thread so
/// that sshd never blocks on a full pipe.
fn wait_until_listening(log: impl std::io::Read + Send + 'static) -> anyhow::Result<()> {
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(log).lines() {
            let Ok(line) = line else { break };
            // Nobody listens after the start: the rest is only drained.
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.starts_with("Server listening on 127.0.0.1") => return Ok(()),
            Ok(line) => seen.push(line),
            Err(_) => bail!(
                "sshd did not start listening; it said:\n{}",
                seen.join("\n")
            ),
        }
    }
}
