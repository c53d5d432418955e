//! Conversions from the viewer window's winit events to [`InputEvent`]s.
//!
//! Keys travel by physical position and text only when no physical key stands for it, so
//! the remote's layout applies and nothing is typed twice.

use winit::{
    event::{ElementState, MouseScrollDelta},
    keyboard::{KeyCode, PhysicalKey},
};

use crate::{InputEvent, Key, MouseButton, Press, MAX_WHEEL_NOTCHES};

/// Pixels of a precise (touchpad) scroll that make one wheel notch; Chromium's value for one
/// line of scrolling.
pub const PIXELS_PER_NOTCH: f64 = 40.0;

/// The event for a key going down or up, text for a key with no known position, or nothing.
///
/// `text` is winit's `KeyEvent::text`: it is used only when `physical` is not a key this
/// model knows, since the key itself already makes the remote type its character.
pub fn keyboard(physical: PhysicalKey, state: ElementState, text: Option<&str>) -> Vec<InputEvent> {
    match key(physical) {
        Some(key) => vec![InputEvent::Key {
            key,
            press: press(state),
        }],
        None if state == ElementState::Pressed => {
            text.map(InputEvent::text_events).unwrap_or_default()
        }
        None => Vec::new(),
    }
}

/// The events for text an input method committed (`Ime::Commit`).
pub fn ime_commit(text: &str) -> Vec<InputEvent> {
    InputEvent::text_events(text)
}

/// The event for a mouse button going down or up, if it is one of the five this model knows.
pub fn mouse_button(button: winit::event::MouseButton, state: ElementState) -> Option<InputEvent> {
    let button = match button {
        winit::event::MouseButton::Left => MouseButton::Left,
        winit::event::MouseButton::Middle => MouseButton::Middle,
        winit::event::MouseButton::Right => MouseButton::Right,
        winit::event::MouseButton::Back => MouseButton::Back,
        winit::event::MouseButton::Forward => MouseButton::Forward,
        winit::event::MouseButton::Other(_) => return None,
    };
    Some(InputEvent::Button {
        button,
        press: press(state),
    })
}

/// Turns winit's fractional scroll deltas into whole wheel notches, keeping the fractions for
/// later so slow touchpad scrolling still adds up.
#[derive(Debug, Clone, Default)]
pub struct WheelAccumulator {
    right: f64,
    down: f64,
}

impl WheelAccumulator {
    /// Nothing accumulated.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one winit scroll and returns the whole notches gathered so far, if any.
    pub fn push(&mut self, delta: MouseScrollDelta) -> Option<InputEvent> {
        // winit's positive deltas move the content right and down, i.e. scroll left and up.
        let (right, down) = match delta {
            MouseScrollDelta::LineDelta(x, y) => (-f64::from(x), -f64::from(y)),
            MouseScrollDelta::PixelDelta(position) => (
                -position.x / PIXELS_PER_NOTCH,
                -position.y / PIXELS_PER_NOTCH,
            ),
        };
        let right = take_notches(&mut self.right, right);
        let down = take_notches(&mut self.down, down);
        (right != 0 || down != 0).then_some(InputEvent::Wheel { right, down })
    }
}

/// Adds `delta` to `total` and removes and returns its whole part, at most
/// [`MAX_WHEEL_NOTCHES`] either way; a burst beyond that is dropped, not queued.
fn take_notches(total: &mut f64, delta: f64) -> i32 {
    let limit = f64::from(MAX_WHEEL_NOTCHES);
    let sum = *total + delta;
    // NaN (from a broken delta) becomes 0 here rather than poisoning later scrolls.
    let sum = if sum.is_finite() {
        sum.clamp(-limit, limit)
    } else {
        0.0
    };
    let whole = sum.trunc();
    *total = sum - whole;
    // In range by the clamp above.
    whole as i32
}

/// Down or up.
pub fn press(state: ElementState) -> Press {
    match state {
        ElementState::Pressed => Press::Down,
        ElementState::Released => Press::Up,
    }
}

/// The model's key for a winit physical key, if it has one.
pub fn key(physical: PhysicalKey) -> Option<Key> {
    let PhysicalKey::Code(code) = physical else {
        return None;
    };
    Some(match code {
        KeyCode::Backquote => Key::Backquote,
        KeyCode::Backslash => Key::Backslash,
        KeyCode::BracketLeft => Key::BracketLeft,
        KeyCode::BracketRight => Key::BracketRight,
        KeyCode::Comma => Key::Comma,
        KeyCode::Digit0 => Key::Digit0,
        KeyCode::Digit1 => Key::Digit1,
        KeyCode::Digit2 => Key::Digit2,
        KeyCode::Digit3 => Key::Digit3,
        KeyCode::Digit4 => Key::Digit4,
        KeyCode::Digit5 => Key::Digit5,
        KeyCode::Digit6 => Key::Digit6,
        KeyCode::Digit7 => Key::Digit7,
        KeyCode::Digit8 => Key::Digit8,
        KeyCode::Digit9 => Key::Digit9,
        KeyCode::Equal => Key::Equal,
        KeyCode::IntlBackslash => Key::IntlBackslash,
        KeyCode::IntlRo => Key::IntlRo,
        KeyCode::IntlYen => Key::IntlYen,
        KeyCode::KeyA => Key::KeyA,
        KeyCode::KeyB => Key::KeyB,
        KeyCode::KeyC => Key::KeyC,
        KeyCode::KeyD => Key::KeyD,
        KeyCode::KeyE => Key::KeyE,
        KeyCode::KeyF => Key::KeyF,
        KeyCode::KeyG => Key::KeyG,
        KeyCode::KeyH => Key::KeyH,
        KeyCode::KeyI => Key::KeyI,
        KeyCode::KeyJ => Key::KeyJ,
        KeyCode::KeyK => Key::KeyK,
        KeyCode::KeyL => Key::KeyL,
        KeyCode::KeyM => Key::KeyM,
        KeyCode::KeyN => Key::KeyN,
        KeyCode::KeyO => Key::KeyO,
        KeyCode::KeyP => Key::KeyP,
        KeyCode::KeyQ => Key::KeyQ,
        KeyCode::KeyR => Key::KeyR,
        KeyCode::KeyS => Key::KeyS,
        KeyCode::KeyT => Key::KeyT,
        KeyCode::KeyU => Key::KeyU,
        KeyCode::KeyV => Key::KeyV,
        KeyCode::KeyW => Key::KeyW,
        KeyCode::KeyX => Key::KeyX,
        KeyCode::KeyY => Key::KeyY,
        KeyCode::KeyZ => Key::KeyZ,
        KeyCode::Minus => Key::Minus,
        KeyCode::Period => Key::Period,
        KeyCode::Quote => Key::Quote,
        KeyCode::Semicolon => Key::Semicolon,
        KeyCode::Slash => Key::Slash,
        KeyCode::AltLeft => Key::AltLeft,
        KeyCode::AltRight => Key::AltRight,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::CapsLock => Key::CapsLock,
        KeyCode::ContextMenu => Key::ContextMenu,
        KeyCode::ControlLeft => Key::ControlLeft,
        KeyCode::ControlRight => Key::ControlRight,
        KeyCode::Enter => Key::Enter,
        KeyCode::SuperLeft => Key::MetaLeft,
        KeyCode::SuperRight => Key::MetaRight,
        KeyCode::ShiftLeft => Key::ShiftLeft,
        KeyCode::ShiftRight => Key::ShiftRight,
        KeyCode::Space => Key::Space,
        KeyCode::Tab => Key::Tab,
        KeyCode::Convert => Key::Convert,
        KeyCode::KanaMode => Key::KanaMode,
        KeyCode::Lang1 => Key::Lang1,
        KeyCode::Lang2 => Key::Lang2,
        KeyCode::Lang3 => Key::Lang3,
        KeyCode::Lang4 => Key::Lang4,
        KeyCode::Lang5 => Key::Lang5,
        KeyCode::NonConvert => Key::NonConvert,
        KeyCode::Delete => Key::Delete,
        KeyCode::End => Key::End,
        KeyCode::Help => Key::Help,
        KeyCode::Home => Key::Home,
        KeyCode::Insert => Key::Insert,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::ArrowDown => Key::ArrowDown,
        KeyCode::ArrowLeft => Key::ArrowLeft,
        KeyCode::ArrowRight => Key::ArrowRight,
        KeyCode::ArrowUp => Key::ArrowUp,
        KeyCode::NumLock => Key::NumLock,
        KeyCode::Numpad0 => Key::Numpad0,
        KeyCode::Numpad1 => Key::Numpad1,
        KeyCode::Numpad2 => Key::Numpad2,
        KeyCode::Numpad3 => Key::Numpad3,
        KeyCode::Numpad4 => Key::Numpad4,
        KeyCode::Numpad5 => Key::Numpad5,
        KeyCode::Numpad6 => Key::Numpad6,
        KeyCode::Numpad7 => Key::Numpad7,
        KeyCode::Numpad8 => Key::Numpad8,
        KeyCode::Numpad9 => Key::Numpad9,
        KeyCode::NumpadAdd => Key::NumpadAdd,
        KeyCode::NumpadComma => Key::NumpadComma,
        KeyCode::NumpadDecimal => Key::NumpadDecimal,
        KeyCode::NumpadDivide => Key::NumpadDivide,
        KeyCode::NumpadEnter => Key::NumpadEnter,
        KeyCode::NumpadEqual => Key::NumpadEqual,
        KeyCode::NumpadMultiply => Key::NumpadMultiply,
        KeyCode::NumpadParenLeft => Key::NumpadParenLeft,
        KeyCode::NumpadParenRight => Key::NumpadParenRight,
        KeyCode::NumpadSubtract => Key::NumpadSubtract,
        KeyCode::Escape => Key::Escape,
        KeyCode::F1 => Key::F1,
        KeyCode::F2 => Key::F2,
        KeyCode::F3 => Key::F3,
        KeyCode::F4 => Key::F4,
        KeyCode::F5 => Key::F5,
        KeyCode::F6 => Key::F6,
        KeyCode::F7 => Key::F7,
        KeyCode::F8 => Key::F8,
        KeyCode::F9 => Key::F9,
        KeyCode::F10 => Key::F10,
        KeyCode::F11 => Key::F11,
        KeyCode::F12 => Key::F12,
        KeyCode::F13 => Key::F13,
        KeyCode::F14 => Key::F14,
        KeyCode::F15 => Key::F15,
        KeyCode::F16 => Key::F16,
        KeyCode::F17 => Key::F17,
        KeyCode::F18 => Key::F18,
        KeyCode::F19 => Key::F19,
        KeyCode::F20 => Key::F20,
        KeyCode::F21 => Key::F21,
        KeyCode::F22 => Key::F22,
        KeyCode::F23 => Key::F23,
        KeyCode::F24 => Key::F24,
        KeyCode::PrintScreen => Key::PrintScreen,
        KeyCode::ScrollLock => Key::ScrollLock,
        KeyCode::Pause => Key::Pause,
        KeyCode::BrowserBack => Key::BrowserBack,
        KeyCode::BrowserForward => Key::BrowserForward,
        KeyCode::BrowserHome => Key::BrowserHome,
        KeyCode::BrowserRefresh => Key::BrowserRefresh,
        KeyCode::BrowserSearch => Key::BrowserSearch,
        KeyCode::LaunchMail => Key::LaunchMail,
        KeyCode::MediaPlayPause => Key::MediaPlayPause,
        KeyCode::MediaStop => Key::MediaStop,
        KeyCode::MediaTrackNext => Key::MediaTrackNext,
        KeyCode::MediaTrackPrevious => Key::MediaTrackPrevious,
        KeyCode::AudioVolumeDown => Key::AudioVolumeDown,
        KeyCode::AudioVolumeMute => Key::AudioVolumeMute,
        KeyCode::AudioVolumeUp => Key::AudioVolumeUp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use winit::{dpi::PhysicalPosition, keyboard::NativeKeyCode};

    use super::*;

    #[test]
    fn every_model_key_has_exactly_one_winit_key() {
        let all_codes = WINIT_KEY_CODES;
        for &model in Key::ALL {
            let sources: Vec<_> = all_codes
                .iter()
                .filter(|&&code| key(PhysicalKey::Code(code)) == Some(model))
                .collect();
            assert_eq!(sources.len(), 1, "{model:?} comes from {sources:?}");
        }
    }

    #[test]
    fn mapped_winit_keys_keep_their_w3c_name() {
        // winit names the Meta keys Super; every other key has the same W3C name on both sides.
        for &code in WINIT_KEY_CODES {
            if let Some(model) = key(PhysicalKey::Code(code)) {
                let expected = format!("{code:?}").replace("Super", "Meta");
                assert_eq!(format!("{model:?}"), expected);
            }
        }
    }

    #[test]
    fn distinct_winit_keys_map_to_distinct_keys() {
        let mapped: Vec<Key> = WINIT_KEY_CODES
            .iter()
            .filter_map(|&code| key(PhysicalKey::Code(code)))
            .collect();
        let distinct: HashSet<Key> = mapped.iter().copied().collect();
        assert_eq!(distinct.len(), mapped.len());
        assert_eq!(mapped.len(), Key::ALL.len());
    }

    #[test]
    fn a_known_key_is_sent_as_the_key_and_never_as_text() {
        assert_eq!(
            keyboard(
                PhysicalKey::Code(KeyCode::KeyQ),
                ElementState::Pressed,
                Some("a")
            ),
            [InputEvent::Key {
                key: Key::KeyQ,
                press: Press::Down
            }]
        );
        assert_eq!(
            keyboard(
                PhysicalKey::Code(KeyCode::ShiftRight),
                ElementState::Released,
                None
            ),
            [InputEvent::Key {
                key: Key::ShiftRight,
                press: Press::Up
            }]
        );
    }

    #[test]
    fn an_unknown_key_sends_its_text_once() {
        let unknown = PhysicalKey::Unidentified(NativeKeyCode::Xkb(300));
        assert_eq!(
            keyboard(unknown, ElementState::Pressed, Some("é")),
            [InputEvent::Text("é".into())]
        );
        assert!(keyboard(unknown, ElementState::Released, Some("é")).is_empty());
        assert!(keyboard(unknown, ElementState::Pressed, None).is_empty());
    }

    #[test]
    fn ime_commits_are_text_without_control_characters() {
        assert_eq!(ime_commit("日本\n語"), [InputEvent::Text("日本語".into())]);
    }

    #[test]
    fn mouse_buttons() {
        use winit::event::MouseButton as W;
        for (winit_button, button) in [
            (W::Left, MouseButton::Left),
            (W::Middle, MouseButton::Middle),
            (W::Right, MouseButton::Right),
            (W::Back, MouseButton::Back),
            (W::Forward, MouseButton::Forward),
        ] {
            assert_eq!(
                mouse_button(winit_button, ElementState::Pressed),
                Some(InputEvent::Button {
                    button,
                    press: Press::Down
                })
            );
        }
        assert_eq!(mouse_button(W::Other(12), ElementState::Pressed), None);
    }

    #[test]
    fn wheel_lines_become_notches_with_x11_directions() {
        let mut wheel = WheelAccumulator::new();
        // What winit reports for X buttons 4 (up) and 7 (right).
        assert_eq!(
            wheel.push(MouseScrollDelta::LineDelta(0.0, 1.0)),
            Some(InputEvent::Wheel { right: 0, down: -1 })
        );
        assert_eq!(
            wheel.push(MouseScrollDelta::LineDelta(-1.0, 0.0)),
            Some(InputEvent::Wheel { right: 1, down: 0 })
        );
    }

    #[test]
    fn fractions_accumulate_into_notches() {
        let mut wheel = WheelAccumulator::new();
        let step =
            MouseScrollDelta::PixelDelta(PhysicalPosition::new(0.0, -PIXELS_PER_NOTCH / 4.0));
        assert_eq!(wheel.push(step), None);
        assert_eq!(wheel.push(step), None);
        assert_eq!(wheel.push(step), None);
        assert_eq!(
            wheel.push(step),
            Some(InputEvent::Wheel { right: 0, down: 1 })
        );
        assert_eq!(wheel.push(MouseScrollDelta::LineDelta(0.5, 0.0)), None);
        assert_eq!(
            wheel.push(MouseScrollDelta::LineDelta(-2.0, 0.0)),
            Some(InputEvent::Wheel { right: 1, down: 0 })
        );
    }

    #[test]
    fn wheel_bursts_and_garbage_stay_valid() {
        let mut wheel = WheelAccumulator::new();
        assert_eq!(
            wheel.push(MouseScrollDelta::LineDelta(f32::MAX, -1e9)),
            Some(InputEvent::Wheel {
                right: -MAX_WHEEL_NOTCHES,
                down: MAX_WHEEL_NOTCHES
            })
        );
        assert_eq!(wheel.push(MouseScrollDelta::LineDelta(f32::NAN, 0.0)), None);
        assert_eq!(
            wheel.push(MouseScrollDelta::LineDelta(0.0, -1.0)),
            Some(InputEvent::Wheel { right: 0, down: 1 })
        );
    }

    /// Every `KeyCode` of winit 0.30, mapped or not.
    const WINIT_KEY_CODES: &[KeyCode] = &[
        KeyCode::Backquote,
        KeyCode::Backslash,
        KeyCode::BracketLeft,
        KeyCode::BracketRight,
        KeyCode::Comma,
        KeyCode::Digit0,
        KeyCode::Digit1,
        KeyCode::Digit2,
        KeyCode::Digit3,
        KeyCode::Digit4,
        KeyCode::Digit5,
        KeyCode::Digit6,
        KeyCode::Digit7,
        KeyCode::Digit8,
        KeyCode::Digit9,
        KeyCode::Equal,
        KeyCode::IntlBackslash,
        KeyCode::IntlRo,
        KeyCode::IntlYen,
        KeyCode::KeyA,
        KeyCode::KeyB,
        KeyCode::KeyC,
        KeyCode::KeyD,
        KeyCode::KeyE,
        KeyCode::KeyF,
        KeyCode::KeyG,
        KeyCode::KeyH,
        KeyCode::KeyI,
        KeyCode::KeyJ,
        KeyCode::KeyK,
        KeyCode::KeyL,
        KeyCode::KeyM,
        KeyCode::KeyN,
        KeyCode::KeyO,
        KeyCode::KeyP,
        KeyCode::KeyQ,
        KeyCode::KeyR,
        KeyCode::KeyS,
        KeyCode::KeyT,
        KeyCode::KeyU,
        KeyCode::KeyV,
        KeyCode::KeyW,
        KeyCode::KeyX,
        KeyCode::KeyY,
        KeyCode::KeyZ,
        KeyCode::Minus,
        KeyCode::Period,
        KeyCode::Quote,
        KeyCode::Semicolon,
        KeyCode::Slash,
        KeyCode::AltLeft,
        KeyCode::AltRight,
        KeyCode::Backspace,
        KeyCode::CapsLock,
        KeyCode::ContextMenu,
        KeyCode::ControlLeft,
        KeyCode::ControlRight,
        KeyCode::Enter,
        KeyCode::SuperLeft,
        KeyCode::SuperRight,
        KeyCode::ShiftLeft,
        KeyCode::ShiftRight,
        KeyCode::Space,
        KeyCode::Tab,
        KeyCode::Convert,
        KeyCode::KanaMode,
        KeyCode::Lang1,
        KeyCode::Lang2,
        KeyCode::Lang3,
        KeyCode::Lang4,
        KeyCode::Lang5,
        KeyCode::NonConvert,
        KeyCode::Delete,
        KeyCode::End,
        KeyCode::Help,
        KeyCode::Home,
        KeyCode::Insert,
        KeyCode::PageDown,
        KeyCode::PageUp,
        KeyCode::ArrowDown,
        KeyCode::ArrowLeft,
        KeyCode::ArrowRight,
        KeyCode::ArrowUp,
        KeyCode::NumLock,
        KeyCode::Numpad0,
        KeyCode::Numpad1,
        KeyCode::Numpad2,
        KeyCode::Numpad3,
        KeyCode::Numpad4,
        KeyCode::Numpad5,
        KeyCode::Numpad6,
        KeyCode::Numpad7,
        KeyCode::Numpad8,
        KeyCode::Numpad9,
        KeyCode::NumpadAdd,
        KeyCode::NumpadBackspace,
        KeyCode::NumpadClear,
        KeyCode::NumpadClearEntry,
        KeyCode::NumpadComma,
        KeyCode::NumpadDecimal,
        KeyCode::NumpadDivide,
        KeyCode::NumpadEnter,
        KeyCode::NumpadEqual,
        KeyCode::NumpadHash,
        KeyCode::NumpadMemoryAdd,
        KeyCode::NumpadMemoryClear,
        KeyCode::NumpadMemoryRecall,
        KeyCode::NumpadMemoryStore,
        KeyCode::NumpadMemorySubtract,
        KeyCode::NumpadMultiply,
        KeyCode::NumpadParenLeft,
        KeyCode::NumpadParenRight,
        KeyCode::NumpadStar,
        KeyCode::NumpadSubtract,
        KeyCode::Escape,
        KeyCode::Fn,
        KeyCode::FnLock,
        KeyCode::PrintScreen,
        KeyCode::ScrollLock,
        KeyCode::Pause,
        KeyCode::BrowserBack,
        KeyCode::BrowserFavorites,
        KeyCode::BrowserForward,
        KeyCode::BrowserHome,
        KeyCode::BrowserRefresh,
        KeyCode::BrowserSearch,
        KeyCode::BrowserStop,
        KeyCode::Eject,
        KeyCode::LaunchApp1,
        KeyCode::LaunchApp2,
        KeyCode::LaunchMail,
        KeyCode::MediaPlayPause,
        KeyCode::MediaSelect,
        KeyCode::MediaStop,
        KeyCode::MediaTrackNext,
        KeyCode::MediaTrackPrevious,
        KeyCode::Power,
        KeyCode::Sleep,
        KeyCode::AudioVolumeDown,
        KeyCode::AudioVolumeMute,
        KeyCode::AudioVolumeUp,
        KeyCode::WakeUp,
        KeyCode::Meta,
        KeyCode::Hyper,
        KeyCode::Turbo,
        KeyCode::Abort,
        KeyCode::Resume,
        KeyCode::Suspend,
        KeyCode::Again,
        KeyCode::Copy,
        KeyCode::Cut,
        KeyCode::Find,
        KeyCode::Open,
        KeyCode::Paste,
        KeyCode::Props,
        KeyCode::Select,
        KeyCode::Undo,
        KeyCode::Hiragana,
        KeyCode::Katakana,
        KeyCode::F1,
        KeyCode::F2,
        KeyCode::F3,
        KeyCode::F4,
        KeyCode::F5,
        KeyCode::F6,
        KeyCode::F7,
        KeyCode::F8,
        KeyCode::F9,
        KeyCode::F10,
        KeyCode::F11,
        KeyCode::F12,
        KeyCode::F13,
        KeyCode::F14,
        KeyCode::F15,
        KeyCode::F16,
        KeyCode::F17,
        KeyCode::F18,
        KeyCode::F19,
        KeyCode::F20,
        KeyCode::F21,
        KeyCode::F22,
        KeyCode::F23,
        KeyCode::F24,
        KeyCode::F25,
        KeyCode::F26,
        KeyCode::F27,
        KeyCode::F28,
        KeyCode::F29,
        KeyCode::F30,
        KeyCode::F31,
        KeyCode::F32,
        KeyCode::F33,
        KeyCode::F34,
        KeyCode::F35,
    ];
}
