//! Input injection into a real X server: what `EnigoInjector` injects arrives in X clients on an
//! Xvfb exactly as the technician sent it.
//!
//! Each test starts its own Xvfb and gives its name to the injector, which hands it to enigo
//! directly: no test reads or changes `DISPLAY`, so the tests run in parallel.

use tether_input::{
    EnigoInjector, InjectError, Injector, InputEvent, Key, MouseButton, Press, ScreenSize,
};
use tether_tests::{
    display::Xvfb,
    x11_clients::{Recorder, Terminal},
};
use x11rb::protocol::xproto::KeyButMask;

const GEOMETRY: &str = "1920x1080x24";
const SCREEN: ScreenSize = ScreenSize {
    width: 1920,
    height: 1080,
};

/// The recording window's place on the screen.
const WINDOW_X: i16 = 100;
const WINDOW_Y: i16 = 50;

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

#[test]
fn clicks_arrive_at_the_exact_pixel_with_the_right_button() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut recorder = Recorder::open(&xvfb.display, (WINDOW_X, WINDOW_Y), (800, 600));
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
    let mut recorder = Recorder::open(&xvfb.display, (WINDOW_X, WINDOW_Y), (800, 600));
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
    let mut recorder = Recorder::open(&xvfb.display, (WINDOW_X, WINDOW_Y), (800, 600));
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
    let recorder = Recorder::open(&xvfb.display, (WINDOW_X, WINDOW_Y), (800, 600));
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
    assert_eq!(recorder.held_keycodes(), Vec::<u8>::new());
    assert!(!recorder.pointer_state().contains(KeyButMask::BUTTON1));
    assert!(injector.held().is_empty());

    held_down(&mut injector);
    assert_eq!(recorder.held_keycodes(), shift_and_control);
    drop(injector);
    assert_eq!(recorder.held_keycodes(), Vec::<u8>::new());
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
