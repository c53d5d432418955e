//! Sleeping until the X connection has something to read.

use std::{io, os::fd::AsFd, time::Duration};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// Blocks until `fd` is readable or `timeout` has passed. An interrupted wait returns early;
/// callers loop until their deadline anyway.
pub(crate) fn wait_readable(fd: impl AsFd, timeout: Duration) -> io::Result<()> {
    let timeout = Timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
