//! The user at a test display's mouse and keyboard, played by xdotool: finding windows by
//! name, clicking, typing, and closing a window as a window manager's close button would.

use std::{
    process::Command,
    thread,
    time::{Duration, Instant},
};

use x11rb::{
    protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask},
    CURRENT_TIME,
};

use crate::{output, TIMEOUT};

/// How often a wait for a window (which sends the test no event) looks again.
const POLL: Duration = Duration::from_millis(50);

/// xdotool on one X display.
pub struct Xdotool {
    display: String,
}

impl Xdotool {
    /// xdotool on `display`, or `None` (after saying so) when it is not installed and this is
    /// not CI; in CI its absence fails the test, since `tests/run` installs it.
    pub fn on(display: &str) -> Option<Self> {
        if Command::new("xdotool").arg("version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "xdotool is missing in CI: tests/run must install it"
            );
            eprintln!("SKIPPED: xdotool is not installed");
            return None;
        }
        Some(Self {
            display: display.to_owned(),
        })
    }

    /// Runs xdotool with `args`, asserts it succeeded, and returns what it printed.
    pub fn run(&self, args: &[&str]) -> String {
        let out = output(
            Command::new("xdotool")
                .args(args)
                .env("DISPLAY", &self.display),
        );
        assert!(
            out.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The ids of the windows named exactly `name` (none: empty).
    pub fn windows_named(&self, name: &str) -> Vec<String> {
        // A search that finds nothing exits 1: not a failure here.
        let out = output(
            Command::new("xdotool")
                .args(["search", "--name", &format!("^{name}$")])
                .env("DISPLAY", &self.display),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a window named exactly `name` exists and returns its id.
    pub fn wait_for_window_named(&self, name: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(window) = self.windows_named(name).into_iter().next() {
                return window;
            }
            assert!(
                Instant::now() < deadline,
                "no window named {name:?} within {TIMEOUT:?}"
            );
            thread::sleep(POLL);
        }
    }

    /// Waits until no window is named `name`.
    pub fn wait_until_gone(&self, name: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.windows_named(name).is_empty() {
            assert!(
                Instant::now() < deadline,
                "the window {name:?} stayed for {TIMEOUT:?}"
            );
            thread::sleep(POLL);
        }
    }

    /// Clicks the middle-ish of the button named `label`, as a user would with the mouse.
    pub fn click(&self, label: &str) {
        let button = self.wait_for_window_named(label);
        self.run(&["mousemove", "--window", &button, "8", "8", "click", "1"]);
    }

    /// Gives the window named `name` the keyboard and presses `key`.
    pub fn press(&self, name: &str, key: &str) {
        let window = self.wait_for_window_named(name);
        self.run(&["windowfocus", "--sync", &window, "key", key]);
    }

    /// Gives the keyboard to the windows whose names start with `prefix` (with no window
    /// manager, nothing else would).
    pub fn focus(&self, prefix: &str) {
        self.run(&[
            "search",
            "--name",
            &format!("^{prefix}"),
            "windowfocus",
            "--sync",
        ]);
    }

    /// Asks `window` to close, as a window manager does when the user clicks the title bar's
    /// close button (there is none on a test display): `WM_DELETE_WINDOW`.
    pub fn close(&self, window: &str) {
        let window: u32 = window.parse().expect("a window id");
        let (conn, _) = x11rb::connect(Some(&self.display)).expect("connect");
        let atom = |name: &[u8]| {
            conn.intern_atom(false, name)
                .expect("intern")
                .reply()
                .expect("atom")
                .atom
        };
        let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
        let message =
            ClientMessageEvent::new(32, window, protocols, [delete, CURRENT_TIME, 0, 0, 0]);
        conn.send_event(false, window, EventMask::NO_EVENT, message)
            .expect("send_event")
            .check()
            .expect("close message sent");
    }
}
