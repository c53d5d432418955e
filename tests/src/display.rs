//! A private X server (Xvfb) for tests that open windows, and reading windows back from it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use x11rb::{
    connection::Connection,
    protocol::xproto::{AtomEnum, ConnectionExt, ImageFormat, Window},
    rust_connection::RustConnection,
};

use crate::TIMEOUT;

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
        let mut number = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut number)
            .expect("read Xvfb's display number");
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
