//! A private X server (Xvfb) for tests that open windows, and reading windows back from it.

use std::{
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use x11rb::{
    connection::Connection,
    protocol::{
        randr::{self, ConnectionExt as _},
        xproto::{
            AtomEnum, ChangeGCAux, ConnectionExt, CreateGCAux, Gcontext, ImageFormat, ImageOrder,
            Pixmap, Rectangle, Window,
        },
    },
    rust_connection::RustConnection,
    CURRENT_TIME, NONE,
};

use crate::{Lines, TIMEOUT};

/// A running Xvfb, killed when dropped.
pub struct Xvfb {
    child: Child,
    /// The `DISPLAY` value, e.g. `:101`.
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb with one screen of `geometry` (e.g. `1024x768x24`) on a free display number,
    /// which Xvfb picks itself (`-displayfd`), so tests running in parallel never share or race
    /// for a display.
    ///
    /// Returns `None` (after saying so) when Xvfb is not installed and this is not CI; in CI a
    /// missing Xvfb fails the test, since `tests/run` installs it.
    pub fn start(geometry: &str) -> Option<Self> {
        if Command::new("Xvfb")
            .arg("-help")
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "Xvfb is missing in CI: tests/run installs the xvfb package"
            );
            eprintln!("SKIPPED: Xvfb is not installed (run tests/run to install it)");
            return None;
        }
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
            .expect("start Xvfb");
        // Xvfb writes the display number to stdout once it accepts connections.
        let number = Lines::collect(child.stdout.take().expect("piped stdout")).next_line();
        let number = number.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb did not report a display number (got {number:?})"
        );
        Some(Self {
            child,
            display: format!(":{number}"),
        })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A top-level window as the X server sees it.
pub struct WindowShot {
    /// Its `_NET_WM_NAME`.
    pub title: String,
    /// Its size.
    pub width: u32,
    /// Its size.
    pub height: u32,
    /// Its pixels, 4 bytes each (B, G, R, unused), rows top to bottom.
    pub pixels: Vec<u8>,
}

fn title_of(conn: &RustConnection, window: Window, net_wm_name: u32) -> Option<String> {
    let reply = conn
        .get_property(false, window, net_wm_name, AtomEnum::ANY, 0, 1024)
        .ok()?
        .reply()
        .ok()?;
    Some(String::from_utf8_lossy(&reply.value).into_owned())
}

/// Waits until a top-level window whose title starts with `prefix` satisfies `accept`, and
/// returns that capture of it.
pub fn wait_for_window(
    display: &str,
    prefix: &str,
    accept: impl Fn(&WindowShot) -> bool,
) -> WindowShot {
    let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
    let root = conn.setup().roots[screen].root;
    let net_wm_name = conn
        .intern_atom(false, b"_NET_WM_NAME")
        .expect("intern")
        .reply()
        .expect("atom")
        .atom;
    let deadline = Instant::now() + TIMEOUT;
    let mut last_title = String::new();
    while Instant::now() < deadline {
        let children = conn
            .query_tree(root)
            .expect("query")
            .reply()
            .expect("tree")
            .children;
        for window in children {
            let Some(title) = title_of(&conn, window, net_wm_name) else {
                continue;
            };
            if !title.starts_with(prefix) {
                continue;
            }
            last_title.clone_from(&title);
            let Ok(geometry) = conn.get_geometry(window).expect("geometry").reply() else {
                continue;
            };
            let (width, height) = (u32::from(geometry.width), u32::from(geometry.height));
            let Ok(image) = conn
                .get_image(
                    ImageFormat::Z_PIXMAP,
                    window,
                    0,
                    0,
                    geometry.width,
                    geometry.height,
                    !0,
                )
                .expect("get_image")
                .reply()
            else {
                continue;
            };
            let shot = WindowShot {
                title,
                width,
                height,
                pixels: image.data,
            };
            if accept(&shot) {
                return shot;
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("no window titled {prefix:?}… became acceptable (last title seen: {last_title:?})");
}

/// An X client of a test display that draws on the root window, moves the pointer, changes
/// the screen size and reads the root window back with plain `GetImage`: the independent
/// reference for screen-capture tests.
pub struct XClient {
    conn: RustConnection,
    root: Window,
    gc: Gcontext,
}

impl XClient {
    /// Connects to `display`.
    pub fn connect(display: &str) -> Self {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let root = conn.setup().roots[screen].root;
        let gc = conn.generate_id().expect("id");
        conn.create_gc(gc, root, &CreateGCAux::new())
            .expect("create_gc")
            .check()
            .expect("gc");
        Self { conn, root, gc }
    }

    /// Fills a rectangle of the root window with the colour `0xRRGGBB` (a 24-bit TrueColor
    /// pixel value) and waits until the server has done it.
    pub fn fill(&self, x: i16, y: i16, width: u16, height: u16, rgb: u32) {
        self.conn
            .change_gc(self.gc, &ChangeGCAux::new().foreground(rgb))
            .expect("change_gc");
        let rect = Rectangle {
            x,
            y,
            width,
            height,
        };
        self.conn
            .poly_fill_rectangle(self.root, self.gc, &[rect])
            .expect("fill");
        self.sync();
    }

    /// Draws `width` x `height` pseudo-random pixels (from `seed`) at `x`,`y` on the root
    /// window. Keep `width * height` under 60 000 (one request without BIG-REQUESTS).
    pub fn put_pattern(&self, x: i16, y: i16, width: u16, height: u16, seed: u32) {
        let mut state = seed | 1;
        let data: Vec<u8> = (0..usize::from(width) * usize::from(height))
            .flat_map(|_| {
                // xorshift32: cheap, deterministic, every channel value appears.
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let [b, g, r, _] = state.to_le_bytes();
                [b, g, r, 0]
            })
            .collect();
        let depth = self.conn.setup().roots[0].root_depth;
        self.conn
            .put_image(
                ImageFormat::Z_PIXMAP,
                self.root,
                self.gc,
                width,
                height,
                x,
                y,
                0,
                depth,
                &data,
            )
            .expect("put_image")
            .check()
            .expect("put_image accepted");
    }

    /// Draws a full-screen picture of pseudo-random pixels (from `seed`) into an off-screen
    /// pixmap, to be shown at once with [`XClient::show_pixmap`]: a change of the whole screen
    /// in one request, as when a full-screen window appears.
    pub fn pattern_pixmap(&self, seed: u32) -> Pixmap {
        let (width, height) = self.size();
        let depth = self.conn.setup().roots[0].root_depth;
        let pixmap = self.conn.generate_id().expect("id");
        self.conn
            .create_pixmap(depth, pixmap, self.root, width, height)
            .expect("create_pixmap")
            .check()
            .expect("pixmap");
        let mut state = seed | 1;
        // Strips of rows small enough for one request without BIG-REQUESTS.
        let rows = (60_000 / u32::from(width).max(1)).clamp(1, u32::from(height)) as u16;
        for top in (0..height).step_by(usize::from(rows)) {
            let strip = rows.min(height - top);
            let data: Vec<u8> = (0..usize::from(width) * usize::from(strip))
                .flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let [b, g, r, _] = state.to_le_bytes();
                    [b, g, r, 0]
                })
                .collect();
            self.conn
                .put_image(
                    ImageFormat::Z_PIXMAP,
                    pixmap,
                    self.gc,
                    width,
                    strip,
                    0,
                    top as i16,
                    0,
                    depth,
                    &data,
                )
                .expect("put_image");
        }
        self.sync();
        pixmap
    }

    /// Copies `pixmap` (from [`XClient::pattern_pixmap`]) over the whole root window in one
    /// request.
    pub fn show_pixmap(&self, pixmap: Pixmap) {
        let (width, height) = self.size();
        self.conn
            .copy_area(pixmap, self.root, self.gc, 0, 0, 0, 0, width, height)
            .expect("copy_area");
        self.sync();
    }

    /// The root window's size.
    fn size(&self) -> (u16, u16) {
        let geometry = self
            .conn
            .get_geometry(self.root)
            .expect("geometry")
            .reply()
            .expect("geometry reply");
        (geometry.width, geometry.height)
    }

    /// Moves the pointer to `x`,`y` of the root window.
    pub fn warp_pointer(&self, x: i16, y: i16) {
        self.conn
            .warp_pointer(NONE, self.root, 0, 0, 0, 0, x, y)
            .expect("warp_pointer");
        self.sync();
    }

    /// Waits until the server has processed every request sent so far.
    pub fn sync(&self) {
        self.conn
            .get_input_focus()
            .expect("get_input_focus")
            .reply()
            .expect("sync");
    }

    /// The root window as BGRA (alpha 255) with its size, through one plain `GetImage`.
    /// Only for the usual little-endian 32-bit 0xRRGGBB layout, which Xvfb uses.
    pub fn root_bgra(&self) -> (u32, u32, Vec<u8>) {
        assert_eq!(self.conn.setup().image_byte_order, ImageOrder::LSB_FIRST);
        let geometry = self
            .conn
            .get_geometry(self.root)
            .expect("geometry")
            .reply()
            .expect("geometry reply");
        let image = self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.root,
                0,
                0,
                geometry.width,
                geometry.height,
                !0,
            )
            .expect("get_image")
            .reply()
            .expect("image");
        let (width, height) = (u32::from(geometry.width), u32::from(geometry.height));
        assert_eq!(image.data.len(), width as usize * height as usize * 4);
        let pixels = image
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        (width, height, pixels)
    }

    /// Resizes the screen through RandR, as `xrandr --output screen --off --fb WxH` and then
    /// `--auto` would: the CRTC is turned off (it may not exceed the new size), the screen
    /// resized, and the CRTC turned back on when one of its modes has exactly the new size.
    /// Xvfb cannot grow beyond the size it started with.
    pub fn resize_screen(&self, width: u16, height: u16) {
        let conn = &self.conn;
        let resources = conn
            .randr_get_screen_resources_current(self.root)
            .expect("resources")
            .reply()
            .expect("resources reply");
        let crtc = resources.crtcs[0];
        conn.randr_set_crtc_config(
            crtc,
            CURRENT_TIME,
            resources.config_timestamp,
            0,
            0,
            NONE,
            randr::Rotation::ROTATE0,
            &[],
        )
        .expect("crtc off")
        .reply()
        .expect("crtc off reply");
        let millimetres = |pixels: u16| u32::from(pixels) * 254 / 960;
        conn.randr_set_screen_size(
            self.root,
            width,
            height,
            millimetres(width),
            millimetres(height),
        )
        .expect("set_screen_size")
        .check()
        .expect("screen resized");
        if let Some(mode) = resources
            .modes
            .iter()
            .find(|m| (m.width, m.height) == (width, height))
        {
            conn.randr_set_crtc_config(
                crtc,
                CURRENT_TIME,
                resources.config_timestamp,
                0,
                0,
                mode.id,
                randr::Rotation::ROTATE0,
                &resources.outputs,
            )
            .expect("crtc on")
            .reply()
            .expect("crtc on reply");
        }
        self.sync();
    }

    /// Defines a RandR 1.5 monitor called `name` covering the given rectangle, as
    /// `xrandr --setmonitor NAME WxH+X+Y none` does.
    pub fn set_monitor(&self, name: &str, x: i16, y: i16, width: u16, height: u16) {
        let atom = self
            .conn
            .intern_atom(false, name.as_bytes())
            .expect("intern")
            .reply()
            .expect("atom")
            .atom;
        let monitor = randr::MonitorInfo {
            name: atom,
            primary: false,
            automatic: false,
            x,
            y,
            width,
            height,
            width_in_millimeters: u32::from(width) * 254 / 960,
            height_in_millimeters: u32::from(height) * 254 / 960,
            outputs: Vec::new(),
        };
        self.conn
            .randr_set_monitor(self.root, monitor)
            .expect("set_monitor")
            .check()
            .expect("monitor set");
    }
}
