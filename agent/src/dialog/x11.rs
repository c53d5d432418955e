//! The dialog's X connection and what it needs from the server: a font, the colours, the
//! atoms of the window-manager conventions, the keyboard map, and the monitor to open on.

use std::sync::Arc;

use tether_capture::X11Screen;
use x11rb::{
    connection::Connection,
    errors::ReplyError,
    protocol::xproto::{ConnectionExt as _, CreateGCAux, Font, Gcontext, Keycode, Window},
    rust_connection::RustConnection,
};

use super::{
    layout::{Area, Colour, Metrics},
    DialogError,
};

/// Fonts to draw with, best first: a larger fixed font where the server has one, else "fixed",
/// which every X server has built in.
const FONTS: [&str; 2] = [
    "-misc-fixed-medium-r-normal--15-*-*-*-c-90-iso8859-1",
    "fixed",
];

x11rb::atom_manager! {
    /// The atoms of the ICCCM and EWMH conventions the dialog's windows follow.
    pub(crate) Atoms: AtomsCookie {
        WM_PROTOCOLS,
        WM_DELETE_WINDOW,
        WM_STATE,
        UTF8_STRING,
        _NET_WM_NAME,
        _NET_WM_STATE,
        _NET_WM_STATE_ABOVE,
        _NET_WM_STATE_HIDDEN,
        _NET_WM_STATE_STICKY,
        _NET_WM_WINDOW_TYPE,
        _NET_WM_WINDOW_TYPE_DIALOG,
    }
}

/// An open display with everything the dialog draws with.
pub(crate) struct X {
    /// The connection; shared with the thread that waits for its events.
    pub conn: Arc<RustConnection>,
    /// The display's name, e.g. `:0`.
    pub display: String,
    /// The root window of the default screen.
    pub root: Window,
    /// The atoms.
    pub atoms: Atoms,
    /// The graphics context, with the font set.
    pub gc: Gcontext,
    /// The font's character size.
    pub metrics: Metrics,
    /// The pixel value of each colour, in [`Colour::ALL`]'s order.
    pixels: [u32; Colour::ALL.len()],
    keymap: Keymap,
}

impl X {
    /// Connects to `display` and sets up the font, colours, atoms and keyboard map.
    pub(crate) fn open(display: &str) -> Result<Self, DialogError> {
        let (conn, screen) = x11rb::connect(Some(display))?;
        let setup_screen = conn
            .setup()
            .roots
            .get(screen)
            .ok_or(DialogError::NoScreen)?;
        let (root, colormap) = (setup_screen.root, setup_screen.default_colormap);
        let atoms = Atoms::new(&conn)?.reply()?;
        let font = open_font(&conn)?;
        let metrics = font_metrics(&conn, font)?;
        let cookies = Colour::ALL
            .iter()
            .map(|colour| {
                let (r, g, b) = colour.rgb();
                let wide = |c: u8| u16::from(c) * 0x101;
                conn.alloc_color(colormap, wide(r), wide(g), wide(b))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pixels = [0; Colour::ALL.len()];
        for (pixel, cookie) in pixels.iter_mut().zip(cookies) {
            *pixel = cookie.reply()?.pixel;
        }
        let gc = conn.generate_id()?;
        conn.create_gc(
            gc,
            root,
            &CreateGCAux::new().font(font).graphics_exposures(0),
        )?
        .check()?;
        let keymap = Keymap::load(&conn)?;
        Ok(Self {
            conn: Arc::new(conn),
            display: display.to_owned(),
            root,
            atoms,
            gc,
            metrics,
            pixels,
            keymap,
        })
    }

    /// The pixel value of `colour`.
    pub(crate) fn pixel(&self, colour: Colour) -> u32 {
        Colour::ALL
            .iter()
            .position(|c| *c == colour)
            .map_or(0, |i| self.pixels[i])
    }

    /// The character the key `keycode` types without modifiers (`'\u{1b}'` for Escape).
    pub(crate) fn char_of(&self, keycode: Keycode) -> Option<char> {
        self.keymap.char_of(keycode)
    }

    /// Reloads the keyboard map after the server announced a change.
    pub(crate) fn reload_keymap(&mut self) -> Result<(), DialogError> {
        self.keymap = Keymap::load(&self.conn)?;
        Ok(())
    }

    /// The monitor windows open on: the primary one (else the first), or the whole screen when
    /// the server knows no monitors.
    pub(crate) fn monitor(&self) -> Result<Area, DialogError> {
        let monitors = X11Screen::monitors(Some(&self.display)).unwrap_or_else(|e| {
            tracing::debug!("no monitor list for the consent dialog: {e}");
            Vec::new()
        });
        let chosen = monitors
            .iter()
            .find(|monitor| monitor.primary)
            .or(monitors.first());
        if let Some(monitor) = chosen {
            return Ok(Area {
                x: monitor.x,
                y: monitor.y,
                width: monitor.width,
                height: monitor.height,
            });
        }
        let root = self.conn.get_geometry(self.root)?.reply()?;
        Ok(Area {
            x: 0,
            y: 0,
            width: u32::from(root.width),
            height: u32::from(root.height),
        })
    }
}

/// Opens the first of [`FONTS`] the server has.
fn open_font(conn: &RustConnection) -> Result<Font, DialogError> {
    let font = conn.generate_id()?;
    for name in FONTS {
        match conn.open_font(font, name.as_bytes())?.check() {
            Ok(()) => return Ok(font),
            // The server has no such font: try the next.
            Err(ReplyError::X11Error(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DialogError::NoFont)
}

/// The size of `font`'s characters (the widest, should it not be monospaced after all).
fn font_metrics(conn: &RustConnection, font: Font) -> Result<Metrics, DialogError> {
    let info = conn.query_font(font)?.reply()?;
    let positive = |value: i16| u16::try_from(value).unwrap_or(0);
    Ok(Metrics {
        char_width: positive(info.max_bounds.character_width).max(1),
        ascent: positive(info.font_ascent),
        descent: positive(info.font_descent),
    })
}

/// The server's keyboard map: which symbols each key carries.
struct Keymap {
    min_keycode: Keycode,
    per_keycode: u8,
    keysyms: Vec<u32>,
}

impl Keymap {
    fn load(conn: &RustConnection) -> Result<Self, DialogError> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let count = max.saturating_sub(min).saturating_add(1);
        let reply = conn.get_keyboard_mapping(min, count)?.reply()?;
        Ok(Self {
            min_keycode: min,
            per_keycode: reply.keysyms_per_keycode,
            keysyms: reply.keysyms,
        })
    }

    fn char_of(&self, keycode: Keycode) -> Option<char> {
        // Guard xkeysym's indexing: a keycode the map does not cover has no symbol.
        let index = usize::from(keycode.checked_sub(self.min_keycode)?);
        if (index + 1) * usize::from(self.per_keycode) > self.keysyms.len() {
            return None;
        }
        xkeysym::keysym(
            keycode.into(),
            0,
            self.min_keycode.into(),
            self.per_keycode,
            &self.keysyms,
        )?
        .key_char()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_their_unshifted_characters() {
        // Keycodes 8 and 9: y/Y and Escape, two symbols per key.
        let keymap = Keymap {
            min_keycode: 8,
            per_keycode: 2,
            keysyms: vec![0x79, 0x59, 0xff1b, 0],
        };
        assert_eq!(keymap.char_of(8), Some('y'));
        assert_eq!(keymap.char_of(9), Some('\u{1b}'));
        assert_eq!(keymap.char_of(7), None, "below the map");
        assert_eq!(keymap.char_of(10), None, "beyond the map");
    }
}
