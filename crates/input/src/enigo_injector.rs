//! [`Injector`] for X11 through enigo's x11rb backend (XTEST; no libxdo, no Xlib).

use enigo::{Axis, Coordinate, Direction, Enigo, Keyboard, Mouse, Settings};
use x11rb::{connection::RequestConnection, protocol::xtest};

use crate::{HeldInput, InjectError, Injector, InputEvent, Key, MouseButton, Press, ValidEvent};

/// X servers with XKB's evdev keycodes (the default everywhere since Xorg 1.7) number each
/// key as its Linux evdev code plus this.
const EVDEV_TO_X_KEYCODE: u16 = 8;

/// Injects input into one X display with the XTEST extension, keeping track of what it holds
/// and releasing all of it when dropped.
pub struct EnigoInjector {
    enigo: Enigo,
    held: HeldInput,
}

impl EnigoInjector {
    /// Opens the X display named `display` (e.g. `:0`).
    ///
    /// The name goes to enigo's own settings (`x11_display`), so the process environment is
    /// neither read nor changed here and injectors for different displays can coexist.
    pub fn open(display: &str) -> Result<Self, InjectError> {
        if display.is_empty() {
            return Err(InjectError::NoDisplay);
        }
        check_display(display)?;
        let settings = Settings {
            x11_display: Some(display.to_owned()),
            // The delay is sent to the server with each button event to wait before handling
            // it; nothing here needs one.
            linux_delay: 0,
            // Releasing is this type's job: it also knows about mouse buttons.
            release_keys_when_dropped: false,
            ..Settings::default()
        };
        let enigo = Enigo::new(&settings).map_err(|error| InjectError::Open {
            display: display.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            enigo,
            held: HeldInput::new(),
        })
    }

    /// Opens the display named by the `DISPLAY` environment variable.
    pub fn open_default() -> Result<Self, InjectError> {
        let display = std::env::var("DISPLAY").unwrap_or_default();
        Self::open(&display)
    }

    /// What this injector holds down.
    pub fn held(&self) -> &HeldInput {
        &self.held
    }

    fn inject(&mut self, event: &InputEvent) -> Result<(), InjectError> {
        let what = kind(event);
        let failed = |error: enigo::InputError| InjectError::Inject {
            what,
            reason: error.to_string(),
        };
        match event {
            &InputEvent::PointerMove { x, y } => {
                let (Ok(x), Ok(y)) = (i32::try_from(x), i32::try_from(y)) else {
                    return Err(InjectError::Inject {
                        what,
                        reason: format!("({x}, {y}) is beyond X11's coordinate range"),
                    });
                };
                self.enigo.move_mouse(x, y, Coordinate::Abs).map_err(failed)
            }
            &InputEvent::Button { button, press } => self
                .enigo
                .button(enigo_button(button), direction(press))
                .map_err(failed),
            &InputEvent::Wheel { right, down } => {
                // enigo scrolls positive lengths right and down: X buttons 7 and 5.
                if down != 0 {
                    self.enigo.scroll(down, Axis::Vertical).map_err(failed)?;
                }
                if right != 0 {
                    self.enigo.scroll(right, Axis::Horizontal).map_err(failed)?;
                }
                Ok(())
            }
            &InputEvent::Key { key, press } => self.key(key, press).map_err(failed),
            InputEvent::Text(text) => self.type_text(text).map_err(failed),
        }
    }

    fn key(&mut self, key: Key, press: Press) -> Result<(), enigo::InputError> {
        self.enigo
            .raw(key.evdev_code() + EVDEV_TO_X_KEYCODE, direction(press))
    }

    /// Types `text` with no modifier in effect, so that text typed while the technician holds
    /// Shift or Ctrl arrives as it is rather than as uppercase or shortcuts.
    ///
    /// enigo types each character with a key whose first keysym is that character, binding a
    /// spare keycode to it when no key has it; the server's modifier state still applies to
    /// that key. Lock states (Caps Lock) are beyond its reach.
    fn type_text(&mut self, text: &str) -> Result<(), enigo::InputError> {
        let modifiers: Vec<Key> = Key::ALL
            .iter()
            .copied()
            .filter(|&key| key.is_modifier() && self.held.is_key_held(key))
            .collect();
        for &key in &modifiers {
            self.key(key, Press::Up)?;
        }
        let typed = self.enigo.text(text);
        for &key in &modifiers {
            self.key(key, Press::Down)?;
        }
        typed
    }
}

impl Injector for EnigoInjector {
    fn apply(&mut self, event: &ValidEvent) -> Result<(), InjectError> {
        let event = event.event();
        if self.held.apply(event) {
            self.inject(event)
        } else {
            Ok(())
        }
    }

    fn release_all(&mut self) -> Result<(), InjectError> {
        let mut first_error = None;
        for release in self.held.release_all() {
            if let Err(error) = self.inject(&release) {
                tracing::warn!("{error}");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for EnigoInjector {
    fn drop(&mut self) {
        // Errors are already logged by release_all and nobody is left to hand them to.
        let _ = self.release_all();
    }
}

/// Connects once to give a precise reason when the display cannot be used: enigo only logs
/// it and reports "no successful connection".
fn check_display(display: &str) -> Result<(), InjectError> {
    let refused = |reason: String| InjectError::Open {
        display: display.to_owned(),
        reason,
    };
    let (connection, _) =
        x11rb::connect(Some(display)).map_err(|e| refused(format!("connecting failed: {e}")))?;
    let xtest = connection
        .extension_information(xtest::X11_EXTENSION_NAME)
        .map_err(|e| refused(e.to_string()))?;
    match xtest {
        Some(_) => Ok(()),
        None => Err(refused("the X server lacks the XTEST extension".to_owned())),
    }
}

fn kind(event: &InputEvent) -> &'static str {
    match event {
        InputEvent::PointerMove { .. } => "pointer move",
        InputEvent::Button { .. } => "mouse button",
        InputEvent::Wheel { .. } => "wheel turn",
        InputEvent::Key { .. } => "key",
        InputEvent::Text(_) => "text",
    }
}

fn direction(press: Press) -> Direction {
    match press {
        Press::Down => Direction::Press,
        Press::Up => Direction::Release,
    }
}

fn enigo_button(button: MouseButton) -> enigo::Button {
    match button {
        MouseButton::Left => enigo::Button::Left,
        MouseButton::Middle => enigo::Button::Middle,
        MouseButton::Right => enigo::Button::Right,
        MouseButton::Back => enigo::Button::Back,
        MouseButton::Forward => enigo::Button::Forward,
    }
}
