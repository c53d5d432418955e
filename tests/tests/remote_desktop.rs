//! The real desktop through the relay: an agent shares one Xvfb and a viewer window runs on
//! another. The technician's clicks and typing, driven by xdotool on the viewer's display,
//! reach real X clients on the agent's display, and the viewer shows the result.

use std::{
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use tether_tests::{
    agent_args,
    display::{wait_for_window, XClient, Xvfb},
    x11_clients::{Recorder, Terminal},
    xdotool::Xdotool,
    Process, Relay, TIMEOUT,
};
use x11rb::{connection::Connection, protocol::xproto::ConnectionExt};

/// Both displays: the viewer's window opens at 1280x720 at the origin, so with no window
/// manager it shows the agent's screen one to one.
const GEOMETRY: &str = "1280x720x24";

/// Starts an agent sharing X display `display`, admitting the technician without asking.
fn x11_agent(relay: &Relay, display: &str, extra: &[&str]) -> (Process, String) {
    let known = relay.path("agent_known_relays");
    let mut args = vec!["--auto-accept", "--screen", "x11", "--display", display];
    args.extend_from_slice(extra);
    let agent = Process::spawn(
        "tether-agent",
        &agent_args(&relay.addr, &relay.fingerprint, 1, "320x200", &args),
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    let code = agent.stdout.wait_for("session code: ");
    (agent, code)
}

/// Lets the pointer's focus follow the pointer again (a recorder window takes the focus).
fn focus_follows_pointer(display: &str) {
    let (conn, _) = x11rb::connect(Some(display)).expect("connect");
    // PointerRoot (1): the keyboard goes to whatever window the pointer is in.
    conn.set_input_focus(
        x11rb::protocol::xproto::InputFocus::POINTER_ROOT,
        1u32,
        x11rb::CURRENT_TIME,
    )
    .expect("focus")
    .check()
    .expect("focus");
}

/// Compares the colour of every pixel of a `width` x `height` region at the origin of two
/// 4-byte-per-pixel pictures `stride_a` and `stride_b` pixels wide.
fn same_region(
    a: &[u8],
    stride_a: u32,
    b: &[u8],
    stride_b: u32,
    (width, height): (u32, u32),
) -> bool {
    (0..height).all(|y| {
        let row = |pixels: &[u8], stride: u32| -> Vec<[u8; 3]> {
            let start = (y * stride) as usize * 4;
            pixels[start..start + width as usize * 4]
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2]])
                .collect()
        };
        row(a, stride_a) == row(b, stride_b)
    })
}

#[test]
fn clicks_and_typing_in_the_viewer_window_reach_the_agents_display_and_come_back_as_pixels() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start(GEOMETRY), Xvfb::start(GEOMETRY)) else {
        return;
    };
    let Some(user) = Xdotool::on(&viewer_x.display) else {
        return;
    };
    let Some(terminal) = Terminal::start(&agent_x.display) else {
        return;
    };
    let mut recorder = Recorder::open(&agent_x.display, (700, 400), (300, 200));
    focus_follows_pointer(&agent_x.display);

    let relay = Relay::start(&[]);
    let (agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    let viewer = relay.viewer_on_display(&code, &viewer_x.display);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("view + control")
    });

    // A click in the viewer lands at the same place on the agent's screen: 1:1 view.
    user.run(&["mousemove", "750", "450", "click", "1"]);
    let press = recorder.next_button_press();
    assert_eq!((press.detail, press.root_x, press.root_y), (1, 750, 450));
    assert_eq!((press.event_x, press.event_y), (50, 50));

    // Typing: the viewer window has the keyboard (no window manager here gives it focus), and
    // on the agent's display focus follows the pointer into the terminal. Physical keys,
    // Ctrl+U (the terminal kills the line), Shift+H, then characters xdotool has to borrow a
    // keycode for, which the viewer forwards as text. xdotool remaps that keycode for every
    // such character; the delay lets the viewer see each new mapping before the key.
    user.focus("Tether");
    user.run(&["mousemove", "40", "40"]);
    user.run(&["type", "--delay", "20", "junk"]);
    user.run(&["key", "ctrl+u", "shift+h"]);
    user.run(&["type", "--delay", "20", "i 42 "]);
    user.run(&["type", "--delay", "200", "é€"]);

    // The viewer shows what the terminal shows: move the pointer out of the way (the viewer
    // draws the remote cursor), then the terminal's corner must match pixel for pixel.
    user.run(&["mousemove", "1200", "700"]);
    let agent_screen = XClient::connect(&agent_x.display);
    let corner = (480, 140);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (agent_w, _, agent_pixels) = agent_screen.root_bgra();
        let shown = wait_for_window(&viewer_x.display, "Tether", |_| true);
        if same_region(&shown.pixels, shown.width, &agent_pixels, agent_w, corner) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the viewer window never showed the agent's terminal"
        );
        thread::sleep(Duration::from_millis(100));
    }

    user.run(&["mousemove", "40", "40"]);
    user.run(&["key", "Return"]);
    assert_eq!(terminal.line(), "Hi 42 é€");
    drop(viewer);
    // enigo injected all that without a word: it warns at every session on a display with a
    // modifier mapped to no key (Xvfb has one), which is normal operation, so the agent keeps
    // it to its errors.
    let stderr = agent.stderr.text();
    assert!(!stderr.contains("enigo"), "{stderr}");
}

#[test]
fn a_view_only_session_applies_no_input() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start(GEOMETRY), Xvfb::start(GEOMETRY)) else {
        return;
    };
    let Some(user) = Xdotool::on(&viewer_x.display) else {
        return;
    };
    let mut recorder = Recorder::open(&agent_x.display, (0, 0), (1280, 720));
    let relay = Relay::start(&[]);
    let (agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    let mut viewer = relay.viewer_on_display_with(&code, &viewer_x.display, &["--view-only"]);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("· view ·")
    });
    user.focus("Tether");
    user.run(&["mousemove", "300", "300", "click", "1"]);
    user.run(&["type", "nothing"]);
    // The view hotkey follows them through the same window, which handles its events in
    // order: once the title shows the view it switched to, the window has been through the
    // click and every key. A view-only viewer sends none of them, so nothing on the session
    // stream can follow them to the agent; instead the window is closed, which closes the
    // session stream after anything the viewer sent: the technician ended the session.
    user.run(&["key", "ctrl+alt+shift+s"]);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("· 1:1")
    });
    let window = user.run(&["search", "--name", "^Tether"]);
    user.close(window.trim());
    viewer.wait();
    agent
        .stdout
        .wait_for_substring("session ended: the technician ended the session");
    assert!(
        recorder.input_so_far().is_empty(),
        "a view-only session moved or typed on the agent's screen"
    );
    let (conn, screen) = x11rb::connect(Some(&agent_x.display)).expect("connect");
    let root = conn.setup().roots[screen].root;
    let at = conn
        .query_pointer(root)
        .expect("query")
        .reply()
        .expect("pointer");
    assert_ne!((at.root_x, at.root_y), (300, 300), "the pointer was moved");
}

#[test]
fn a_view_only_agent_drops_input_a_modified_viewer_sends_anyway() {
    let Some(agent_x) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut recorder = Recorder::open(&agent_x.display, (0, 0), (1280, 720));
    let relay = Relay::start(&[]);
    let (agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    // Returns once the agent has read every event it sent.
    let sent = tether_tests::in_process::send_input_while_view_only(&relay, &code);
    assert!(sent > 0);
    assert!(
        recorder.input_so_far().is_empty(),
        "input from a view-only session reached the agent's screen"
    );
    agent
        .stderr
        .wait_for_substring("input dropped: the session is view-only");
}

#[test]
fn the_session_follows_a_resolution_change_on_the_agents_display() {
    let Some(agent_x) = Xvfb::start("1920x1080x24") else {
        return;
    };
    let client = XClient::connect(&agent_x.display);
    client.put_pattern(100, 100, 400, 300, 7);
    client.sync();
    let relay = Relay::start(&[]);
    let (_agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    let latest = Arc::new(Mutex::new(None));
    let session = tether_tests::in_process::in_process_viewer(&relay, &code, latest.clone());

    let shows_the_agents_screen = |expected: (u32, u32)| {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let (width, height, pixels) = client.root_bgra();
            let shown = latest.lock().unwrap().clone();
            if let Some(frame) = shown {
                let frame: tether_codec::Frame = frame;
                if (frame.width(), frame.height()) == expected
                    && (width, height) == expected
                    && frame.pixels() == pixels.as_slice()
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the viewer never showed the agent's {expected:?} screen"
            );
            thread::sleep(Duration::from_millis(50));
        }
    };
    shows_the_agents_screen((1920, 1080));
    client.resize_screen(1280, 720);
    client.put_pattern(10, 10, 300, 200, 9);
    client.sync();
    shows_the_agents_screen((1280, 720));
    client.put_pattern(500, 300, 200, 100, 11);
    client.sync();
    shows_the_agents_screen((1280, 720));
    session.stop();
}

#[test]
fn an_actual_size_view_scrolls_at_the_window_edge_and_aims_clicks_through_the_scroll() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start("1920x1080x24"), Xvfb::start(GEOMETRY))
    else {
        return;
    };
    let Some(user) = Xdotool::on(&viewer_x.display) else {
        return;
    };
    let agent_screen = XClient::connect(&agent_x.display);
    agent_screen.put_pattern(0, 0, 1920, 1080, 5);
    // Out of the first view, so the viewer draws no cursor over what is compared.
    agent_screen.warp_pointer(1910, 1070);
    agent_screen.sync();
    let mut recorder = Recorder::open(&agent_x.display, (1500, 300), (300, 200));

    let relay = Relay::start(&[]);
    let (_agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    let _viewer = relay.viewer_on_display_with(&code, &viewer_x.display, &["--view", "actual"]);
    // One to one: the window shows the top-left 1280x720 of the agent's screen exactly.
    let (agent_w, _, agent_pixels) = agent_screen.root_bgra();
    let shown = wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("· 1:1")
            && same_region(
                &shot.pixels,
                shot.width,
                &agent_pixels,
                agent_w,
                (1280, 720),
            )
    });
    assert_eq!((shown.width, shown.height), (1280, 720));

    // Nudging the pointer along the right edge scrolls to the far right (640 pixels).
    for _ in 0..40 {
        user.run(&["mousemove", "1275", "360"]);
        user.run(&["mousemove", "1279", "360"]);
    }
    // A click at window (900, 350) is remote (900 + 640, 350): inside the recorder.
    user.run(&["mousemove", "900", "350", "click", "1"]);
    let press = recorder.next_button_press();
    assert_eq!((press.root_x, press.root_y), (1540, 350));
    assert_eq!((press.event_x, press.event_y), (40, 50));
}

#[test]
fn keys_held_when_the_viewer_vanishes_are_released_on_the_agents_display() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start(GEOMETRY), Xvfb::start(GEOMETRY)) else {
        return;
    };
    let Some(user) = Xdotool::on(&viewer_x.display) else {
        return;
    };
    let recorder = Recorder::open(&agent_x.display, (0, 0), (1280, 720));
    // A short idle timeout: the relay notices the vanished viewer in 3 s, then waits 2 s for
    // it to come back.
    let relay = Relay::start(&["--idle-timeout-secs", "3", "--resume-grace-secs", "2"]);
    let (agent, code) = x11_agent(&relay, &agent_x.display, &[]);
    let mut viewer = relay.viewer_on_display(&code, &viewer_x.display);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("view + control")
    });
    user.focus("Tether");
    user.run(&["keydown", "ctrl", "keydown", "shift"]);
    let deadline = Instant::now() + TIMEOUT;
    while recorder.held_keycodes().len() < 2 {
        assert!(Instant::now() < deadline, "Ctrl and Shift never went down");
        thread::sleep(Duration::from_millis(20));
    }

    // The technician's machine vanishes with both keys down. The session is kept for a
    // while in case it comes back, but nothing stays pressed meanwhile.
    viewer.kill();
    agent.stdout.wait_for_substring("session paused");
    let deadline = Instant::now() + TIMEOUT;
    while !recorder.held_keycodes().is_empty() {
        assert!(
            Instant::now() < deadline,
            "keys still held while the session is paused: {:?}",
            recorder.held_keycodes()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !agent.stdout.text().contains("session ended"),
        "the keys were released before the session ended"
    );
    agent
        .stdout
        .wait_for_substring("session ended: the technician's connection was lost");
}
