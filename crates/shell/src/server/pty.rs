//! A shell on a pseudo-terminal, as sshd runs an interactive session.
//!
//! The terminal's master side is read and written through tokio's reactor (non-blocking, with
//! at most one chunk of each direction in flight) rather than by blocking threads: a blocked
//! `read` cannot be called off, so a thread would keep the master open as long as any process
//! holds the terminal, and closing the master is what hangs the session up.

use std::{
    fs::File,
    io::{self, Read, Write},
    os::fd::{AsRawFd, BorrowedFd},
    pin::pin,
    time::Duration,
};

use nix::{
    errno::Errno,
    fcntl::{fcntl, FcntlArg, OFlag},
    sys::signal::Signal,
};
use portable_pty::{native_pty_system, MasterPty, PtyPair, PtySize};
use tether_proto::shell::{
    ExitStatus, ShellRequest, ShellResponse, TerminalSize, TerminalSpec, MAX_SHELL_CHUNK,
};
use tokio::io::unix::AsyncFd;
use tracing::{debug, warn};

use super::{
    launch::Launch,
    process::{PtyChild, KILL_GRACE},
    requests::{next_action, Action},
};
use crate::{status::wire_status, MessageIn, MessageOut, ShellError};

/// After the program exits, how long the terminal may stay quiet before the output counts as
/// drained (a background process may keep it open without writing).
const DRAIN_IDLE: Duration = Duration::from_millis(100);

/// A program started on a new pseudo-terminal.
pub(super) struct PtyShell {
    master: Box<dyn MasterPty + Send>,
    terminal: AsyncFd<File>,
    child: PtyChild,
}

impl PtyShell {
    /// Opens a terminal of `spec`'s size and starts the program on it with `TERM` from `spec`;
    /// the error is a reason for the viewer.
    pub(super) fn spawn(launch: &Launch, spec: &TerminalSpec) -> Result<Self, String> {
        let PtyPair { slave, master } = native_pty_system()
            .openpty(pty_size(spec.size))
            .map_err(|error| format!("cannot open a pseudo-terminal: {error:#}"))?;
        let mut command = launch.pty_command();
        command.env("TERM", &spec.term);
        let child = slave
            .spawn_command(command)
            .map_err(|error| format!("cannot start {launch}: {error:#}"))?;
        // The program holds the terminal now; our copy would keep it open after the program
        // exits, and the master would never read the end.
        drop(slave);
        let child =
            PtyChild::watch(child).map_err(|error| format!("cannot watch {launch}: {error}"))?;
        let terminal = nonblocking_master(master.as_ref())
            .map_err(|error| format!("cannot use the pseudo-terminal: {error}"))?;
        Ok(Self {
            master,
            terminal,
            child,
        })
    }

    /// Relays the program until it exits (see [`super::serve_shell`]).
    pub(super) async fn run(
        self,
        out: &mut impl MessageOut<ShellResponse>,
        input: &mut impl MessageIn<ShellRequest>,
    ) -> Result<ExitStatus, ShellError> {
        let Self {
            master,
            terminal,
            mut child,
        } = self;
        let ended = {
            let mut output = pin!(relay_output(&terminal, &mut child, out));
            let mut requests = pin!(apply_requests(&terminal, master, input));
            tokio::select! {
                result = &mut output => result,
                gone = &mut requests => Err(gone),
            }
        };
        // Closing the last descriptor of the master hangs the terminal up: the kernel sends
        // SIGHUP to the program and its foreground jobs, as when sshd's client goes away.
        drop(terminal);
        let gone = match ended {
            Ok(status) => return Ok(status),
            Err(gone) => gone,
        };
        debug!(error = %gone, "viewer gone; the terminal is hung up");
        if tokio::time::timeout(KILL_GRACE, child.exited())
            .await
            .is_err()
        {
            child.signal_group(Signal::SIGKILL);
        }
        let status = child.exited().await;
        debug!(?status, "shell ended after the hangup");
        Err(gone)
    }
}

/// Forwards the terminal's output until the program has exited and its output is drained.
async fn relay_output(
    terminal: &AsyncFd<File>,
    child: &mut PtyChild,
    out: &mut impl MessageOut<ShellResponse>,
) -> Result<ExitStatus, ShellError> {
    let mut buf = vec![0; MAX_SHELL_CHUNK];
    let mut open = true;
    let status = loop {
        tokio::select! {
            read = read_chunk(terminal, &mut buf), if open => match read {
                Ok(0) => open = false,
                Ok(n) => out.send(&ShellResponse::Stdout(buf[..n].to_vec())).await?,
                Err(error) => {
                    debug!(%error, "reading the terminal");
                    open = false;
                }
            },
            status = child.exited() => break status?,
        }
    };
    while open {
        match tokio::time::timeout(DRAIN_IDLE, read_chunk(terminal, &mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.send(&ShellResponse::Stdout(buf[..n].to_vec())).await?,
            _ => open = false,
        }
    }
    Ok(wire_status(status))
}

/// Applies the viewer's requests until its stream ends; returns why it ended. Owns the master,
/// which only resizes need, so that it closes with this future.
async fn apply_requests(
    terminal: &AsyncFd<File>,
    master: Box<dyn MasterPty + Send>,
    input: &mut impl MessageIn<ShellRequest>,
) -> ShellError {
    let mut writable = true;
    loop {
        match next_action(input).await {
            Err(gone) => return gone,
            Ok(Action::Write(bytes)) if writable => {
                if let Err(error) = write_all(terminal, &bytes).await {
                    debug!(%error, "writing to the terminal");
                    writable = false;
                }
            }
            // On a terminal, the end of input is a keystroke (^D) like any other.
            Ok(Action::Write(_) | Action::CloseInput) => {}
            Ok(Action::Resize(size)) => {
                if let Err(error) = master.resize(pty_size(size)) {
                    warn!(%error, "resizing the terminal");
                }
            }
        }
    }
}

fn pty_size(size: TerminalSize) -> PtySize {
    PtySize {
        rows: size.rows,
        cols: size.cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A non-blocking descriptor of `master`, registered with tokio's reactor.
fn nonblocking_master(master: &dyn MasterPty) -> io::Result<AsyncFd<File>> {
    let raw = master
        .as_raw_fd()
        .ok_or_else(|| io::Error::other("the pseudo-terminal has no descriptor"))?;
    // SAFETY: `raw` is the master's own descriptor, open as long as `master`, which outlives
    // this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(raw) }.try_clone_to_owned()?;
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    // SAFETY: the `File` owns the descriptor, which stays open until the `AsyncFd` drops it.
    Ok(unsafe { AsyncFd::register(File::from(fd)) }?)
}

/// Reads what the terminal has (cancel-safe); 0 once no process holds the terminal any more.
async fn read_chunk(terminal: &AsyncFd<File>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut ready = terminal.readable().await?;
        match ready.try_io(|file| file.get_ref().read(buf)) {
            // Linux reports the closed other side as EIO rather than as the end of the file.
            Ok(Err(error)) if error.raw_os_error() == Some(Errno::EIO as i32) => return Ok(0),
            Ok(result) => return result,
            Err(_would_block) => continue,
        }
    }
}

/// Writes all of `bytes` to the terminal, waiting while its input buffer is full.
async fn write_all(terminal: &AsyncFd<File>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let mut ready = terminal.writable().await?;
        match ready.try_io(|file| file.get_ref().write(bytes)) {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => bytes = &bytes[n..],
            Ok(Err(error)) => return Err(error),
            Err(_would_block) => continue,
        }
    }
    Ok(())
}
