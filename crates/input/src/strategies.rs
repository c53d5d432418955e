//! Proptest strategies shared by the unit tests.

use proptest::prelude::*;

use crate::{InputEvent, Key, MouseButton, Press};

/// Any event, valid or not.
pub(crate) fn any_event() -> impl Strategy<Value = InputEvent> {
    let press = prop_oneof![Just(Press::Down), Just(Press::Up)];
    prop_oneof![
        (proptest::sample::select(Key::ALL), press.clone())
            .prop_map(|(key, press)| InputEvent::Key { key, press }),
        (proptest::sample::select(MouseButton::ALL), press)
            .prop_map(|(button, press)| InputEvent::Button { button, press }),
        (any::<u32>(), any::<u32>()).prop_map(|(x, y)| InputEvent::PointerMove { x, y }),
        (any::<i32>(), any::<i32>()).prop_map(|(right, down)| InputEvent::Wheel { right, down }),
        any::<String>().prop_map(InputEvent::Text),
    ]
}
