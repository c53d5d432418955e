//! The consent dialog on a real X display: the agent shares an Xvfb and asks there, in a
//! dialog, whether the technician may join; xdotool plays the user, clicking buttons (found by
//! their window names) and pressing keys; a real headless viewer is the technician.

use std::{process::Command, thread, time::Duration};

use tether_tests::{agent_args, display::Xvfb, Process, Relay};
use x11rb::{
    protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask},
    CURRENT_TIME,
};

const REQUEST: &str = "Tether: session request";
const LIVE: &str = "Tether: session live";
/// How long a new dialog ignores input (so typing elsewhere cannot answer it), with a margin.
const ARMING: Duration = Duration::from_millis(1500);

/// Runs xdotool on `display` and returns what it printed.
fn xdotool(display: &str, args: &[&str]) -> String {
    let output = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("run xdotool");
    assert!(
        output.status.success(),
        "xdotool {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An Xvfb for the agent's screen, or `None` (the test is skipped) without Xvfb or xdotool.
fn display() -> Option<Xvfb> {
    let xvfb = Xvfb::start("1024x768x24")?;
    if Command::new("xdotool").arg("version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "xdotool is missing in CI: tests/run must install it"
        );
        eprintln!("SKIPPED: xdotool is not installed");
        return None;
    }
    Some(xvfb)
}

/// Starts an agent sharing `display` that asks in the dialog, and waits for its code.
fn dialog_agent(relay: &Relay, display: &str) -> (Process, String) {
    let known = relay.path("agent_known_relays");
    let extra = [
        "--screen",
        "x11",
        "--display",
        display,
        "--consent",
        "dialog",
    ];
    let agent = Process::spawn(
        "tether-agent",
        &agent_args(&relay.addr, &relay.fingerprint, 1, "320x200", &extra),
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    agent
        .stdout
        .wait_for_substring(&format!("asking in a dialog on display {display}"));
    let code = agent.stdout.wait_for("session code: ");
    (agent, code)
}

/// The ids of the windows named exactly `name` (none: empty).
fn windows_named(display: &str, name: &str) -> Vec<String> {
    let output = Command::new("xdotool")
        .args(["search", "--name", &format!("^{name}$")])
        .env("DISPLAY", display)
        .output()
        .expect("run xdotool");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until a window named `name` exists and returns its id.
fn wait_for_window_named(display: &str, name: &str) -> String {
    let found = xdotool(
        display,
        &["search", "--sync", "--name", &format!("^{name}$")],
    );
    found.lines().next().expect("a window id").to_owned()
}

/// Waits until no window is named `name`.
fn wait_until_gone(display: &str, name: &str) {
    for _ in 0..300 {
        if windows_named(display, name).is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("the window {name:?} stayed");
}

/// Clicks the middle-ish of the button named `label`, as a user would with the mouse.
fn click(display: &str, label: &str) {
    let button = wait_for_window_named(display, label);
    xdotool(
        display,
        &["mousemove", "--window", &button, "8", "8", "click", "1"],
    );
}

/// Gives the window named `name` the keyboard and presses `key`.
fn press(display: &str, name: &str, key: &str) {
    let window = wait_for_window_named(display, name);
    xdotool(display, &["windowfocus", "--sync", &window, "key", key]);
}

#[test]
fn view_only_in_the_dialog_admits_a_viewer_that_may_only_watch() {
    let Some(xvfb) = display() else { return };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(
        &code,
        &["--headless", "--frames", "1", "--name", "Alice Example"],
    );
    wait_for_window_named(&xvfb.display, REQUEST);
    thread::sleep(ARMING);
    click(&xvfb.display, "View only");

    assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
    viewer.stderr.wait_for_substring("admitted: view");
    assert!(
        !viewer.stderr.text().contains("admitted: view + control"),
        "{}",
        viewer.stderr.text()
    );
    agent
        .stdout
        .wait_for_substring("session started: Alice Example (view)");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    assert!(windows_named(&xvfb.display, REQUEST).is_empty());
}

#[test]
fn n_in_the_dialog_declines_and_the_viewer_is_told() {
    let Some(xvfb) = display() else { return };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--frames", "1"]);
    wait_for_window_named(&xvfb.display, REQUEST);
    thread::sleep(ARMING);
    press(&xvfb.display, REQUEST, "n");

    viewer.expect_exit(3, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert_eq!(agent.wait().code(), Some(0));
    wait_until_gone(&xvfb.display, REQUEST);
}

#[test]
fn closing_the_dialog_declines() {
    let Some(xvfb) = display() else { return };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--frames", "1"]);
    let window = wait_for_window_named(&xvfb.display, REQUEST);
    let window: u32 = window.parse().expect("a window id");

    // What a window manager sends when the user clicks the title bar's close button.
    let (conn, _) = x11rb::connect(Some(&xvfb.display)).expect("connect");
    let atom = |name: &[u8]| {
        conn.intern_atom(false, name)
            .expect("intern")
            .reply()
            .expect("atom")
            .atom
    };
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let message = ClientMessageEvent::new(32, window, protocols, [delete, CURRENT_TIME, 0, 0, 0]);
    conn.send_event(false, window, EventMask::NO_EVENT, message)
        .expect("send_event")
        .check()
        .expect("close message sent");

    viewer.expect_exit(3, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert_eq!(agent.wait().code(), Some(0));
}

#[test]
fn a_live_session_shows_the_indicator_whose_button_ends_it() {
    let Some(xvfb) = display() else { return };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--name", "Alice Example"]);
    wait_for_window_named(&xvfb.display, REQUEST);
    assert!(
        windows_named(&xvfb.display, LIVE).is_empty(),
        "no indicator before the user allowed the session"
    );
    thread::sleep(ARMING);
    press(&xvfb.display, REQUEST, "y");

    agent
        .stdout
        .wait_for_substring("session started: Alice Example (view + control)");
    viewer.stderr.wait_for_substring("admitted: view + control");
    wait_for_window_named(&xvfb.display, LIVE);
    wait_until_gone(&xvfb.display, REQUEST);

    click(&xvfb.display, "End session");
    agent
        .stdout
        .wait_for_substring("session ended: you ended the session");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    // Exit code 4: the session ended from the other side.
    viewer.expect_exit(4, "session ended");
}

#[test]
fn a_shell_request_asks_allow_or_deny_and_allow_runs_it() {
    let Some(xvfb) = display() else { return };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let script = "echo granted; exit 6";
    let mut viewer = relay.viewer(&code, &["--shell", "--", "sh", "-c", script]);
    wait_for_window_named(&xvfb.display, REQUEST);
    wait_for_window_named(&xvfb.display, "Deny");
    // A shell has no screen to narrow it to.
    assert!(windows_named(&xvfb.display, "View only").is_empty());
    thread::sleep(ARMING);
    click(&xvfb.display, "Allow");

    viewer.expect_exit(6, "admitted: shell");
    assert_eq!(viewer.stdout.wait_for("granted"), "");
    agent.stdout.wait_for_substring("(shell)");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
}
