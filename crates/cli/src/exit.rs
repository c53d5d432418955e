//! Exit codes of `tether-agent` and `tether-viewer`, in one place so that a number means the
//! same thing whichever program returns it and whichever of its commands ran. Scripts branch on
//! them; each program's `--help` lists the ones it uses.

/// Done: the session ended normally (or, on the agent, the user declined it), the command did
/// what it was asked.
pub const SUCCESS: u8 = 0;
/// Any failure no other code names: local I/O, a protocol violation, a broken stream.
pub const FAILURE: u8 = 1;
/// The command line was wrong; clap exits with it before anything runs.
pub const USAGE: u8 = 2;
/// Refused, and retrying as is will not help. Viewer `join`: the relay refused the code
/// (wrong, expired, used, rate-limited) or the user declined. Viewer `machines` and agent
/// `enroll`/`run`: the relay refused the certificate or the machine.
pub const REFUSED: u8 = 3;
/// Viewer `join`: the session ended from the other side (the user ended it, the agent or the
/// relay went away).
pub const ENDED: u8 = 4;
/// Viewer `join`: the relay could not be reached, or its identity is not the one trusted.
pub const UNREACHABLE: u8 = 5;
/// Viewer `join`: the session could not be secured end to end (a wrong code, or tampering),
/// so nothing from it was trusted.
pub const INSECURE: u8 = 6;
/// Viewer `shell` and `join --shell`, as ssh: Tether itself failed (the shell could not be
/// opened, the connection was lost, `~.`). Otherwise those commands exit with the remote
/// program's own status, so no other code here applies to them.
pub const SHELL_FAILED: u8 = 255;

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[arg(long)]
        count: u32,
    }

    #[test]
    fn usage_errors_exit_as_clap_does() {
        let error = Cli::try_parse_from(["tether", "--count", "many"]).unwrap_err();
        assert_eq!(error.exit_code(), i32::from(USAGE));
    }
}
