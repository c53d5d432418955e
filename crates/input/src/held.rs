//! Which keys and buttons the injected events have left held down.

use std::collections::BTreeSet;

use crate::{InputEvent, Key, MouseButton, Press};

/// The keys and mouse buttons held down according to the events applied so far, so that a
/// session's end can release them all: no Ctrl stays stuck after a disconnect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldInput {
    keys: BTreeSet<Key>,
    buttons: BTreeSet<MouseButton>,
}

impl HeldInput {
    /// Nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `event` and tells whether it should reach the display: `false` only for the
    /// release of a key or button this session does not hold, which would otherwise release
    /// something the remote's own user is holding.
    pub fn apply(&mut self, event: &InputEvent) -> bool {
        match *event {
            InputEvent::Key {
                key,
                press: Press::Down,
            } => {
                self.keys.insert(key);
                true
            }
            InputEvent::Key {
                key,
                press: Press::Up,
            } => self.keys.remove(&key),
            InputEvent::Button {
                button,
                press: Press::Down,
            } => {
                self.buttons.insert(button);
                true
            }
            InputEvent::Button {
                button,
                press: Press::Up,
            } => self.buttons.remove(&button),
            InputEvent::PointerMove { .. } | InputEvent::Wheel { .. } | InputEvent::Text(_) => true,
        }
    }

    /// Whether `key` is held.
    pub fn is_key_held(&self, key: Key) -> bool {
        self.keys.contains(&key)
    }

    /// Whether `button` is held.
    pub fn is_button_held(&self, button: MouseButton) -> bool {
        self.buttons.contains(&button)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.buttons.is_empty()
    }

    /// Forgets everything held and returns the events that release it: buttons first, then
    /// ordinary keys, then modifiers, so no release is read as a shortcut.
    pub fn release_all(&mut self) -> Vec<InputEvent> {
        let buttons = std::mem::take(&mut self.buttons);
        let keys = std::mem::take(&mut self.keys);
        let (modifiers, others): (Vec<Key>, Vec<Key>) =
            keys.into_iter().partition(|key| key.is_modifier());
        let buttons = buttons.into_iter().map(|button| InputEvent::Button {
            button,
            press: Press::Up,
        });
        let keys = others
            .into_iter()
            .chain(modifiers)
            .map(|key| InputEvent::Key {
                key,
                press: Press::Up,
            });
        buttons.chain(keys).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::strategies::any_event;

    fn key(key: Key, press: Press) -> InputEvent {
        InputEvent::Key { key, press }
    }

    #[test]
    fn a_pressed_key_is_held_until_released() {
        let mut held = HeldInput::new();
        assert!(held.apply(&key(Key::ControlLeft, Press::Down)));
        assert!(held.is_key_held(Key::ControlLeft));
        assert!(held.apply(&key(Key::ControlLeft, Press::Up)));
        assert!(held.is_empty());
    }

    #[test]
    fn releasing_what_is_not_held_is_not_passed_on() {
        let mut held = HeldInput::new();
        assert!(!held.apply(&key(Key::ShiftLeft, Press::Up)));
        assert!(!held.apply(&InputEvent::Button {
            button: MouseButton::Left,
            press: Press::Up
        }));
    }

    #[test]
    fn autorepeat_presses_are_passed_on_and_one_release_ends_them() {
        let mut held = HeldInput::new();
        assert!(held.apply(&key(Key::KeyA, Press::Down)));
        assert!(held.apply(&key(Key::KeyA, Press::Down)));
        assert!(held.apply(&key(Key::KeyA, Press::Up)));
        assert!(held.is_empty());
    }

    #[test]
    fn release_all_releases_buttons_then_keys_then_modifiers() {
        let mut held = HeldInput::new();
        for event in [
            key(Key::ShiftLeft, Press::Down),
            key(Key::ControlRight, Press::Down),
            key(Key::KeyC, Press::Down),
            InputEvent::Button {
                button: MouseButton::Right,
                press: Press::Down,
            },
        ] {
            held.apply(&event);
        }
        let releases = held.release_all();
        assert_eq!(
            releases,
            [
                InputEvent::Button {
                    button: MouseButton::Right,
                    press: Press::Up
                },
                key(Key::KeyC, Press::Up),
                key(Key::ControlRight, Press::Up),
                key(Key::ShiftLeft, Press::Up),
            ]
        );
        assert!(held.is_empty());
        assert!(held.release_all().is_empty());
    }

    proptest! {
        #[test]
        fn held_is_exactly_what_was_pressed_last(events in proptest::collection::vec(any_event(), 0..64)) {
            let mut held = HeldInput::new();
            for event in &events {
                held.apply(event);
            }
            for &k in Key::ALL {
                let last = events.iter().rev().find_map(|event| match event {
                    InputEvent::Key { key, press } if *key == k => Some(*press),
                    _ => None,
                });
                prop_assert_eq!(held.is_key_held(k), last == Some(Press::Down));
            }
            for &b in MouseButton::ALL {
                let last = events.iter().rev().find_map(|event| match event {
                    InputEvent::Button { button, press } if *button == b => Some(*press),
                    _ => None,
                });
                prop_assert_eq!(held.is_button_held(b), last == Some(Press::Down));
            }
        }

        #[test]
        fn release_all_leaves_nothing_held(events in proptest::collection::vec(any_event(), 0..64)) {
            let mut held = HeldInput::new();
            for event in &events {
                held.apply(event);
            }
            let before = held.clone();
            let releases = held.release_all();
            prop_assert!(held.is_empty());
            // Each held key or button is released exactly once, and nothing else is.
            let mut replayed = before;
            for release in &releases {
                prop_assert!(replayed.apply(release));
            }
            prop_assert!(replayed.is_empty());
        }
    }
}
