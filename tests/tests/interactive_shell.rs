//! `tether-viewer shell` as a person uses it: in a real terminal (tmux), typing commands,
//! running a full-screen program, resizing the window, and leaving with `exit` or `~.`; and
//! `tether-viewer join CODE --shell`, the same shell by code.

use std::{
    process::Command,
    thread,
    time::{Duration, Instant},
};

use tether_tests::{binary, organisation::Organisation, output, Relay};

/// A tmux server of its own (its socket in a scratch directory), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(dir: &str) -> Self {
        Self {
            socket: format!("{dir}/tmux.sock"),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        // tests/run installs tmux.
        let output = output(Command::new("tmux").args(["-S", &self.socket]).args(args));
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `keys` (tmux key names, e.g. "Enter") into the pane.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits until the pane shows `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .output();
    }
}

/// Starts `tether-viewer shell web-01` in a 100x30 tmux window; the pane prints the viewer's
/// exit code when it ends.
fn start(org: &Organisation, tmux: &Tmux) {
    start_with(org, tmux, "");
}

/// Like [`start`], with `more` after the viewer's arguments (shell words).
fn start_with(org: &Organisation, tmux: &Tmux, more: &str) {
    let alice = org.technician("alice", "admin", "1d");
    open_window(
        tmux,
        &format!(
            "shell web-01 {} {more}",
            org.technician_args(&alice).join(" ")
        ),
    );
}

/// Runs `tether-viewer ARGS` (shell words) in a 100x30 tmux window that prints its exit code
/// when it ends.
fn open_window(tmux: &Tmux, args: &str) {
    let viewer = format!(
        "{} {args}; echo VIEWER-EXIT=$?; sleep 600",
        binary("tether-viewer").display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        "env",
        "PS1=remote$ ",
        "sh",
        "-c",
        &viewer,
    ]);
}

#[test]
fn an_interactive_shell_follows_the_terminal_and_returns_the_exit_code() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let tmux = Tmux::new(&org.relay.path(""));
    start(&org, &tmux);

    tmux.keys(&["echo hello-$((6*7))", "Enter"]);
    tmux.wait_for("hello-42");
    tmux.keys(&["stty size", "Enter"]);
    tmux.wait_for("30 100");

    tmux.run(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    thread::sleep(Duration::from_millis(300));
    tmux.keys(&["stty size", "Enter"]);
    tmux.wait_for("40 120");

    // A full-screen program draws, takes keys, and gives the terminal back. The file is new
    // (vi would insert before an old one's text), and `cat` is typed only once vi has exited:
    // keys typed while vi hands the terminal back may be discarded with its pending input.
    let file = org.relay.path("typed-in-vi");
    tmux.keys(&[&format!("vi {file}; echo vi-exited-$((6*7))"), "Enter"]);
    tmux.wait_for("~");
    tmux.keys(&["i", "typed in vi", "Escape", ":wq", "Enter"]);
    tmux.wait_for("vi-exited-42");
    tmux.keys(&[&format!("cat {file}"), "Enter"]);
    tmux.wait_for("typed in vi\n");
    // Ctrl-C interrupts the remote program, not the viewer. The echo shows the line was read
    // and run, so Ctrl-C reaches `sleep` rather than the shell reading its input.
    tmux.keys(&["echo sleeping-$((6*7)); sleep 100", "Enter"]);
    tmux.wait_for("sleeping-42");
    tmux.keys(&["C-c"]);
    tmux.keys(&["echo still-here", "Enter"]);
    tmux.wait_for("still-here\n");

    tmux.keys(&["exit 3", "Enter"]);
    tmux.wait_for("VIEWER-EXIT=3");
}

#[test]
fn a_shell_by_code_is_a_terminal_too() {
    let relay = Relay::start(&[]);
    // Admits without asking, as `--auto-accept` does for scripted tests.
    let (_agent, code) = relay.agent(1, "64x64");
    let tmux = Tmux::new(&relay.path(""));
    let known_relays = relay.path("viewer_known_relays");
    open_window(
        &tmux,
        &format!(
            "join {code} --relay {} --relay-fingerprint {} --known-relays {known_relays} --shell",
            relay.addr, relay.fingerprint
        ),
    );
    tmux.wait_for("admitted: shell");
    tmux.keys(&["echo hello-$((6*7)) on $(tty)", "Enter"]);
    tmux.wait_for("hello-42 on /dev/pts/");
    tmux.keys(&["stty size", "Enter"]);
    tmux.wait_for("30 100");
    tmux.keys(&["exit 5", "Enter"]);
    tmux.wait_for("VIEWER-EXIT=5");
}

#[test]
fn the_tilde_dot_escape_drops_a_hung_session() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let tmux = Tmux::new(&org.relay.path(""));
    start(&org, &tmux);
    tmux.keys(&["echo ready", "Enter"]);
    tmux.wait_for("ready\n");
    // A program that ignores everything typed at it.
    tmux.keys(&[
        "trap '' INT; echo looping-$((6*7)); while :; do sleep 1; done",
        "Enter",
    ]);
    tmux.wait_for("looping-42");
    tmux.keys(&["Enter", "~", "."]);
    let screen = tmux.wait_for("VIEWER-EXIT=255");
    assert!(screen.contains("closed"), "{screen}");
}

#[test]
fn dash_t_runs_a_command_on_a_remote_terminal_like_ssh_t() {
    let org = Organisation::new();
    let _agent = org.machine("web-01", "prod");
    let tmux = Tmux::new(&org.relay.path(""));
    start_with(
        &org,
        &tmux,
        "-t -- sh -c 'tty; stty size; read line; echo got-$line; exit 4'",
    );
    tmux.wait_for("/dev/pts/");
    tmux.wait_for("30 100");
    tmux.keys(&["abc", "Enter"]);
    tmux.wait_for("got-abc");
    tmux.wait_for("VIEWER-EXIT=4");

    // Without a terminal here, -t is refused with a reason instead of falling back to pipes.
    let bob = org.technician("bob", "admin", "1d");
    let output = output(
        Command::new(binary("tether-viewer"))
            .args(["shell", "web-01"])
            .args(org.technician_args(&bob))
            .args(["-t", "--", "true"]),
    );
    assert_eq!(output.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("-t needs a terminal"), "{stderr}");
}
