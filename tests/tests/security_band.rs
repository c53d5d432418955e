//! The user's live band on a real X display, played against as a technician with control of
//! the screen would: unmapped, minimised and covered, it comes back; hidden again and again,
//! the session ends. With no window manager (xdotool's `windowunmap`, a window mapped over the
//! band), and under openbox when it is installed (`windowminimize`, which only a window
//! manager carries out).

use std::{
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tether_tests::{agent_args, display::Xvfb, xdotool::Xdotool, Process, Relay, TIMEOUT};
use x11rb::{
    connection::Connection,
    protocol::xproto::{AtomEnum, ConnectionExt, CreateWindowAux, MapState, Window, WindowClass},
    rust_connection::RustConnection,
    COPY_DEPTH_FROM_PARENT,
};

const REQUEST: &str = "Tether: session request";
const LIVE: &str = "Tether: session live";
/// How long a new dialog ignores input, with a margin.
const ARMING: Duration = Duration::from_millis(1500);
/// How many times the band may be hidden within a minute before the session ends.
const MAX_HIDINGS: usize = 3;
/// What the agent logs when it puts the band back.
const PUT_BACK: &str = "the live band was hidden or covered: putting it back";

/// A live session shared from an Xvfb, with its band up.
struct LiveSession {
    agent: Process,
    viewer: Process,
    user: Xdotool,
    x: RustConnection,
    band: Window,
    _relay: Relay,
}

/// Starts an agent sharing `display` that asks in its dialog, a headless viewer, and admits it.
fn live_session(display: &str) -> Option<LiveSession> {
    let user = Xdotool::on(display)?;
    let relay = Relay::start(&[]);
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
    let code = agent.stdout.wait_for("session code: ");
    let viewer = relay.viewer(&code, &["--headless", "--name", "Alice Example"]);
    user.wait_for_window_named(REQUEST);
    thread::sleep(ARMING);
    user.click("Allow");
    agent
        .stdout
        .wait_for_substring("session started: Alice Example");
    let band: Window = user
        .wait_for_window_named(LIVE)
        .parse()
        .expect("a window id");
    let (x, _) = x11rb::connect(Some(display)).expect("connect to Xvfb");
    let session = LiveSession {
        agent,
        viewer,
        user,
        x,
        band,
        _relay: relay,
    };
    session.wait_until_in_sight("the band, first shown");
    Some(session)
}

impl LiveSession {
    /// Whether the band is mapped (its window manager frame too) and not minimised.
    fn in_sight(&self) -> bool {
        let viewable = self
            .x
            .get_window_attributes(self.band)
            .ok()
            .and_then(|cookie| cookie.reply().ok())
            .is_some_and(|attributes| attributes.map_state == MapState::VIEWABLE);
        viewable && !self.minimised()
    }

    /// Whether `WM_STATE` says iconic (a window manager's minimised state).
    fn minimised(&self) -> bool {
        let atom = self
            .x
            .intern_atom(false, b"WM_STATE")
            .expect("intern")
            .reply()
            .expect("atom")
            .atom;
        let state = self
            .x
            .get_property(false, self.band, atom, AtomEnum::ANY, 0, 1)
            .expect("property")
            .reply()
            .expect("property");
        state.value32().and_then(|mut v| v.next()) == Some(3)
    }

    fn wait_until_in_sight(&self, what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.in_sight() {
            assert!(
                Instant::now() < deadline,
                "{what}: the band stayed out of sight"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many times the agent has put the band back.
    fn returns(&self) -> usize {
        self.agent.stderr.text().matches(PUT_BACK).count()
    }

    /// Does `hide` to the band (xdotool cannot wait for it to take effect: the band may be
    /// back before xdotool looks), then waits until the agent has put it back and it is in
    /// sight, the session still live.
    fn hide_and_wait_for_a_return(&self, what: &str, hide: &[&str]) {
        let before = self.returns();
        let band = self.band_id();
        let mut args = hide.to_vec();
        args.push(&band);
        self.user.run(&args);
        let deadline = Instant::now() + TIMEOUT;
        while self.returns() == before {
            assert!(
                Instant::now() < deadline,
                "{what}: the agent never put the band back:\n{}",
                self.agent.stderr.text()
            );
            thread::sleep(Duration::from_millis(20));
        }
        self.wait_until_in_sight(what);
        assert!(
            !self.agent.stdout.text().contains("session ended"),
            "{what}: the session ended:\n{}",
            self.agent.stdout.text()
        );
    }

    fn band_id(&self) -> String {
        self.band.to_string()
    }
}

#[test]
fn without_a_window_manager_the_band_comes_back_when_unmapped_or_covered() {
    let Some(xvfb) = Xvfb::start("1024x768x24") else {
        return;
    };
    let Some(session) = live_session(&xvfb.display) else {
        return;
    };
    session.hide_and_wait_for_a_return("unmapped", &["windowunmap"]);
    // Minimising is a request to a window manager: without one the band stays as it is.
    session.user.run(&["windowminimize", &session.band_id()]);
    session.wait_until_in_sight("asked to minimise");

    // A window mapped right over it: the band is raised above it. The count of returns is
    // taken before the cover appears: the agent may put the band back before this thread looks.
    let before = session.returns();
    let geometry = session
        .x
        .get_geometry(session.band)
        .expect("geometry")
        .reply()
        .expect("geometry");
    let root = session.x.setup().roots[0].root;
    let cover = session.x.generate_id().expect("id");
    session
        .x
        .create_window(
            COPY_DEPTH_FROM_PARENT,
            cover,
            root,
            geometry.x - 10,
            geometry.y,
            geometry.width + 20,
            geometry.height + 20,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new().override_redirect(1),
        )
        .expect("create the cover");
    session.x.map_window(cover).expect("map the cover");
    session.x.flush().expect("flush");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stack = session
            .x
            .query_tree(root)
            .expect("tree")
            .reply()
            .expect("tree")
            .children;
        let position = |window| stack.iter().position(|w| *w == window);
        if position(session.band) > position(cover) {
            break;
        }
        assert!(Instant::now() < deadline, "the band stayed under the cover");
        thread::sleep(Duration::from_millis(20));
    }
    // The agent says it put the band back (its log may trail the raise on its way here).
    let deadline = Instant::now() + TIMEOUT;
    while session.returns() == before {
        assert!(Instant::now() < deadline, "raised, but not by the agent");
        thread::sleep(Duration::from_millis(20));
    }
    session.wait_until_in_sight("covered");
    assert!(!session.agent.stdout.text().contains("session ended"));
}

#[test]
fn a_band_hidden_again_and_again_ends_the_session() {
    let Some(xvfb) = Xvfb::start("1024x768x24") else {
        return;
    };
    let Some(mut session) = live_session(&xvfb.display) else {
        return;
    };
    for hiding in 1..=MAX_HIDINGS {
        session.hide_and_wait_for_a_return(&format!("hiding {hiding}"), &["windowunmap"]);
    }
    session.user.run(&["windowunmap", &session.band_id()]);
    session
        .agent
        .stdout
        .wait_for_substring("session ended: you ended the session");
    session
        .agent
        .stderr
        .wait_for_substring("the live band cannot be kept in sight");
    session.viewer.expect_exit(4, "session ended");
}

/// openbox on `display`, killed when dropped.
struct WindowManager(Child);

impl WindowManager {
    /// Starts openbox, or `None` (after saying so) when it is not installed; waits until it
    /// manages the screen (it announces itself on the root window).
    fn openbox(display: &str) -> Option<Self> {
        let child = Command::new("openbox")
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!("SKIPPED: openbox is not installed");
            return None;
        };
        let manager = Self(child);
        let (x, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = x.setup().roots[screen].root;
        let check = x
            .intern_atom(false, b"_NET_SUPPORTING_WM_CHECK")
            .expect("intern")
            .reply()
            .expect("atom")
            .atom;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let announced = x
                .get_property(false, root, check, AtomEnum::WINDOW, 0, 1)
                .expect("property")
                .reply()
                .expect("property")
                .value_len
                > 0;
            if announced {
                return Some(manager);
            }
            assert!(Instant::now() < deadline, "openbox did not start");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WindowManager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn under_a_window_manager_the_band_comes_back_when_minimised_or_unmapped() {
    let Some(xvfb) = Xvfb::start("1024x768x24") else {
        return;
    };
    let Some(_openbox) = WindowManager::openbox(&xvfb.display) else {
        return;
    };
    let Some(session) = live_session(&xvfb.display) else {
        return;
    };
    session.hide_and_wait_for_a_return("minimised", &["windowminimize"]);
    assert!(!session.minimised());
    session.hide_and_wait_for_a_return("unmapped", &["windowunmap"]);
}
