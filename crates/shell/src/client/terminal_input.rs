//! The keyboard, read inside the async runtime: for the session the terminal is put in
//! non-blocking mode (as ssh does) and watched with the runtime's poller, so a keystroke is sent
//! by the task that reads it, with no thread hand-off.

use std::{
    fs::File,
    io::{self, Read},
    os::fd::{AsFd, AsRawFd},
};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use tokio::io::unix::AsyncFd;

/// Standard input in non-blocking mode until dropped.
pub(super) struct TerminalInput {
    /// A duplicate of standard input's descriptor (it shares the open file and its flags).
    fd: AsyncFd<File>,
    flags: OFlag,
}

impl TerminalInput {
    /// Switches standard input to non-blocking mode and registers it with the runtime.
    pub fn open() -> io::Result<Self> {
        let file = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let flags = OFlag::from_bits_truncate(fcntl(file.as_raw_fd(), FcntlArg::F_GETFL)?);
        fcntl(
            file.as_raw_fd(),
            FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
        )?;
        let restore = file.as_raw_fd();
        // SAFETY: the `File` owns its descriptor, which stays open until the `AsyncFd` drops it.
        match unsafe { AsyncFd::register(file) } {
            Ok(fd) => Ok(Self { fd, flags }),
            Err(e) => {
                let _ = fcntl(restore, FcntlArg::F_SETFL(flags));
                Err(e.into())
            }
        }
    }

    /// Reads what was typed into `buf`; `Ok(0)` at the end of input. Cancel-safe: nothing is
    /// read unless this returns.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|file| file.get_ref().read(buf)) {
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for TerminalInput {
    fn drop(&mut self) {
        // The descriptor is shared with the shell the viewer runs in: leave it as found.
        let _ = fcntl(self.fd.get_ref().as_raw_fd(), FcntlArg::F_SETFL(self.flags));
    }
}
