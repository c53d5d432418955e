//! The input events a viewer sends to an agent, and their validation.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::Key;

/// Longest [`InputEvent::Text`] accepted, in UTF-8 bytes; longer text is sent as several events.
pub const MAX_TEXT_BYTES: usize = 256;

/// Most wheel notches one [`InputEvent::Wheel`] may carry on each axis: each notch is injected
/// as one button click, so an unbounded count from the network would stall the agent.
pub const MAX_WHEEL_NOTCHES: i32 = 100;

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MouseButton {
    /// The primary button.
    Left,
    /// The wheel button.
    Middle,
    /// The secondary button.
    Right,
    /// The "back" side button.
    Back,
    /// The "forward" side button.
    Forward,
}

impl MouseButton {
    /// Every button.
    pub const ALL: &'static [MouseButton] = &[
        MouseButton::Left,
        MouseButton::Middle,
        MouseButton::Right,
        MouseButton::Back,
        MouseButton::Forward,
    ];
}

/// Whether a key or button goes down or comes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Press {
    /// It goes down.
    Down,
    /// It comes up.
    Up,
}

/// One input event, as the technician produced it in the viewer.
///
/// The wire format numbers variants in order, so new ones are only ever appended (here and in
/// [`MouseButton`] and [`Press`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputEvent {
    /// The pointer moves to this pixel of the remote screen (0, 0 is the top-left corner).
    PointerMove {
        /// Column, from the left edge.
        x: u32,
        /// Row, from the top edge.
        y: u32,
    },
    /// A mouse button goes down or up where the pointer is.
    Button {
        /// Which button.
        button: MouseButton,
        /// Down or up.
        press: Press,
    },
    /// The wheel turns by whole notches (lines) on either axis or both.
    Wheel {
        /// Notches to the right; negative scrolls left.
        right: i32,
        /// Notches down (towards the user); negative scrolls up.
        down: i32,
    },
    /// A physical key goes down or up; the remote's layout decides what it types.
    Key {
        /// Which key.
        key: Key,
        /// Down or up.
        press: Press,
    },
    /// Text typed as it is, whatever the remote's layout: IME commits and characters no key
    /// of the remote produces. At most [`MAX_TEXT_BYTES`], no control characters.
    Text(String),
}

/// The size of the remote screen in pixels, against which pointer positions are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScreenSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an event from the network was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    /// The pointer position lies outside the screen.
    #[error("pointer position ({x}, {y}) is outside the {width}x{height} screen")]
    OffScreen {
        /// Requested column.
        x: u32,
        /// Requested row.
        y: u32,
        /// Screen width.
        width: u32,
        /// Screen height.
        height: u32,
    },
    /// More wheel notches than [`MAX_WHEEL_NOTCHES`] on one axis.
    #[error("wheel turn of {notches} notches exceeds the limit of {MAX_WHEEL_NOTCHES}")]
    WheelTooFar {
        /// The requested notches on the offending axis.
        notches: i32,
    },
    /// Text longer than [`MAX_TEXT_BYTES`].
    #[error("text of {bytes} bytes exceeds the limit of {MAX_TEXT_BYTES}")]
    TextTooLong {
        /// Its length in UTF-8 bytes.
        bytes: usize,
    },
    /// Text containing a control character (Enter, Tab, Backspace… are keys, not text).
    #[error("text contains the control character U+{0:04X}")]
    ControlCharacter(u32),
}

/// An event that passed [`InputEvent::validate`], the only kind an injector accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent(InputEvent);

impl ValidEvent {
    /// The event itself.
    pub fn event(&self) -> &InputEvent {
        &self.0
    }
}

impl InputEvent {
    /// Checks an event that came from the network against the remote screen's current size.
    pub fn validate(self, screen: ScreenSize) -> Result<ValidEvent, InvalidInput> {
        match &self {
            &InputEvent::PointerMove { x, y } => {
                if x >= screen.width || y >= screen.height {
                    return Err(InvalidInput::OffScreen {
                        x,
                        y,
                        width: screen.width,
                        height: screen.height,
                    });
                }
            }
            &InputEvent::Wheel { right, down } => {
                for notches in [right, down] {
                    if notches.unsigned_abs() > MAX_WHEEL_NOTCHES.unsigned_abs() {
                        return Err(InvalidInput::WheelTooFar { notches });
                    }
                }
            }
            InputEvent::Text(text) => check_text(text)?,
            InputEvent::Button { .. } | InputEvent::Key { .. } => {}
        }
        Ok(ValidEvent(self))
    }

    /// Splits typed text into valid [`InputEvent::Text`] events: control characters are
    /// dropped (they belong to keys) and long text is cut at character boundaries.
    pub fn text_events(text: &str) -> Vec<InputEvent> {
        let mut events = Vec::new();
        let mut chunk = String::new();
        for c in text.chars().filter(|c| !c.is_control()) {
            if chunk.len() + c.len_utf8() > MAX_TEXT_BYTES {
                events.push(InputEvent::Text(std::mem::take(&mut chunk)));
            }
            chunk.push(c);
        }
        if !chunk.is_empty() {
            events.push(InputEvent::Text(chunk));
        }
        events
    }
}

fn check_text(text: &str) -> Result<(), InvalidInput> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(InvalidInput::TextTooLong { bytes: text.len() });
    }
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(InvalidInput::ControlCharacter(u32::from(c))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::strategies::any_event;

    const FULL_HD: ScreenSize = ScreenSize {
        width: 1920,
        height: 1080,
    };

    #[test]
    fn pointer_inside_the_screen_is_valid_up_to_the_last_pixel() {
        for (x, y) in [(0, 0), (1919, 1079), (960, 540)] {
            assert!(InputEvent::PointerMove { x, y }.validate(FULL_HD).is_ok());
        }
    }

    #[test]
    fn pointer_outside_the_screen_is_refused() {
        for (x, y) in [(1920, 0), (0, 1080), (u32::MAX, u32::MAX)] {
            assert_eq!(
                InputEvent::PointerMove { x, y }.validate(FULL_HD),
                Err(InvalidInput::OffScreen {
                    x,
                    y,
                    width: 1920,
                    height: 1080
                })
            );
        }
    }

    #[test]
    fn wheel_is_bounded_on_both_axes() {
        let ok = InputEvent::Wheel {
            right: -MAX_WHEEL_NOTCHES,
            down: MAX_WHEEL_NOTCHES,
        };
        assert!(ok.validate(FULL_HD).is_ok());
        for (right, down) in [(i32::MIN, 0), (0, MAX_WHEEL_NOTCHES + 1)] {
            assert!(matches!(
                InputEvent::Wheel { right, down }.validate(FULL_HD),
                Err(InvalidInput::WheelTooFar { .. })
            ));
        }
    }

    #[test]
    fn text_is_bounded_and_has_no_control_characters() {
        assert!(InputEvent::Text("Ü€é abc".into()).validate(FULL_HD).is_ok());
        assert_eq!(
            InputEvent::Text("€".repeat(100)).validate(FULL_HD),
            Err(InvalidInput::TextTooLong { bytes: 300 })
        );
        assert_eq!(
            InputEvent::Text("a\nb".into()).validate(FULL_HD),
            Err(InvalidInput::ControlCharacter(0x0a))
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let error = InputEvent::PointerMove { x: 2000, y: 5 }
            .validate(FULL_HD)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "pointer position (2000, 5) is outside the 1920x1080 screen"
        );
    }

    proptest! {
        #[test]
        fn text_events_keep_every_printable_character_and_are_valid(text in "(?s).{0,600}") {
            let events = InputEvent::text_events(&text);
            let mut rejoined = String::new();
            for event in events {
                prop_assert!(event.clone().validate(FULL_HD).is_ok());
                let InputEvent::Text(chunk) = event else { unreachable!() };
                prop_assert!(!chunk.is_empty());
                rejoined.push_str(&chunk);
            }
            let printable: String = text.chars().filter(|c| !c.is_control()).collect();
            prop_assert_eq!(rejoined, printable);
        }

        #[test]
        fn every_event_survives_the_wire_format(event in any_event()) {
            let bytes = postcard::to_allocvec(&event).unwrap();
            prop_assert_eq!(postcard::from_bytes::<InputEvent>(&bytes).unwrap(), event);
        }

        #[test]
        fn validation_never_panics(x: u32, y: u32, right: i32, down: i32, text in ".{0,300}") {
            let screen = ScreenSize { width: x.wrapping_mul(7), height: y.wrapping_mul(3) };
            let _ = InputEvent::PointerMove { x, y }.validate(screen);
            let _ = InputEvent::Wheel { right, down }.validate(screen);
            let _ = InputEvent::Text(text).validate(screen);
        }
    }
}
