//! Physical keys, named after the W3C UI Events `code` values.

use serde::{Deserialize, Serialize};

/// Defines [`Key`], [`Key::ALL`] and [`Key::evdev_code`] from one table, so a key can never
/// be added without its Linux code or left out of the list the tests walk.
macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident = $evdev:literal,)*) => {
        /// A key by its position on the keyboard, not by the character it produces: the
        /// remote's own layout turns it into a character, like VNC's and RDP's scancode modes.
        ///
        /// Names follow the W3C UI Events `code` values (`KeyA` is the key labelled A on a US
        /// QWERTY keyboard, whatever the local layout prints on it).
        ///
        /// The wire format numbers variants in order, so new keys are only ever appended.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Key {
            $($(#[$doc])* $name,)*
        }

        impl Key {
            /// Every key, in declaration order.
            pub const ALL: &'static [Key] = &[$(Key::$name,)*];

            /// The Linux evdev code of this key (`KEY_*` in `linux/input-event-codes.h`);
            /// an X server using the evdev keycodes (XKB's default) sees it as this + 8.
            pub const fn evdev_code(self) -> u16 {
                match self {
                    $(Key::$name => $evdev,)*
                }
            }
        }
    };
}

keys! {
    /// <kbd>`</kbd> on a US keyboard.
    Backquote = 41,
    /// <kbd>\\</kbd> on a US keyboard.
    Backslash = 43,
    /// <kbd>[</kbd> on a US keyboard.
    BracketLeft = 26,
    /// <kbd>]</kbd> on a US keyboard.
    BracketRight = 27,
    /// <kbd>,</kbd> on a US keyboard.
    Comma = 51,
    /// <kbd>0</kbd> in the top row.
    Digit0 = 11,
    /// <kbd>1</kbd> in the top row.
    Digit1 = 2,
    /// <kbd>2</kbd> in the top row.
    Digit2 = 3,
    /// <kbd>3</kbd> in the top row.
    Digit3 = 4,
    /// <kbd>4</kbd> in the top row.
    Digit4 = 5,
    /// <kbd>5</kbd> in the top row.
    Digit5 = 6,
    /// <kbd>6</kbd> in the top row.
    Digit6 = 7,
    /// <kbd>7</kbd> in the top row.
    Digit7 = 8,
    /// <kbd>8</kbd> in the top row.
    Digit8 = 9,
    /// <kbd>9</kbd> in the top row.
    Digit9 = 10,
    /// <kbd>=</kbd> on a US keyboard.
    Equal = 13,
    /// The extra key left of Z on ISO keyboards (<kbd>&lt;</kbd> on a German one).
    IntlBackslash = 86,
    /// <kbd>ろ</kbd> on a Japanese keyboard.
    IntlRo = 89,
    /// <kbd>¥</kbd> on a Japanese keyboard.
    IntlYen = 124,
    /// <kbd>A</kbd> on a US keyboard.
    KeyA = 30,
    /// <kbd>B</kbd> on a US keyboard.
    KeyB = 48,
    /// <kbd>C</kbd> on a US keyboard.
    KeyC = 46,
    /// <kbd>D</kbd> on a US keyboard.
    KeyD = 32,
    /// <kbd>E</kbd> on a US keyboard.
    KeyE = 18,
    /// <kbd>F</kbd> on a US keyboard.
    KeyF = 33,
    /// <kbd>G</kbd> on a US keyboard.
    KeyG = 34,
    /// <kbd>H</kbd> on a US keyboard.
    KeyH = 35,
    /// <kbd>I</kbd> on a US keyboard.
    KeyI = 23,
    /// <kbd>J</kbd> on a US keyboard.
    KeyJ = 36,
    /// <kbd>K</kbd> on a US keyboard.
    KeyK = 37,
    /// <kbd>L</kbd> on a US keyboard.
    KeyL = 38,
    /// <kbd>M</kbd> on a US keyboard.
    KeyM = 50,
    /// <kbd>N</kbd> on a US keyboard.
    KeyN = 49,
    /// <kbd>O</kbd> on a US keyboard.
    KeyO = 24,
    /// <kbd>P</kbd> on a US keyboard.
    KeyP = 25,
    /// <kbd>Q</kbd> on a US keyboard.
    KeyQ = 16,
    /// <kbd>R</kbd> on a US keyboard.
    KeyR = 19,
    /// <kbd>S</kbd> on a US keyboard.
    KeyS = 31,
    /// <kbd>T</kbd> on a US keyboard.
    KeyT = 20,
    /// <kbd>U</kbd> on a US keyboard.
    KeyU = 22,
    /// <kbd>V</kbd> on a US keyboard.
    KeyV = 47,
    /// <kbd>W</kbd> on a US keyboard.
    KeyW = 17,
    /// <kbd>X</kbd> on a US keyboard.
    KeyX = 45,
    /// <kbd>Y</kbd> on a US keyboard.
    KeyY = 21,
    /// <kbd>Z</kbd> on a US keyboard.
    KeyZ = 44,
    /// <kbd>-</kbd> on a US keyboard.
    Minus = 12,
    /// <kbd>.</kbd> on a US keyboard.
    Period = 52,
    /// <kbd>'</kbd> on a US keyboard.
    Quote = 40,
    /// <kbd>;</kbd> on a US keyboard.
    Semicolon = 39,
    /// <kbd>/</kbd> on a US keyboard.
    Slash = 53,
    /// Left <kbd>Alt</kbd>.
    AltLeft = 56,
    /// Right <kbd>Alt</kbd>, <kbd>AltGr</kbd> on many layouts.
    AltRight = 100,
    /// <kbd>Backspace</kbd>.
    Backspace = 14,
    /// <kbd>Caps Lock</kbd>.
    CapsLock = 58,
    /// The application (menu) key.
    ContextMenu = 127,
    /// Left <kbd>Ctrl</kbd>.
    ControlLeft = 29,
    /// Right <kbd>Ctrl</kbd>.
    ControlRight = 97,
    /// <kbd>Enter</kbd> in the main block.
    Enter = 28,
    /// Left <kbd>Windows</kbd>/<kbd>Super</kbd>/<kbd>⌘</kbd>.
    MetaLeft = 125,
    /// Right <kbd>Windows</kbd>/<kbd>Super</kbd>/<kbd>⌘</kbd>.
    MetaRight = 126,
    /// Left <kbd>Shift</kbd>.
    ShiftLeft = 42,
    /// Right <kbd>Shift</kbd>.
    ShiftRight = 54,
    /// The space bar.
    Space = 57,
    /// <kbd>Tab</kbd>.
    Tab = 15,
    /// <kbd>変換</kbd> (henkan) on a Japanese keyboard.
    Convert = 92,
    /// <kbd>カタカナ/ひらがな</kbd> on a Japanese keyboard.
    KanaMode = 93,
    /// <kbd>한/영</kbd> on a Korean keyboard.
    Lang1 = 122,
    /// <kbd>한자</kbd> on a Korean keyboard.
    Lang2 = 123,
    /// <kbd>カタカナ</kbd> on a Japanese keyboard.
    Lang3 = 90,
    /// <kbd>ひらがな</kbd> on a Japanese keyboard.
    Lang4 = 91,
    /// <kbd>半角/全角</kbd> on a Japanese keyboard.
    Lang5 = 85,
    /// <kbd>無変換</kbd> (muhenkan) on a Japanese keyboard.
    NonConvert = 94,
    /// <kbd>Delete</kbd>.
    Delete = 111,
    /// <kbd>End</kbd>.
    End = 107,
    /// <kbd>Help</kbd>.
    Help = 138,
    /// <kbd>Home</kbd>.
    Home = 102,
    /// <kbd>Insert</kbd>.
    Insert = 110,
    /// <kbd>Page Down</kbd>.
    PageDown = 109,
    /// <kbd>Page Up</kbd>.
    PageUp = 104,
    /// <kbd>↓</kbd>.
    ArrowDown = 108,
    /// <kbd>←</kbd>.
    ArrowLeft = 105,
    /// <kbd>→</kbd>.
    ArrowRight = 106,
    /// <kbd>↑</kbd>.
    ArrowUp = 103,
    /// <kbd>Num Lock</kbd>.
    NumLock = 69,
    /// Numpad <kbd>0</kbd>.
    Numpad0 = 82,
    /// Numpad <kbd>1</kbd>.
    Numpad1 = 79,
    /// Numpad <kbd>2</kbd>.
    Numpad2 = 80,
    /// Numpad <kbd>3</kbd>.
    Numpad3 = 81,
    /// Numpad <kbd>4</kbd>.
    Numpad4 = 75,
    /// Numpad <kbd>5</kbd>.
    Numpad5 = 76,
    /// Numpad <kbd>6</kbd>.
    Numpad6 = 77,
    /// Numpad <kbd>7</kbd>.
    Numpad7 = 71,
    /// Numpad <kbd>8</kbd>.
    Numpad8 = 72,
    /// Numpad <kbd>9</kbd>.
    Numpad9 = 73,
    /// Numpad <kbd>+</kbd>.
    NumpadAdd = 78,
    /// Numpad <kbd>,</kbd> (Brazilian and Japanese keyboards).
    NumpadComma = 121,
    /// Numpad <kbd>.</kbd> (<kbd>,</kbd> on some layouts).
    NumpadDecimal = 83,
    /// Numpad <kbd>/</kbd>.
    NumpadDivide = 98,
    /// Numpad <kbd>Enter</kbd>.
    NumpadEnter = 96,
    /// Numpad <kbd>=</kbd>.
    NumpadEqual = 117,
    /// Numpad <kbd>*</kbd>.
    NumpadMultiply = 55,
    /// Numpad <kbd>(</kbd>.
    NumpadParenLeft = 179,
    /// Numpad <kbd>)</kbd>.
    NumpadParenRight = 180,
    /// Numpad <kbd>-</kbd>.
    NumpadSubtract = 74,
    /// <kbd>Esc</kbd>.
    Escape = 1,
    /// <kbd>F1</kbd>.
    F1 = 59,
    /// <kbd>F2</kbd>.
    F2 = 60,
    /// <kbd>F3</kbd>.
    F3 = 61,
    /// <kbd>F4</kbd>.
    F4 = 62,
    /// <kbd>F5</kbd>.
    F5 = 63,
    /// <kbd>F6</kbd>.
    F6 = 64,
    /// <kbd>F7</kbd>.
    F7 = 65,
    /// <kbd>F8</kbd>.
    F8 = 66,
    /// <kbd>F9</kbd>.
    F9 = 67,
    /// <kbd>F10</kbd>.
    F10 = 68,
    /// <kbd>F11</kbd>.
    F11 = 87,
    /// <kbd>F12</kbd>.
    F12 = 88,
    /// <kbd>F13</kbd>.
    F13 = 183,
    /// <kbd>F14</kbd>.
    F14 = 184,
    /// <kbd>F15</kbd>.
    F15 = 185,
    /// <kbd>F16</kbd>.
    F16 = 186,
    /// <kbd>F17</kbd>.
    F17 = 187,
    /// <kbd>F18</kbd>.
    F18 = 188,
    /// <kbd>F19</kbd>.
    F19 = 189,
    /// <kbd>F20</kbd>.
    F20 = 190,
    /// <kbd>F21</kbd>.
    F21 = 191,
    /// <kbd>F22</kbd>.
    F22 = 192,
    /// <kbd>F23</kbd>.
    F23 = 193,
    /// <kbd>F24</kbd>.
    F24 = 194,
    /// <kbd>Print Screen</kbd> (<kbd>SysRq</kbd>).
    PrintScreen = 99,
    /// <kbd>Scroll Lock</kbd>.
    ScrollLock = 70,
    /// <kbd>Pause</kbd> (<kbd>Break</kbd>).
    Pause = 119,
    /// Browser back.
    BrowserBack = 158,
    /// Browser forward.
    BrowserForward = 159,
    /// Browser home page.
    BrowserHome = 172,
    /// Browser refresh.
    BrowserRefresh = 173,
    /// Browser search.
    BrowserSearch = 217,
    /// Opens the mail client.
    LaunchMail = 155,
    /// Play or pause media.
    MediaPlayPause = 164,
    /// Stop media.
    MediaStop = 166,
    /// Next track.
    MediaTrackNext = 163,
    /// Previous track.
    MediaTrackPrevious = 165,
    /// Volume down.
    AudioVolumeDown = 114,
    /// Mute.
    AudioVolumeMute = 113,
    /// Volume up.
    AudioVolumeUp = 115,
}

impl Key {
    /// Whether this key changes what other keys mean while it is held (Shift, Ctrl, Alt,
    /// Meta); these are released last at the end of a session.
    pub const fn is_modifier(self) -> bool {
        matches!(
            self,
            Key::ShiftLeft
                | Key::ShiftRight
                | Key::ControlLeft
                | Key::ControlRight
                | Key::AltLeft
                | Key::AltRight
                | Key::MetaLeft
                | Key::MetaRight
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::Key;

    #[test]
    fn every_key_has_its_own_evdev_code() {
        let codes: HashSet<u16> = Key::ALL.iter().map(|key| key.evdev_code()).collect();
        assert_eq!(codes.len(), Key::ALL.len());
    }

    #[test]
    fn evdev_codes_fit_x_keycodes() {
        // X keycodes are one byte and evdev codes are offset by 8 on the X server.
        for key in Key::ALL {
            let code = key.evdev_code();
            assert!((1..=247).contains(&code), "{key:?} has evdev code {code}");
        }
    }

    #[test]
    fn well_known_codes() {
        assert_eq!(Key::KeyA.evdev_code(), 30);
        assert_eq!(Key::Enter.evdev_code(), 28);
        assert_eq!(Key::ShiftLeft.evdev_code(), 42);
        assert_eq!(Key::F24.evdev_code(), 194);
    }
}
