//! Exit statuses: from a local process to the wire, and from the wire to the viewer's exit code.

use std::os::unix::process::ExitStatusExt;

use tether_proto::shell::ExitStatus;

/// The viewer's exit code when the shell ended without an exit status (connection lost,
/// refused, `~.`), as ssh does.
pub const DISCONNECTED_EXIT_CODE: u8 = 255;

/// The local exit code that mirrors the remote program's status, as ssh does: its code modulo
/// 256, so a program killed by `SIGKILL` gives 137.
pub fn exit_code(status: &ExitStatus) -> u8 {
    (status.code & 0xff) as u8
}

/// How a local process ended, for the wire: a signal is reported as shells do (128 + its
/// number), with its description (e.g. "Killed").
pub(crate) fn wire_status(status: std::process::ExitStatus) -> ExitStatus {
    match status.signal() {
        Some(signal) => ExitStatus {
            code: 128 + signal.unsigned_abs(),
            signal: portable_pty::ExitStatus::from(status)
                .signal()
                .map(str::to_owned),
        },
        None => ExitStatus {
            code: status
                .code()
                .and_then(|code| u32::try_from(code).ok())
                .unwrap_or(u32::from(DISCONNECTED_EXIT_CODE)),
            signal: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_signals_are_reported_as_shells_do() {
        let exited = wire_status(std::process::ExitStatus::from_raw(7 << 8));
        assert_eq!(
            exited,
            ExitStatus {
                code: 7,
                signal: None
            }
        );
        let killed = wire_status(std::process::ExitStatus::from_raw(9));
        assert_eq!(killed.code, 137);
        assert_eq!(killed.signal.as_deref(), Some("Killed"));
    }

    #[test]
    fn exit_codes_wrap_like_ssh() {
        let status = |code| ExitStatus { code, signal: None };
        assert_eq!(exit_code(&status(0)), 0);
        assert_eq!(exit_code(&status(137)), 137);
        assert_eq!(exit_code(&status(256 + 3)), 3);
    }
}
