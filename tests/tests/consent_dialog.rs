//! The consent dialog on a real X display: the agent shares an Xvfb and asks there, in a
//! dialog, whether the technician may join; xdotool plays the user, clicking buttons (found by
//! their window names) and pressing keys; a real headless viewer is the technician.

use std::{thread, time::Duration};

use tether_tests::{agent_args, display::Xvfb, xdotool::Xdotool, Process, Relay};

const REQUEST: &str = "Tether: session request";
const LIVE: &str = "Tether: session live";
/// How long a new dialog ignores input (so typing elsewhere cannot answer it), with a margin.
/// The dialog shows no sign of arming, so there is no event to wait for instead.
const ARMING: Duration = Duration::from_millis(1500);

/// An Xvfb for the agent's screen and xdotool on it, or `None` (the test is skipped) without
/// Xvfb or xdotool.
fn display() -> Option<(Xvfb, Xdotool)> {
    let xvfb = Xvfb::start("1024x768x24")?;
    let user = Xdotool::on(&xvfb.display)?;
    Some((xvfb, user))
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

#[test]
fn view_only_in_the_dialog_admits_a_viewer_that_may_only_watch() {
    let Some((xvfb, user)) = display() else {
        return;
    };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(
        &code,
        &["--headless", "--frames", "1", "--name", "Alice Example"],
    );
    user.wait_for_window_named(REQUEST);
    thread::sleep(ARMING);
    user.click("View only");

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
    assert!(user.windows_named(REQUEST).is_empty());
}

#[test]
fn n_in_the_dialog_declines_and_the_viewer_is_told() {
    let Some((xvfb, user)) = display() else {
        return;
    };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--frames", "1"]);
    user.wait_for_window_named(REQUEST);
    thread::sleep(ARMING);
    user.press(REQUEST, "n");

    viewer.expect_exit(3, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert_eq!(agent.wait().code(), Some(0));
    user.wait_until_gone(REQUEST);
}

#[test]
fn closing_the_dialog_declines() {
    let Some((xvfb, user)) = display() else {
        return;
    };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--frames", "1"]);
    let window = user.wait_for_window_named(REQUEST);
    user.close(&window);

    viewer.expect_exit(3, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert_eq!(agent.wait().code(), Some(0));
}

#[test]
fn a_live_session_shows_the_indicator_whose_button_ends_it() {
    let Some((xvfb, user)) = display() else {
        return;
    };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let mut viewer = relay.viewer(&code, &["--headless", "--name", "Alice Example"]);
    user.wait_for_window_named(REQUEST);
    assert!(
        user.windows_named(LIVE).is_empty(),
        "no indicator before the user allowed the session"
    );
    thread::sleep(ARMING);
    user.press(REQUEST, "y");

    agent
        .stdout
        .wait_for_substring("session started: Alice Example (view + control)");
    viewer.stderr.wait_for_substring("admitted: view + control");
    user.wait_for_window_named(LIVE);
    user.wait_until_gone(REQUEST);

    user.click("End session");
    agent
        .stdout
        .wait_for_substring("session ended: you ended the session");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    // Exit code 4: the session ended from the other side.
    viewer.expect_exit(4, "session ended");
}

#[test]
fn a_shell_request_asks_allow_or_deny_and_allow_runs_it() {
    let Some((xvfb, user)) = display() else {
        return;
    };
    let relay = Relay::start(&[]);
    let (mut agent, code) = dialog_agent(&relay, &xvfb.display);
    let script = "echo granted; exit 6";
    let mut viewer = relay.viewer(&code, &["--shell", "--", "sh", "-c", script]);
    user.wait_for_window_named(REQUEST);
    user.wait_for_window_named("Deny");
    // A shell has no screen to narrow it to.
    assert!(user.windows_named("View only").is_empty());
    thread::sleep(ARMING);
    user.click("Allow");

    viewer.expect_exit(6, "admitted: shell");
    assert_eq!(viewer.stdout.wait_for("granted"), "");
    agent.stdout.wait_for_substring("(shell)");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
}
