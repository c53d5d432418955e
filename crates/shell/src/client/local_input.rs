//! Local input (standard input, the keyboard) read on a thread of its own, since reads from it
//! block and cannot be called off.

use std::{io, io::Read, thread};

use tether_proto::shell::MAX_SHELL_CHUNK;
use tokio::sync::mpsc;

/// How many chunks of local input may wait for the stream: the thread stops reading beyond.
const QUEUED_CHUNKS: usize = 4;

/// Reads `source` on a new thread into a bounded channel of chunks of at most
/// [`MAX_SHELL_CHUNK`] bytes; the channel ends after the end of the input or its first error.
///
/// The thread ends after its next read once the receiver is gone; until then it may hold on
/// to a blocked read (of a terminal, say), which is why a viewer exits after its shell.
pub(super) fn read_in_background(
    mut source: impl Read + Send + 'static,
) -> io::Result<mpsc::Receiver<io::Result<Vec<u8>>>> {
    let (sender, receiver) = mpsc::channel(QUEUED_CHUNKS);
    thread::Builder::new()
        .name("shell-input".to_owned())
        .spawn(move || {
            let mut buf = vec![0; MAX_SHELL_CHUNK];
            loop {
                let chunk = match source.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => Ok(buf[..n].to_vec()),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => Err(error),
                };
                let failed = chunk.is_err();
                if sender.blocking_send(chunk).is_err() || failed {
                    return;
                }
            }
        })?;
    Ok(receiver)
}
