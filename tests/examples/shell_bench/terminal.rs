//! A client (`ssh -tt`, `tether-viewer shell`) on a pseudo-terminal opened here, as a
//! terminal emulator runs it: this process types on the master side and reads what the client
//! shows.

use std::{
    io::{Read, Write},
    path::Path,
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

/// The local terminal's size (and so the remote one's).
const SIZE: PtySize = PtySize {
    rows: 24,
    cols: 80,
    pixel_width: 0,
    pixel_height: 0,
};
/// The longest any expected output may take.
const WAIT: Duration = Duration::from_secs(30);
/// How much of the latest output an error shows.
const SHOWN_TAIL: usize = 600;

/// Output read from the master, stamped when `read` returned.
struct Chunk {
    at: Instant,
    bytes: Vec<u8>,
}

/// A client program running on a local pseudo-terminal.
pub struct Terminal {
    name: &'static str,
    /// Kept open for the child's sake: closing the master hangs its terminal up.
    _master: Box<dyn MasterPty + Send>,
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    screen: mpsc::Receiver<Chunk>,
    /// Everything read so far, for error messages.
    shown: Vec<u8>,
}

impl Terminal {
    /// Starts `program args...` on a new 80x24 pseudo-terminal with `TERM=xterm-256color`.
    /// A thread reads the master and stamps each read, so that the time it takes to hand the
    /// output over does not count.
    pub fn start(name: &'static str, program: &Path, args: &[String]) -> anyhow::Result<Self> {
        let pair = native_pty_system()
            .openpty(SIZE)
            .context("open a pseudo-terminal")?;
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(command)
            .with_context(|| format!("start {}", program.display()))?;
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader()?;
        let keyboard = pair.master.take_writer()?;
        let (tx, screen) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n) = reader.read(&mut buf) {
                let chunk = Chunk {
                    at: Instant::now(),
                    bytes: buf[..n].to_vec(),
                };
                if n == 0 || tx.send(chunk).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name,
            _master: pair.master,
            keyboard,
            child,
            screen,
            shown: Vec::new(),
        })
    }

    /// Types `bytes` as they are (Enter is `\r` on a terminal).
    pub fn type_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.keyboard.write_all(bytes)?;
        self.keyboard.flush()?;
        Ok(())
    }

    /// Waits until the remote shell has run a command, which proves it reads its terminal.
    pub fn wait_for_shell(&mut self) -> anyhow::Result<()> {
        // The echoed command line shows READ''Y, only its output READY.
        self.type_bytes(b"echo READ''Y\r")?;
        self.wait_for(b"READY")?;
        self.settle(Duration::from_millis(200));
        Ok(())
    }

    /// Waits until the output shown since the last call contains `needle`.
    fn wait_for(&mut self, needle: &[u8]) -> anyhow::Result<()> {
        let from = self.shown.len();
        let deadline = Instant::now() + WAIT;
        while !contains(&self.shown[from..], needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(chunk) if !chunk.bytes.is_empty() => self.shown.extend(chunk.bytes),
                _ => bail!(
                    "{}: no {:?} on the terminal; it shows:\n{}",
                    self.name,
                    String::from_utf8_lossy(needle),
                    self.tail()
                ),
            }
        }
        Ok(())
    }

    /// Waits `quiet`, then discards whatever output arrived meanwhile.
    pub fn settle(&mut self, quiet: Duration) {
        thread::sleep(quiet);
        self.discard_pending();
    }

    /// Discards output that has arrived and not been read.
    fn discard_pending(&mut self) {
        while let Ok(chunk) = self.screen.try_recv() {
            self.shown.extend(chunk.bytes);
        }
    }

    /// Types `key` and returns how long until the terminal shows it: one keystroke's trip to
    /// the remote terminal, whose line discipline echoes it, and back. `key` must be a letter,
    /// which no other output (prompt, line erasing) contains.
    pub fn echo_round_trip(&mut self, key: u8) -> anyhow::Result<Duration> {
        self.discard_pending();
        let sent = Instant::now();
        self.type_bytes(&[key])?;
        loop {
            let chunk = self
                .screen
                .recv_timeout(WAIT)
                .map_err(|_| anyhow::anyhow!("{}: the keystroke never came back", self.name))?;
            self.shown.extend(&chunk.bytes);
            if chunk.bytes.is_empty() {
                bail!("{}: the client exited:\n{}", self.name, self.tail());
            }
            if chunk.bytes.contains(&key) {
                return Ok(chunk.at.duration_since(sent));
            }
        }
    }

    /// Leaves the remote shell with `exit` and waits for the client to end; kills it if it
    /// does not within a few seconds.
    pub fn close(mut self) {
        let _ = self.type_bytes(b"\x15exit\r");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!("shell_bench: {} did not exit; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The end of what the terminal showed, for error messages.
    fn tail(&self) -> String {
        let from = self.shown.len().saturating_sub(SHOWN_TAIL);
        String::from_utf8_lossy(&self.shown[from..]).into_owned()
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
