//! Signalling and reaping the programs the agent starts.
//!
//! Every program leads its own session and process group, so a signal to the group reaches the
//! children it started too. The group's id is the program's pid, which the kernel may reuse
//! once the program is reaped: signals are only sent while it is not.

use std::{
    io, process,
    sync::{Arc, Mutex, PoisonError},
    thread,
    time::Duration,
};

use nix::{
    errno::Errno,
    sys::{
        signal::{killpg, Signal},
        wait::{waitid, Id, WaitPidFlag},
    },
    unistd::Pid,
};
use tokio::sync::oneshot;
use tracing::debug;

use crate::ShellError;

/// How long a program may take to exit after its hangup before its group is killed.
pub(super) const KILL_GRACE: Duration = Duration::from_secs(2);

/// Sends `signal` to the process group led by `pid`.
pub(super) fn signal_group(pid: u32, signal: Signal) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    if let Err(error) = killpg(Pid::from_raw(pid), signal) {
        // ESRCH: the whole group is already gone.
        debug!(pid, %signal, %error, "signalling a shell's process group");
    }
}

/// A program on a pseudo-terminal (a `std::process::Child` from portable-pty), watched by a
/// thread that waits for its exit; killed with its group if dropped before it was reaped.
pub(super) struct PtyChild {
    pid: u32,
    /// Whether the watcher has reaped it; held while signalling so the two cannot interleave.
    reaped: Arc<Mutex<bool>>,
    exit: oneshot::Receiver<io::Result<process::ExitStatus>>,
    /// The outcome, once `exit` delivered it (a oneshot delivers only once).
    outcome: Option<Result<process::ExitStatus, String>>,
}

impl PtyChild {
    /// Starts watching `child`.
    pub(super) fn watch(child: Box<dyn portable_pty::Child + Send + Sync>) -> io::Result<Self> {
        let child: Box<dyn portable_pty::Child> = child;
        let mut child = child
            .downcast::<process::Child>()
            .map_err(|_| io::Error::other("the terminal's program is not a local process"))?;
        let pid = child.id();
        let process_id = i32::try_from(pid)
            .map(Pid::from_raw)
            .map_err(|_| io::Error::other("the terminal's program has an invalid pid"))?;
        let reaped = Arc::new(Mutex::new(false));
        let (exit_sender, exit) = oneshot::channel();
        let watcher_reaped = Arc::clone(&reaped);
        let watcher = move || {
            // Wait without reaping, then reap under the lock: a signal sent meanwhile still
            // finds the exited program's pid, not a stranger's.
            let waited = loop {
                match waitid(
                    Id::Pid(process_id),
                    WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
                ) {
                    Err(Errno::EINTR) => continue,
                    other => break other,
                }
            };
            if let Err(error) = waited {
                debug!(pid, %error, "waiting for a shell");
            }
            let mut reaped = watcher_reaped
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let status = child.wait();
            *reaped = true;
            drop(reaped);
            // The receiver is gone when the shell's task ended first; nothing is left to do.
            let _ = exit_sender.send(status);
        };
        thread::Builder::new()
            .name(format!("shell-{pid}"))
            .spawn(watcher)?;
        Ok(Self {
            pid,
            reaped,
            exit,
            outcome: None,
        })
    }

    /// Sends `signal` to the program's group, unless it has been reaped.
    pub(super) fn signal_group(&self, signal: Signal) {
        let reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        if !*reaped {
            signal_group(self.pid, signal);
        }
    }

    /// Waits until the program has exited and been reaped (cancel-safe; may be called again).
    pub(super) async fn exited(&mut self) -> Result<process::ExitStatus, ShellError> {
        let outcome = match &self.outcome {
            Some(outcome) => outcome.clone(),
            None => {
                let outcome = match (&mut self.exit).await {
                    Ok(status) => status.map_err(|error| error.to_string()),
                    Err(_) => Err("the thread waiting for the shell ended".to_owned()),
                };
                self.outcome = Some(outcome.clone());
                outcome
            }
        };
        outcome.map_err(|error| ShellError::Process(io::Error::other(error)))
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        self.signal_group(Signal::SIGKILL);
    }
}

/// A program on pipes; killed with its group if dropped before it was reaped (tokio reaps
/// dropped children in the background).
pub(super) struct PipeChild(pub(super) tokio::process::Child);

impl PipeChild {
    /// Hangs up the program's group, as a closed terminal would, and kills the group if the
    /// program has not exited after [`KILL_GRACE`]. Does nothing once it has been reaped.
    pub(super) async fn hang_up(&mut self) -> Option<process::ExitStatus> {
        let pid = self.0.id()?;
        signal_group(pid, Signal::SIGHUP);
        if let Ok(status) = tokio::time::timeout(KILL_GRACE, self.0.wait()).await {
            return status.ok();
        }
        signal_group(pid, Signal::SIGKILL);
        self.0.wait().await.ok()
    }
}

impl Drop for PipeChild {
    fn drop(&mut self) {
        // `id` is `None` once the child was reaped.
        if let Some(pid) = self.0.id() {
            signal_group(pid, Signal::SIGKILL);
        }
    }
}
