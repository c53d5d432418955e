//! Input injection into a real X server: what `EnigoInjector` injects arrives in X clients on an
//! Xvfb exactly as the technician sent it.
//!
//! Each test starts its own Xvfb and gives its name to the injector, which hands it to enigo
//! directly: no test reads or changes `DISPLAY`, so the tests run in parallel.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tether_input::{
    EnigoInjector, InjectError, Injector, InputEvent, Key, MouseButton, Press, ScreenSize,
};
use tether_tests::{display::Xvfb, TIMEOUT};
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

const GEOMETRY: &str = "1920x1080x24";
const SCREEN: ScreenSize = ScreenSize {
    width: 1920,
    height: 1080,
};

/// The recording window's place on the screen.
const WINDOW_X: i16 = 100;
const WINDOW_Y: i16 = 50;

/// How often waits on things that send no event (files, other processes) look again.
const POLL: Duration = Duration::from_millis(20);

fn send(injector: &mut EnigoInjector, event: InputEvent) {
    let event = event.validate(SCREEN).expect("valid event");
    injector.apply(&event).expect("inject");
}

fn key(injector: &mut EnigoInjector, key: Key, press: Press) {
    send(injector, InputEvent::Key { key, press });
}

fn tap(injector: &mut EnigoInjector, k: Key) {
    key(injector, k, Press::Down);
    key(injector, k, Press::Up);
}

fn button(injector: &mut EnigoInjector, button: MouseButton, press: Press) {
    send(injector, InputEvent::Button { button, press });
}

/// An X client with one window that records the input events it receives.
struct Recorder {
    conn: RustConnection,
    min_keycode: u8,
    keysyms_per_keycode: usize,
    keysyms: Vec<u32>,
}

impl Recorder {
    /// Maps an 800x600 window at (`WINDOW_X`, `WINDOW_Y`) and gives it the keyboard focus.
    fn open(display: &str) -> Self {
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
            WINDOW_X,
            WINDOW_Y,
            800,
            600,
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
    fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
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

    fn next_button_press(&mut self) -> ButtonPressEvent {
        self.next("button press", |event| match event {
            Event::ButtonPress(press) => Some(*press),
            _ => None,
        })
    }

    fn next_button_release(&mut self) -> ButtonPressEvent {
        self.next("button release", |event| match event {
            Event::ButtonRelease(release) => Some(*release),
            _ => None,
        })
    }

    /// The next key press that types a Latin-1 character, with the modifiers in effect.
    fn next_character(&mut self) -> (char, KeyButMask) {
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
    fn held_keycodes(&self) -> Vec<u8> {
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
    fn pointer_state(&self) -> KeyButMask {
        let root = self.conn.setup().roots[0].root;
        self.conn
            .query_pointer(root)
            .expect("pointer")
            .reply()
            .expect("pointer")
            .mask
    }
}

#[test]
fn clicks_arrive_at_the_exact_pixel_with_the_right_button() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut recorder = Recorder::open(&xvfb.display);
    let mut injector = EnigoInjector::open(&xvfb.display).expect("open injector");

    for (x, y, which, detail) in [
        (500, 400, MouseButton::Left, 1),
        (100, 50, MouseButton::Right, 3),
        (899, 649, MouseButton::Middle, 2),
        (301, 302, MouseButton::Back, 8),
        (777, 123, MouseButton::Forward, 9),
    ] {
        send(&mut injector, InputEvent::PointerMove { x, y });
        button(&mut injector, which, Press::Down);
        button(&mut injector, which, Press::Up);

        let press = recorder.next_button_press();
        assert_eq!(press.detail, detail, "{which:?}");
        assert_eq!((press.root_x, press.root_y), (x as i16, y as i16));
        assert_eq!(
            (press.event_x, press.event_y),
            (x as i16 - WINDOW_X, y as i16 - WINDOW_Y)
        );
        assert_eq!(recorder.next_button_release().detail, detail);
    }
}

#[test]
fn wheel_turns_arrive_as_buttons_4_to_7() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut recorder = Recorder::open(&xvfb.display);
    let mut injector = EnigoInjector::open(&xvfb.display).expect("open injector");
    send(&mut injector, InputEvent::PointerMove { x: 400, y: 300 });

    for (right, down) in [(0, -2), (0, 1), (-1, 0), (2, 0), (1, 1)] {
        send(&mut injector, InputEvent::Wheel { right, down });
    }

    // Up is 4, down 5, left 6, right 7; a turn on both axes scrolls vertically first.
    let expected = [4, 4, 5, 6, 7, 7, 5, 7];
    let received: Vec<u8> = expected
        .iter()
        .map(|_| recorder.next_button_press().detail)
        .collect();
    assert_eq!(received, expected);
}

#[test]
fn physical_keys_type_through_the_remote_layout_with_shift_and_control() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut recorder = Recorder::open(&xvfb.display);
    let mut injector = EnigoInjector::open(&xvfb.display).expect("open injector");

    let word = [Key::KeyH, Key::KeyE, Key::KeyL, Key::KeyL, Key::KeyO];
    let digits = [
        Key::Digit1,
        Key::Digit2,
        Key::Digit3,
        Key::Digit4,
        Key::Digit5,
        Key::Digit6,
        Key::Digit7,
        Key::Digit8,
        Key::Digit9,
        Key::Digit0,
    ];
    for k in word.into_iter().chain(digits) {
        tap(&mut injector, k);
    }
    let typed: String = (0..15).map(|_| recorder.next_character().0).collect();
    assert_eq!(typed, "hello1234567890");

    key(&mut injector, Key::ShiftLeft, Press::Down);
    tap(&mut injector, Key::KeyA);
    key(&mut injector, Key::ShiftLeft, Press::Up);
    let (c, state) = recorder.next_character();
    assert_eq!(c, 'A');
    assert!(state.contains(KeyButMask::SHIFT));

    key(&mut injector, Key::ControlRight, Press::Down);
    tap(&mut injector, Key::KeyC);
    key(&mut injector, Key::ControlRight, Press::Up);
    let (c, state) = recorder.next_character();
    assert_eq!(c, 'c');
    assert!(state.contains(KeyButMask::CONTROL), "{state:?}");
    assert!(!state.contains(KeyButMask::SHIFT), "{state:?}");

    // Released modifiers are gone from the next key's state.
    tap(&mut injector, Key::KeyZ);
    assert_eq!(recorder.next_character(), ('z', KeyButMask::from(0u16)));
}

#[test]
fn release_all_and_drop_leave_no_key_or_button_held() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let recorder = Recorder::open(&xvfb.display);
    let held_down = |injector: &mut EnigoInjector| {
        send(injector, InputEvent::PointerMove { x: 10, y: 10 });
        key(injector, Key::ShiftLeft, Press::Down);
        key(injector, Key::ControlLeft, Press::Down);
        button(injector, MouseButton::Left, Press::Down);
    };
    // X keycodes are evdev codes + 8.
    let shift_and_control = [Key::ControlLeft, Key::ShiftLeft].map(|k| k.evdev_code() as u8 + 8);

    let mut injector = EnigoInjector::open(&xvfb.display).expect("open injector");
    held_down(&mut injector);
    assert_eq!(recorder.held_keycodes(), shift_and_control);
    assert!(recorder.pointer_state().contains(KeyButMask::BUTTON1));
    injector.release_all().expect("release all");
    assert_eq!(recorder.held_keycodes(), []);
    assert!(!recorder.pointer_state().contains(KeyButMask::BUTTON1));
    assert!(injector.held().is_empty());

    held_down(&mut injector);
    assert_eq!(recorder.held_keycodes(), shift_and_control);
    drop(injector);
    assert_eq!(recorder.held_keycodes(), []);
    assert_eq!(
        recorder.pointer_state() & (KeyButMask::BUTTON1 | KeyButMask::SHIFT | KeyButMask::CONTROL),
        KeyButMask::from(0u16)
    );
}

#[test]
fn opening_a_missing_display_says_so() {
    assert_eq!(
        EnigoInjector::open("").err(),
        Some(InjectError::NoDisplay),
        "empty display name"
    );
    // No test starts that many servers. (x11rb panics in debug builds on a display number
    // whose TCP port, 6000 + number, overflows u16.)
    let Err(error) = EnigoInjector::open(":59321") else {
        panic!("display :59321 opened");
    };
    assert!(
        error
            .to_string()
            .starts_with("cannot inject input into X display \":59321\": connecting failed: "),
        "{error}"
    );
}

const TERMINAL_TITLE: &str = "tether-input-terminal";

/// An xterm running `read` in a UTF-8 locale, which writes the line it reads to a file.
struct Terminal {
    child: Child,
    line_file: tempfile::TempPath,
}

impl Terminal {
    /// Starts it on `display` in the top-left corner, or returns `None` (after saying so) when
    /// xterm is not installed and this is not CI.
    fn start(display: &str) -> Option<Self> {
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
    fn line(&self) -> String {
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

#[test]
fn a_terminal_reads_keys_control_shortcuts_and_text_exactly() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let Some(terminal) = Terminal::start(&xvfb.display) else {
        return;
    };
    let mut injector = EnigoInjector::open(&xvfb.display).expect("open injector");
    // With no window manager the keyboard focus follows the pointer.
    send(&mut injector, InputEvent::PointerMove { x: 40, y: 40 });

    // Typed by key, then erased by the terminal's Ctrl+U (kill line).
    for k in [Key::KeyJ, Key::KeyU, Key::KeyN, Key::KeyK] {
        tap(&mut injector, k);
    }
    key(&mut injector, Key::ControlLeft, Press::Down);
    tap(&mut injector, Key::KeyU);
    key(&mut injector, Key::ControlLeft, Press::Up);

    key(&mut injector, Key::ShiftLeft, Press::Down);
    tap(&mut injector, Key::KeyH);
    key(&mut injector, Key::ShiftLeft, Press::Up);
    for k in [Key::KeyI, Key::Space, Key::Digit4, Key::Digit2, Key::Space] {
        tap(&mut injector, k);
    }
    send(
        &mut injector,
        InputEvent::Text("Ü€é, ASCII & more: Grüße!".into()),
    );
    // Text typed while Shift is held still arrives as sent.
    key(&mut injector, Key::ShiftRight, Press::Down);
    send(&mut injector, InputEvent::Text(" ok".into()));
    key(&mut injector, Key::ShiftRight, Press::Up);
    tap(&mut injector, Key::Enter);

    assert_eq!(terminal.line(), "Hi 42 Ü€é, ASCII & more: Grüße! ok");
}
