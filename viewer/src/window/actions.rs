//! The console's actions, by name: what each does, where it sits (the toolbar or its Keys
//! menu) and its keyboard shortcut. The toolbar and the shortcuts both read this one table, so
//! an action is added in one place (a row here and its effect in the window).
//!
//! Every shortcut is Ctrl+Alt+Shift with one key: a chord remote typing does not use, and which
//! the window never forwards.

use tether_input::Key;
use winit::keyboard::KeyCode;

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Switch between fit and actual size.
    ToggleView,
    /// Pin the toolbar above the picture, or let it hide over it.
    ToggleToolbar,
    /// Send a key chord the local desktop would keep for itself.
    SendKeys(&'static [Key]),
    /// End the session and close the window.
    EndSession,
}

/// Where an action is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A button on the toolbar.
    Toolbar,
    /// An entry of the toolbar's Keys menu.
    KeysMenu,
}

/// One action of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Action {
    /// Its stable name (logs, scripts): e.g. `end-session`.
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// What it does.
    pub effect: Effect,
    /// Where it is offered.
    pub place: Place,
    /// The key that, with Ctrl+Alt+Shift, triggers it.
    pub shortcut: KeyCode,
    /// The shortcut's key as shown ("S" in Ctrl+Alt+Shift+S).
    pub shortcut_label: &'static str,
}

/// Every action, toolbar buttons in order from left to right.
pub(crate) const ACTIONS: &[Action] = &[
    Action {
        name: "toggle-view",
        label: "Fit / 1:1",
        effect: Effect::ToggleView,
        place: Place::Toolbar,
        shortcut: KeyCode::KeyS,
        shortcut_label: "S",
    },
    Action {
        name: "send-ctrl-alt-del",
        label: "Ctrl+Alt+Del",
        effect: Effect::SendKeys(&[Key::ControlLeft, Key::AltLeft, Key::Delete]),
        place: Place::Toolbar,
        shortcut: KeyCode::Delete,
        shortcut_label: "Delete",
    },
    Action {
        name: "send-alt-tab",
        label: "Alt+Tab",
        effect: Effect::SendKeys(&[Key::AltLeft, Key::Tab]),
        place: Place::KeysMenu,
        shortcut: KeyCode::Tab,
        shortcut_label: "Tab",
    },
    Action {
        name: "send-super",
        label: "Super (Windows key)",
        effect: Effect::SendKeys(&[Key::MetaLeft]),
        place: Place::KeysMenu,
        shortcut: KeyCode::KeyW,
        shortcut_label: "W",
    },
    Action {
        name: "send-ctrl-esc",
        label: "Ctrl+Esc",
        effect: Effect::SendKeys(&[Key::ControlLeft, Key::Escape]),
        place: Place::KeysMenu,
        shortcut: KeyCode::Escape,
        shortcut_label: "Esc",
    },
    Action {
        name: "send-print",
        label: "Print Screen",
        effect: Effect::SendKeys(&[Key::PrintScreen]),
        place: Place::KeysMenu,
        shortcut: KeyCode::KeyP,
        shortcut_label: "P",
    },
    Action {
        name: "send-alt-f4",
        label: "Alt+F4",
        effect: Effect::SendKeys(&[Key::AltLeft, Key::F4]),
        place: Place::KeysMenu,
        shortcut: KeyCode::F4,
        shortcut_label: "F4",
    },
    Action {
        name: "toggle-toolbar",
        label: "Pin toolbar",
        effect: Effect::ToggleToolbar,
        place: Place::Toolbar,
        shortcut: KeyCode::KeyT,
        shortcut_label: "T",
    },
    Action {
        name: "end-session",
        label: "End session",
        effect: Effect::EndSession,
        place: Place::Toolbar,
        shortcut: KeyCode::KeyQ,
        shortcut_label: "Q",
    },
];

/// The action whose shortcut is Ctrl+Alt+Shift+`key`.
pub(crate) fn by_shortcut(key: KeyCode) -> Option<&'static Action> {
    ACTIONS.iter().find(|action| action.shortcut == key)
}

impl Action {
    /// The shortcut as shown: "Ctrl+Alt+Shift+S".
    pub fn shortcut_text(&self) -> String {
        format!("Ctrl+Alt+Shift+{}", self.shortcut_label)
    }

    /// Whether it needs control of the remote screen (it sends keys there).
    pub fn needs_control(&self) -> bool {
        matches!(self.effect, Effect::SendKeys(_))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_and_shortcuts_are_unique() {
        let names: HashSet<_> = ACTIONS.iter().map(|action| action.name).collect();
        let keys: HashSet<_> = ACTIONS.iter().map(|action| action.shortcut).collect();
        assert_eq!(names.len(), ACTIONS.len());
        assert_eq!(keys.len(), ACTIONS.len());
    }

    #[test]
    fn the_view_shortcut_stays_ctrl_alt_shift_s() {
        let action = by_shortcut(KeyCode::KeyS).expect("bound");
        assert_eq!(action.effect, Effect::ToggleView);
        assert_eq!(action.shortcut_text(), "Ctrl+Alt+Shift+S");
        assert!(!action.needs_control());
        let keys = by_shortcut(KeyCode::Delete).expect("bound");
        assert_eq!(
            keys.effect,
            Effect::SendKeys(&[Key::ControlLeft, Key::AltLeft, Key::Delete])
        );
        assert!(keys.needs_control());
        assert_eq!(by_shortcut(KeyCode::KeyA), None);
    }
}
