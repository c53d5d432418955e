//! The X side: private Xvfb servers, a photo wallpaper, key presses through
//! XTEST, and reading back pixels and titles of the clients' windows.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use x11rb::{
    connection::{Connection, RequestConnection},
    protocol::{
        xproto::{
            AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, CreateGCAux, ImageFormat,
            Window,
        },
        xtest::ConnectionExt as _,
    },
    rust_connection::RustConnection,
    CURRENT_TIME,
};

/// A private Xvfb, killed when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start(geometry: &str) -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                geometry,
                "-noreset",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is needed (apt-get install xvfb)");
        let mut number = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut number)
            .expect("Xvfb's display number");
        Xvfb {
            child,
            display: format!(":{}", number.trim()),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to one display.
pub struct Display {
    pub conn: RustConnection,
    pub root: Window,
}

impl Display {
    pub fn connect(display: &str) -> Display {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to X");
        let root = conn.setup().roots[screen].root;
        Display { conn, root }
    }

    fn sync(&self) {
        self.conn
            .get_input_focus()
            .expect("request")
            .reply()
            .expect("reply");
    }

    /// Sets the root window's background to `bgrx` (4 bytes a pixel).
    pub fn set_wallpaper(&self, width: u16, height: u16, bgrx: &[u8]) {
        let conn = &self.conn;
        let pixmap = conn.generate_id().expect("id");
        conn.create_pixmap(24, pixmap, self.root, width, height)
            .expect("pixmap");
        let gc = conn.generate_id().expect("id");
        conn.create_gc(gc, pixmap, &CreateGCAux::new()).expect("gc");
        let rows_per_request = (conn.maximum_request_bytes() / 2 / (usize::from(width) * 4)).max(1);
        for (i, rows) in bgrx
            .chunks(rows_per_request * usize::from(width) * 4)
            .enumerate()
        {
            let lines = rows.len() / (usize::from(width) * 4);
            conn.put_image(
                ImageFormat::Z_PIXMAP,
                pixmap,
                gc,
                width,
                lines as u16,
                0,
                (i * rows_per_request) as i16,
                0,
                24,
                rows,
            )
            .expect("put image");
        }
        conn.change_window_attributes(
            self.root,
            &ChangeWindowAttributesAux::new().background_pixmap(pixmap),
        )
        .expect("background");
        conn.clear_area(false, self.root, 0, 0, 0, 0)
            .expect("clear");
        self.sync();
    }

    /// The keycode typing `c` (unshifted) on this display's keyboard.
    pub fn keycode(&self, c: char) -> u8 {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let mapping = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)
            .expect("request")
            .reply()
            .expect("keyboard mapping");
        let per = usize::from(mapping.keysyms_per_keycode);
        let keysym = match c {
            '\n' => 0xff0d,
            c => c as u32,
        };
        mapping
            .keysyms
            .chunks(per)
            .position(|syms| syms.first() == Some(&keysym))
            .map(|i| min + i as u8)
            .unwrap_or_else(|| panic!("no key types {c:?}"))
    }

    /// Presses and releases `keycode` through XTEST, and waits until the
    /// server has the events.
    pub fn tap(&self, keycode: u8) {
        for kind in [2u8, 3] {
            self.conn
                .xtest_fake_input(kind, keycode, CURRENT_TIME, self.root, 0, 0, 0)
                .expect("fake input");
        }
        self.sync();
    }

    /// The pixels (BGRX) of a rectangle of the root window.
    pub fn grab(&self, x: i16, y: i16, width: u16, height: u16) -> Vec<u8> {
        self.conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, width, height, !0)
            .expect("request")
            .reply()
            .map(|reply| reply.data)
            .unwrap_or_default()
    }

    /// The largest mapped top-level window: (window, x, y, width, height).
    pub fn largest_window(&self) -> Option<(Window, i16, i16, u16, u16)> {
        let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
        let mut best: Option<(Window, i16, i16, u16, u16)> = None;
        for window in tree.children {
            let viewable = self
                .conn
                .get_window_attributes(window)
                .ok()
                .and_then(|cookie| cookie.reply().ok())
                .is_some_and(|a| a.map_state == x11rb::protocol::xproto::MapState::VIEWABLE);
            if !viewable {
                continue;
            }
            let Some(geometry) = self
                .conn
                .get_geometry(window)
                .ok()
                .and_then(|c| c.reply().ok())
            else {
                continue;
            };
            let area = u32::from(geometry.width) * u32::from(geometry.height);
            if best.is_none_or(|b| area > u32::from(b.3) * u32::from(b.4)) {
                best = Some((
                    window,
                    geometry.x,
                    geometry.y,
                    geometry.width,
                    geometry.height,
                ));
            }
        }
        best
    }

    /// Where `window`'s top-left pixel is on the root window.
    pub fn origin(&self, window: Window) -> Option<(i16, i16)> {
        let reply = self
            .conn
            .translate_coordinates(window, self.root, 0, 0)
            .ok()?
            .reply()
            .ok()?;
        Some((reply.dst_x, reply.dst_y))
    }

    /// The title (`_NET_WM_NAME`, else `WM_NAME`) of `window` or of one of
    /// its descendants.
    pub fn title(&self, window: Window) -> String {
        let net = self
            .conn
            .intern_atom(false, b"_NET_WM_NAME")
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|r| r.atom);
        let mut stack = vec![window];
        while let Some(window) = stack.pop() {
            for atom in net.into_iter().chain([AtomEnum::WM_NAME.into()]) {
                let value = self
                    .conn
                    .get_property(false, window, atom, AtomEnum::ANY, 0, 4096)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| String::from_utf8_lossy(&r.value).into_owned())
                    .unwrap_or_default();
                if !value.is_empty() {
                    return value;
                }
            }
            if let Some(tree) = self
                .conn
                .query_tree(window)
                .ok()
                .and_then(|c| c.reply().ok())
            {
                stack.extend(tree.children);
            }
        }
        String::new()
    }
}

/// `photo` (an image file) scaled to `width` x `height`, as BGRX.
pub fn wallpaper(photo: &str, width: u32, height: u32) -> Vec<u8> {
    let image = image::open(photo)
        .unwrap_or_else(|e| panic!("{photo}: {e}"))
        .resize_exact(width, height, image::imageops::FilterType::Triangle)
        .to_rgb8();
    image.pixels().flat_map(|p| [p[2], p[1], p[0], 0]).collect()
}
