//! One of the dialog's windows on the X server: created from a [`Scene`], painted, closed.
//!
//! Each button is also an input-only child window named after its label: the server tells
//! which button a click landed on, and tools (tests, accessibility aids) can find buttons by
//! name.

use x11rb::{
    connection::Connection,
    properties::{WmHints, WmSizeHints, WmSizeHintsSpecification},
    protocol::xproto::{
        AtomEnum, ChangeGCAux, ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, EventMask,
        PropMode, Rectangle, StackMode, Window, WindowClass,
    },
    wrapper::ConnectionExt as _,
    COPY_DEPTH_FROM_PARENT, COPY_FROM_PARENT,
};

use super::{
    buttons::Button,
    layout::{place, Colour, Paint, Placement, Scene},
    x11::X,
    DialogError,
};

/// Which of the dialog's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The question: centred, a dialog, urgent.
    Request,
    /// The live indicator: at the top, on every desktop.
    Indicator,
}

/// A window showing a [`Scene`].
pub(crate) struct SceneWindow {
    /// The top-level window.
    pub window: Window,
    scene: Scene,
    /// Each button's input-only window.
    buttons: Vec<(Window, Button, Rectangle)>,
}

impl SceneWindow {
    /// Creates, names and maps a window showing `scene`, placed on the monitor as `kind` wants
    /// and kept above other windows.
    pub(crate) fn open(x: &X, kind: Kind, title: &str, scene: Scene) -> Result<Self, DialogError> {
        let conn = &*x.conn;
        let placement = match kind {
            Kind::Request => Placement::Centre,
            Kind::Indicator => Placement::TopCentre,
        };
        let (left, top) = place(x.monitor()?, (scene.width, scene.height), placement);
        // The indicator also hears of being unmapped, minimised or covered, to come back.
        let events = match kind {
            Kind::Request => EventMask::EXPOSURE | EventMask::KEY_PRESS,
            Kind::Indicator => {
                EventMask::EXPOSURE
                    | EventMask::KEY_PRESS
                    | EventMask::STRUCTURE_NOTIFY
                    | EventMask::VISIBILITY_CHANGE
                    | EventMask::PROPERTY_CHANGE
            }
        };
        let window = conn.generate_id()?;
        conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            window,
            x.root,
            left,
            top,
            scene.width,
            scene.height,
            0,
            WindowClass::INPUT_OUTPUT,
            COPY_FROM_PARENT,
            &CreateWindowAux::new()
                .background_pixel(x.pixel(Colour::Background))
                .event_mask(events),
        )?;
        name(x, window, title)?;
        conn.change_property8(
            PropMode::REPLACE,
            window,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            b"tether-agent\0Tether\0",
        )?;
        conn.change_property32(
            PropMode::REPLACE,
            window,
            x.atoms.WM_PROTOCOLS,
            AtomEnum::ATOM,
            &[x.atoms.WM_DELETE_WINDOW],
        )?;
        let states: &[u32] = match kind {
            Kind::Request => &[x.atoms._NET_WM_STATE_ABOVE],
            Kind::Indicator => &[x.atoms._NET_WM_STATE_ABOVE, x.atoms._NET_WM_STATE_STICKY],
        };
        conn.change_property32(
            PropMode::REPLACE,
            window,
            x.atoms._NET_WM_STATE,
            AtomEnum::ATOM,
            states,
        )?;
        if kind == Kind::Request {
            conn.change_property32(
                PropMode::REPLACE,
                window,
                x.atoms._NET_WM_WINDOW_TYPE,
                AtomEnum::ATOM,
                &[x.atoms._NET_WM_WINDOW_TYPE_DIALOG],
            )?;
        }
        // Asks window managers to keep our position and size: the layout is fixed.
        let size = (i32::from(scene.width), i32::from(scene.height));
        let mut hints = WmSizeHints::new();
        hints.position = Some((
            WmSizeHintsSpecification::ProgramSpecified,
            i32::from(left),
            i32::from(top),
        ));
        hints.min_size = Some(size);
        hints.max_size = Some(size);
        hints.set_normal_hints(conn, window)?;
        let mut wm_hints = WmHints::new();
        wm_hints.input = Some(true);
        wm_hints.urgent = kind == Kind::Request;
        wm_hints.set(conn, window)?;

        let mut buttons = Vec::new();
        for &(button, area) in &scene.buttons {
            buttons.push((button_window(x, window, button, area)?, button, area));
        }
        conn.map_subwindows(window)?;
        conn.map_window(window)?;
        conn.flush()?;
        Ok(Self {
            window,
            scene,
            buttons,
        })
    }

    /// The button whose window is `window`, if it is one of ours and (`x`, `y`), relative to
    /// it, lies inside it.
    pub(crate) fn button_at(&self, window: Window, x: i16, y: i16) -> Option<Button> {
        let &(_, button, area) = self.buttons.iter().find(|(w, ..)| *w == window)?;
        let inside = |at: i16, len: u16| at >= 0 && i32::from(at) < i32::from(len);
        (inside(x, area.width) && inside(y, area.height)).then_some(button)
    }

    /// The buttons, left to right.
    pub(crate) fn buttons(&self) -> Vec<Button> {
        self.buttons.iter().map(|&(_, button, _)| button).collect()
    }

    /// Paints the whole scene.
    pub(crate) fn paint(&self, x: &X) -> Result<(), DialogError> {
        let conn = &*x.conn;
        let set_colour =
            |colour: Colour| conn.change_gc(x.gc, &ChangeGCAux::new().foreground(x.pixel(colour)));
        for paint in &self.scene.paints {
            match paint {
                Paint::Fill(area, colour) => {
                    set_colour(*colour)?;
                    conn.poly_fill_rectangle(self.window, x.gc, &[*area])?;
                }
                Paint::Outline(area, colour) => {
                    set_colour(*colour)?;
                    // X outlines one pixel beyond the width: keep it inside the area.
                    let inner = Rectangle {
                        width: area.width.saturating_sub(1),
                        height: area.height.saturating_sub(1),
                        ..*area
                    };
                    conn.poly_rectangle(self.window, x.gc, &[inner])?;
                }
                Paint::Text {
                    x: left,
                    baseline,
                    text,
                    colour,
                    bold,
                } => {
                    set_colour(*colour)?;
                    let items = text_items(text);
                    conn.poly_text8(self.window, x.gc, *left, *baseline, &items)?;
                    if *bold {
                        conn.poly_text8(self.window, x.gc, left + 1, *baseline, &items)?;
                    }
                }
            }
        }
        conn.flush()?;
        Ok(())
    }

    /// Maps the window again and raises it above its siblings (with a window manager, asks it
    /// to: mapping a minimised window is how a client restores it).
    pub(crate) fn restore(&self, x: &X) -> Result<(), DialogError> {
        x.conn.map_window(self.window)?;
        x.conn.configure_window(
            self.window,
            &ConfigureWindowAux::new().stack_mode(StackMode::ABOVE),
        )?;
        x.conn.flush()?;
        Ok(())
    }

    /// Whether the window manager has minimised the window: `WM_STATE` iconic (ICCCM), or
    /// `_NET_WM_STATE_HIDDEN` (EWMH).
    pub(crate) fn minimised(&self, x: &X) -> Result<bool, DialogError> {
        const ICONIC_STATE: u32 = 3;
        let conn = &*x.conn;
        let wm_state = conn
            .get_property(false, self.window, x.atoms.WM_STATE, x.atoms.WM_STATE, 0, 1)?
            .reply()?;
        let iconic = wm_state
            .value32()
            .and_then(|mut values| values.next())
            .is_some_and(|state| state == ICONIC_STATE);
        let net_state = conn
            .get_property(
                false,
                self.window,
                x.atoms._NET_WM_STATE,
                AtomEnum::ATOM,
                0,
                32,
            )?
            .reply()?;
        let hidden = net_state
            .value32()
            .is_some_and(|mut atoms| atoms.any(|atom| atom == x.atoms._NET_WM_STATE_HIDDEN));
        Ok(iconic || hidden)
    }

    /// Destroys the window (and its buttons).
    pub(crate) fn close(self, x: &X) -> Result<(), DialogError> {
        x.conn.destroy_window(self.window)?;
        x.conn.flush()?;
        Ok(())
    }
}

/// An input-only child window over a button, named after it, that reports clicks.
fn button_window(
    x: &X,
    parent: Window,
    button: Button,
    area: Rectangle,
) -> Result<Window, DialogError> {
    let window = x.conn.generate_id()?;
    x.conn.create_window(
        0,
        window,
        parent,
        area.x,
        area.y,
        area.width,
        area.height,
        0,
        WindowClass::INPUT_ONLY,
        COPY_FROM_PARENT,
        &CreateWindowAux::new().event_mask(EventMask::BUTTON_PRESS | EventMask::BUTTON_RELEASE),
    )?;
    name(x, window, button.label())?;
    Ok(window)
}

/// Sets a window's name the ICCCM way (Latin-1) and the EWMH way (UTF-8).
fn name(x: &X, window: Window, title: &str) -> Result<(), DialogError> {
    x.conn.change_property8(
        PropMode::REPLACE,
        window,
        AtomEnum::WM_NAME,
        AtomEnum::STRING,
        &super::text::latin1(title),
    )?;
    x.conn.change_property8(
        PropMode::REPLACE,
        window,
        x.atoms._NET_WM_NAME,
        x.atoms.UTF8_STRING,
        title.as_bytes(),
    )?;
    Ok(())
}

/// `text` as PolyText8 items: at most 254 characters each, each continuing where the last
/// ended.
fn text_items(text: &[u8]) -> Vec<u8> {
    let mut items = Vec::with_capacity(text.len() + 2 * (text.len() / 254 + 1));
    for chunk in text.chunks(254) {
        // Each item: its length (at most 254, so it fits a byte), a zero x offset, the text.
        items.push(u8::try_from(chunk.len()).unwrap_or(254));
        items.push(0);
        items.extend_from_slice(chunk);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_split_into_items_of_at_most_254_characters() {
        assert_eq!(text_items(b"hi"), [2, 0, b'h', b'i']);
        let long = vec![b'x'; 300];
        let items = text_items(&long);
        assert_eq!(items.len(), 304);
        assert_eq!((items[0], items[1]), (254, 0));
        assert_eq!((items[256], items[257]), (46, 0));
        assert!(text_items(b"").is_empty());
    }
}
