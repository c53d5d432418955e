//! The relay binary's one-shot commands (usage errors, configuration checks, administration),
//! run to their end, or failed after a time limit, so that a command that hangs fails its test
//! instead of stalling the suite. Tests that start a serving relay live in the `tether-tests`
//! crate, which runs every binary the same way.

use std::{
    process::{Command, Output, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

/// How long a one-shot command may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `tether-relay`, ready for its arguments.
pub fn relay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tether-relay"))
}

/// Runs `command` with an empty stdin: its exit code, stdout and stderr.
pub fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tether-relay");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || done.send(child.wait_with_output()));
    let out: Output = match finished.recv_timeout(TIMEOUT) {
        Ok(out) => out.expect("wait for tether-relay"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{command:?} did not exit within {TIMEOUT:?}");
        }
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
