//! Real X clients for tests on an Xvfb: a window that records the input it receives, and an
//! xterm that reads one line into a file.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use x11rb::{
    connection::Connection,
    protocol::{
        xproto::{
            AtomEnum, ButtonPressEvent, ChangeWindowAttributesAux, ConnectionExt, CreateWindowAux,
            EventMask, InputFocus, KeyButMask, KeyPressEvent, Window, WindowClass,
        },
        Event,
    },
    rust_connection::RustConnection,
    COPY_DEPTH_FROM_PARENT,
};

use crate::TIMEOUT;

/// How often waits on things that send no event (files, other processes) look again.
const POLL: Duration = Duration::from_millis(20);

/// An X client with one window that records the input events it receives.
pub struct Recorder {
    conn: RustConnection,
    min_keycode: u8,
    keysyms_per_keycode: usize,
    keysyms: Vec<u32>,
}

impl Recorder {
    /// Maps a `width` x `height` window at (`x`, `y`) on `display` and gives it the keyboard
    /// focus.
    pub fn open(display: &str, (x, y): (i16, i16), (width, height): (u16, u16)) -> Self {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let window = conn.generate_id().expect("id");
        let mask = EventMask::KEY_PRESS
            | EventMask::KEY_RELEASE
            | EventMask::BUTTON_PRESS
            | EventMask::BUTTON_RELEASE
            | EventMask::STRUCTURE_NOTIFY;
        conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            window,
            root,
            x,
            y,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new().override_redirect(1).event_mask(mask),
        )
        .expect("create window");
        conn.map_window(window).expect("map");
        conn.flush().expect("flush");
        let mut recorder = Self {
            conn,
            min_keycode: 0,
            keysyms_per_keycode: 0,
            keysyms: Vec::new(),
        };
        recorder.refresh_keymap();
        recorder.next("the window mapped", |event| {
            matches!(event, Event::MapNotify(e) if e.window == window).then_some(())
        });
        recorder
            .conn
            .set_input_focus(InputFocus::PARENT, window, x11rb::CURRENT_TIME)
            .expect("focus")
            .check()
            .expect("focus");
        recorder
    }

    fn refresh_keymap(&mut self) {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let reply = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)
            .expect("keymap")
            .reply()
            .expect("keymap");
        self.min_keycode = min;
        self.keysyms_per_keycode = usize::from(reply.keysyms_per_keycode);
        self.keysyms = reply.keysyms;
    }

    /// The keysym a key press means: the shifted one while Shift is down, as Xlib decides for
    /// letters and digits.
    fn keysym(&self, press: &KeyPressEvent) -> u32 {
        let row = usize::from(press.detail - self.min_keycode) * self.keysyms_per_keycode;
        let shifted = press.state.contains(KeyButMask::SHIFT) && self.keysyms[row + 1] != 0;
        self.keysyms[row + usize::from(shifted)]
    }

    /// Waits for the first event `pick` accepts, skipping the others.
    pub fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.conn.poll_for_event().expect("X connection") {
                Some(Event::MappingNotify(_)) => self.refresh_keymap(),
                Some(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                None => {
                    assert!(Instant::now() < deadline, "no {what} within {TIMEOUT:?}");
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// The key and button events not yet taken that the server delivered before now: a round
    /// trip to the server first, so that input it processed earlier (from any client) has
    /// reached this connection.
    pub fn input_so_far(&mut self) -> Vec<Event> {
        self.conn
            .get_input_focus()
            .expect("round trip")
            .reply()
            .expect("round trip");
        let mut events = Vec::new();
        while let Some(event) = self.conn.poll_for_event().expect("X connection") {
            if matches!(
                event,
                Event::KeyPress(_)
                    | Event::KeyRelease(_)
                    | Event::ButtonPress(_)
                    | Event::ButtonRelease(_)
            ) {
                events.push(event);
            }
        }
        events
    }

    pub fn next_button_press(&mut self) -> ButtonPressEvent {
        self.next("button press", |event| match event {
            Event::ButtonPress(press) => Some(*press),
            _ => None,
        })
    }

    pub fn next_button_release(&mut self) -> ButtonPressEvent {
        self.next("button release", |event| match event {
            Event::ButtonRelease(release) => Some(*release),
            _ => None,
        })
    }

    /// The next key press that types a Latin-1 character, with the modifiers in effect.
    pub fn next_character(&mut self) -> (char, KeyButMask) {
        loop {
            let press = self.next("key press", |event| match event {
                Event::KeyPress(press) => Some(*press),
                _ => None,
            });
            // Latin-1 keysyms are their own code points; modifier keys are far above.
            let keysym = self.keysym(&press);
            if let Some(c) = (keysym < 0x100).then(|| char::from_u32(keysym)).flatten() {
                return (c, press.state);
            }
        }
    }

    /// The keycodes the server considers held down.
    pub fn held_keycodes(&self) -> Vec<u8> {
        let keys = self
            .conn
            .query_keymap()
            .expect("keymap")
            .reply()
            .expect("keymap")
            .keys;
        (0..=255u8)
            .filter(|&code| keys[usize::from(code / 8)] & (1 << (code % 8)) != 0)
            .collect()
    }

    /// The pointer's buttons and modifiers as the server sees them.
    pub fn pointer_state(&self) -> KeyButMask {
        let root = self.conn.setup().roots[0].root;
        self.conn
            .query_pointer(root)
            .expect("pointer")
            .reply()
            .expect("pointer")
            .mask
    }
}

/// The terminal window's title.
const TERMINAL_TITLE: &str = "tether-test-terminal";

/// An xterm running `read` in a UTF-8 locale, which writes the line it reads to a file.
pub struct Terminal {
    child: Child,
    line_file: tempfile::TempPath,
}

impl Terminal {
    /// Starts it on `display` in the top-left corner, or returns `None` (after saying so) when
    /// xterm is not installed and this is not CI.
    pub fn start(display: &str) -> Option<Self> {
        if Command::new("xterm")
            .arg("-version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "xterm is missing in CI: tests/run must install the xterm package"
            );
            eprintln!("SKIPPED: xterm is not installed");
            return None;
        }
        let line_file = tempfile::NamedTempFile::new()
            .expect("temp file")
            .into_temp_path();
        std::fs::remove_file(&line_file).expect("remove temp file");
        // The line appears whole or not at all.
        let script = r#"IFS= read -r line; printf %s "$line" > "$1.part" && mv "$1.part" "$1""#;
        // Watch the root window before xterm starts, so its MapNotify cannot be missed.
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::SUBSTRUCTURE_NOTIFY),
        )
        .expect("watch root")
        .check()
        .expect("watch root");
        let child = Command::new("xterm")
            .args(["-T", TERMINAL_TITLE, "-geometry", "80x10+0+0"])
            .args(["-e", "sh", "-c", script, "sh"])
            .arg(&line_file)
            .env("DISPLAY", display)
            .env("LC_ALL", "C.UTF-8")
            .stderr(Stdio::null())
            .spawn()
            .expect("start xterm");
        let window = wait_for_map(&conn);
        let name = conn
            .get_property(false, window, AtomEnum::WM_NAME, AtomEnum::STRING, 0, 64)
            .expect("WM_NAME")
            .reply()
            .expect("WM_NAME")
            .value;
        assert_eq!(
            name,
            TERMINAL_TITLE.as_bytes(),
            "the window mapped is xterm's"
        );
        Some(Self { child, line_file })
    }

    /// Waits for the line `read` got.
    pub fn line(&self) -> String {
        let deadline = Instant::now() + TIMEOUT;
        while !Path::exists(&self.line_file) {
            assert!(
                Instant::now() < deadline,
                "xterm read no line within {TIMEOUT:?}"
            );
            thread::sleep(POLL);
        }
        std::fs::read_to_string(&self.line_file).expect("utf-8 line")
    }
}

/// Waits for the next top-level window to be mapped and returns it.
fn wait_for_map(conn: &RustConnection) -> Window {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match conn.poll_for_event().expect("X connection") {
            Some(Event::MapNotify(map)) => return map.window,
            Some(_) => {}
            None => {
                assert!(
                    Instant::now() < deadline,
                    "no window mapped within {TIMEOUT:?}"
                );
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
