//! The technician's console, read back from a real X server: its overlays while the user is
//! asked, the remote picture one to one and scaled, and toolbar buttons clicked with xdotool.
//!
//! Where a button or the overlay's digits are, the viewer says in its debug log (`console
//! layout: NAME at X,Y WxH`, window pixels), which is what the tests click or compare.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use tether_input::Key;
use tether_tests::{
    agent_args, binary,
    display::{wait_for_window, WindowShot, XClient, Xvfb},
    x11_clients::Recorder,
    Process, Relay, TIMEOUT,
};
use x11rb::protocol::Event;

/// The viewer's window size (`join` opens 1280x720).
const WINDOW: (u32, u32) = (1280, 720);

/// A rectangle of the window, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

impl Rect {
    fn contains(&self, x: u32, y: u32) -> bool {
        (self.x..self.x + self.width).contains(&x) && (self.y..self.y + self.height).contains(&y)
    }

    fn centre(&self) -> (u32, u32) {
        (self.x + self.width / 2, self.y + self.height / 2)
    }
}

/// Runs xdotool on `display`.
fn xdotool(display: &str, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool {args:?} failed");
}

/// Whether xdotool and ImageMagick are installed; outside CI their absence skips the test.
fn tools_ready() -> bool {
    let present = |tool: &str, arg: &str| {
        Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if present("xdotool", "version") && present("convert", "-version") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "xdotool or ImageMagick is missing in CI: tests/run must install them"
    );
    eprintln!("SKIPPED: xdotool or ImageMagick is not installed");
    false
}

/// `tether-viewer join CODE` with its window on `display`, logging the console's layout (the
/// harness's [`Process`] sets its own `RUST_LOG`, so this one is started here).
struct Viewer {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Viewer {
    fn start(relay: &Relay, code: &str, display: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary("tether-viewer"))
            .args([
                "join",
                code,
                "--relay",
                &relay.addr,
                "--relay-fingerprint",
                &relay.fingerprint,
            ])
            .env("TETHER_KNOWN_RELAYS", relay.path("viewer_known_relays"))
            .env("DISPLAY", display)
            .env("RUST_LOG", "warn,tether_viewer::window=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tether-viewer");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().expect("piped stderr");
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self { child, stderr }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for a line starting with `prefix` and returns the rest of it.
    fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find_map(|line| line.strip_prefix(prefix)) {
                return line.trim().to_owned();
            }
            assert!(Instant::now() < deadline, "no {prefix:?} in:\n{log}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the viewer to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the viewer did not exit:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An agent sharing X display `display`, admitting the technician without asking.
fn x11_agent(relay: &Relay, display: &str) -> (Process, String) {
    let known = relay.path("agent_known_relays");
    let args = ["--auto-accept", "--screen", "x11", "--display", display];
    let agent = Process::spawn(
        "tether-agent",
        &agent_args(&relay.addr, &relay.fingerprint, 1, "320x200", &args),
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    let code = agent.stdout.wait_for("session code: ");
    (agent, code)
}

/// Where the console last laid out `name`, from the viewer's log, waiting for it.
fn layout(viewer: &Viewer, name: &str) -> Rect {
    let needle = format!("console layout: {name} at ");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let log = viewer.log();
        if let Some(at) = log.rfind(&needle) {
            let rest = &log[at + needle.len()..];
            let rest = rest.lines().next().expect("a line");
            let (position, size) = rest.split_once(' ').expect("X,Y WxH");
            let (x, y) = position.split_once(',').expect("X,Y");
            let (width, height) = size.split_once('x').expect("WxH");
            let number = |text: &str| text.trim().parse::<u32>().expect("a number");
            return Rect {
                x: number(x),
                y: number(y),
                width: number(width),
                height: number(height),
            };
        }
        assert!(Instant::now() < deadline, "no layout of {name}:\n{log}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The colour of window pixel (`x`, `y`).
fn pixel(shot: &WindowShot, x: u32, y: u32) -> [u8; 3] {
    let at = (y * shot.width + x) as usize * 4;
    [shot.pixels[at], shot.pixels[at + 1], shot.pixels[at + 2]]
}

/// The pixels of `rect` in `shot`.
fn region(shot: &WindowShot, rect: Rect) -> Vec<[u8; 3]> {
    (rect.y..rect.y + rect.height)
        .flat_map(|y| (rect.x..rect.x + rect.width).map(move |x| (x, y)))
        .map(|(x, y)| pixel(shot, x, y))
        .collect()
}

/// How many different colours `pixels` has.
fn colours(pixels: &[[u8; 3]]) -> usize {
    let mut distinct = pixels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len()
}

#[test]
fn waiting_for_the_user_shows_the_digits_to_compare_over_the_window() {
    let (Some(first_x), Some(second_x)) = (Xvfb::start("1280x720x24"), Xvfb::start("1280x720x24"))
    else {
        return;
    };
    let relay = Relay::start(&[]);
    // Two sessions waiting for their users at once: the same agent name and screen, other
    // digits.
    let (mut first_agent, first_code) = relay.attended_agent(1, "640x360");
    let (_second_agent, second_code) = relay.attended_agent(1, "640x360");
    let first = Viewer::start(&relay, &first_code, &first_x.display, &[]);
    let second = Viewer::start(&relay, &second_code, &second_x.display, &[]);
    let first_digits = first.wait_for("security digits: ");
    let second_digits = second.wait_for("security digits: ");
    assert_ne!(
        first_digits, second_digits,
        "two sessions drew the same digits (one chance in a million): run again"
    );

    // The overlay settles in a frame or two: a capture counts once the layout it was taken
    // with is still the latest afterwards.
    let waiting = |viewer: &Viewer, display: &str, digits: &str| -> (WindowShot, Rect) {
        loop {
            let shown = layout(viewer, "overlay digits");
            let shot = wait_for_window(display, "Tether", |shot| {
                // The digits are in the title too, and drawn big in the overlay.
                shot.title.contains(&format!("digits {digits}"))
                    && shot.title.contains("waiting for the user")
                    && colours(&region(shot, shown)) > 2
            });
            thread::sleep(Duration::from_millis(300));
            if layout(viewer, "overlay digits") == shown {
                return (shot, shown);
            }
        }
    };
    let (first_shot, first_place) = waiting(&first, &first_x.display, &first_digits);
    let (second_shot, second_place) = waiting(&second, &second_x.display, &second_digits);
    assert_eq!((first_shot.width, first_shot.height), WINDOW);
    assert_eq!(first_place, second_place, "the same layout");
    let everything = Rect {
        x: 0,
        y: 0,
        width: WINDOW.0,
        height: WINDOW.1,
    };
    assert!(
        colours(&region(&first_shot, everything)) > 8,
        "the overlay is not a blank window"
    );

    // The two windows differ only where digits are drawn: the overlay's big ones, and the
    // toolbar's.
    let toolbar_digits = layout(&first, "toolbar digits");
    let mut inside = 0;
    for y in 0..WINDOW.1 {
        for x in 0..WINDOW.0 {
            if pixel(&first_shot, x, y) == pixel(&second_shot, x, y) {
                continue;
            }
            assert!(
                first_place.contains(x, y) || toolbar_digits.contains(x, y),
                "({x}, {y}) differs between two sessions outside the digits"
            );
            inside += u32::from(first_place.contains(x, y));
        }
    }
    assert!(
        inside > 50,
        "the overlay's digits do not differ ({inside} pixels)"
    );

    // Once the user accepts, the overlay gives way to the remote screen.
    first_agent.type_line("y");
    let live = wait_for_window(&first_x.display, "Tether", |shot| {
        shot.title.contains("view + control")
            && region(shot, first_place) != region(&first_shot, first_place)
    });
    assert!(colours(&region(&live, first_place)) > 2);
}

/// Starts an xterm on `display` showing numbers, as a technician reads a terminal, its text
/// cursor hidden (it changes with the keyboard focus, which the viewer's pointer moves).
fn terminal_with_numbers(display: &str) -> std::process::Child {
    let child = Command::new("xterm")
        .args([
            "-geometry",
            "200x60+0+0",
            "-e",
            "sh",
            "-c",
            "printf '\\033[?25l'; seq 4000 4600 | paste -s -d ' ' | fold -w 190; sleep 600",
        ])
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start xterm");
    thread::sleep(Duration::from_secs(2));
    child
}

/// The mean absolute difference per channel between two equally long pictures.
fn error(a: &[[u8; 3]], b: &[[u8; 3]]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .flat_map(|(p, q)| (0..3).map(move |c| u64::from(p[c].abs_diff(q[c]))))
        .sum();
    sum as f64 / (a.len() * 3) as f64
}

/// `pixels` (`width` x `height`, BGR) scaled to `to` by ImageMagick's area averaging
/// (`-scale`: each new pixel the mean of the old ones it covers, weighted by coverage; its
/// `-filter Box -resize` samples instead, and keeps the dropped pixels this test is about).
fn imagemagick_resize(
    pixels: &[[u8; 3]],
    (width, height): (u32, u32),
    to: (u32, u32),
) -> Vec<[u8; 3]> {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("screen.png");
    let scaled = dir.path().join("scaled.png");
    let rgb: Vec<u8> = pixels.iter().flat_map(|p| [p[2], p[1], p[0]]).collect();
    image::RgbImage::from_raw(width, height, rgb)
        .expect("size")
        .save(&source)
        .expect("write png");
    let status = Command::new("convert")
        .arg(&source)
        .args(["-scale", &format!("{}x{}!", to.0, to.1)])
        .arg(&scaled)
        .status()
        .expect("run convert");
    assert!(status.success(), "convert failed");
    image::open(&scaled)
        .expect("scaled png")
        .into_rgb8()
        .pixels()
        .map(|p| [p[2], p[1], p[0]])
        .collect()
}

/// The nearest-neighbour downscale a viewer without filtering shows: window pixel x shows
/// remote pixel x * width / to.
fn nearest(pixels: &[[u8; 3]], (width, height): (u32, u32), to: (u32, u32)) -> Vec<[u8; 3]> {
    (0..to.1)
        .flat_map(|y| (0..to.0).map(move |x| (x, y)))
        .map(|(x, y)| {
            let (sx, sy) = (x * width / to.0, y * height / to.1);
            pixels[(sy * width + sx) as usize]
        })
        .collect()
}

#[test]
fn the_picture_is_bit_exact_one_to_one_at_any_scale_factor_and_averaged_when_fitted() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start("1280x800x24"), Xvfb::start("1280x720x24"))
    else {
        return;
    };
    if !tools_ready() {
        return;
    }
    let mut xterm = terminal_with_numbers(&agent_x.display);
    let agent_screen = XClient::connect(&agent_x.display);
    // The pointer in the far corner: the viewer draws it, and not over what is compared.
    agent_screen.warp_pointer(1279, 799);
    let relay = Relay::start(&[]);
    let (_agent, code) = x11_agent(&relay, &agent_x.display);
    // HiDPI: egui draws at twice the size; the picture stays one remote pixel per pixel.
    let _viewer = Viewer::start(
        &relay,
        &code,
        &viewer_x.display,
        &[("WINIT_X11_SCALE_FACTOR", "2")],
    );
    let (agent_w, agent_h, agent) = agent_screen.root_bgra();
    let agent: Vec<[u8; 3]> = agent.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    let top_left: Vec<[u8; 3]> = (0..WINDOW.1)
        .flat_map(|y| (0..WINDOW.0).map(move |x| (x, y)))
        .map(|(x, y)| agent[(y * agent_w + x) as usize])
        .collect();
    let everything = Rect {
        x: 0,
        y: 0,
        width: WINDOW.0,
        height: WINDOW.1,
    };

    // One to one (the shortcut): once the toolbar has hidden, the whole window is the agent's
    // screen, bit for bit.
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("view + control")
    });
    xdotool(
        &viewer_x.display,
        &["search", "--name", "^Tether", "windowfocus", "--sync"],
    );
    xdotool(&viewer_x.display, &["key", "ctrl+alt+shift+s"]);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("· 1:1") && region(shot, everything) == top_left
    });

    // Fit: 1280x800 into 1280x720 is 1152x720, 64 pixels in from the left.
    xdotool(&viewer_x.display, &["key", "ctrl+alt+shift+s"]);
    let shown = Rect {
        x: 64,
        y: 0,
        width: 1152,
        height: 720,
    };
    let reference = imagemagick_resize(&agent, (agent_w, agent_h), (shown.width, shown.height));
    let unfiltered = nearest(&agent, (agent_w, agent_h), (shown.width, shown.height));
    let nearest_error = error(&unfiltered, &reference);
    // Leave out the corner where the remote pointer is drawn.
    let compared = |pixels: &[[u8; 3]]| -> Vec<[u8; 3]> {
        pixels
            .iter()
            .enumerate()
            .filter(|(at, _)| {
                let (x, y) = (*at as u32 % shown.width, *at as u32 / shown.width);
                x < shown.width - 40 || y < shown.height - 40
            })
            .map(|(_, p)| *p)
            .collect()
    };
    // The letterbox left of the picture says the fitted view is drawn.
    let fitted = wait_for_window(&viewer_x.display, "Tether", |shot| {
        !shot.title.contains("· 1:1") && pixel(shot, 10, 360) == [0x20, 0x20, 0x20]
    });
    let fitted_error = error(&compared(&region(&fitted, shown)), &compared(&reference));
    eprintln!(
        "fit error against ImageMagick's area average: console {fitted_error:.3}, \
         nearest neighbour {nearest_error:.3}"
    );
    assert!(
        fitted_error < 1.0 && fitted_error < nearest_error / 4.0,
        "the fitted picture ({fitted_error:.3}) is not much closer to the true downscale than \
         nearest neighbour ({nearest_error:.3})"
    );
    let _ = xterm.kill();
    let _ = xterm.wait();
}

/// Clicks the toolbar's `action`, revealing the toolbar first (the pointer at the window's
/// top edge).
fn click_action(viewer: &Viewer, display: &str, action: &str) {
    let rect = layout(viewer, &format!("action {action}"));
    let (x, y) = rect.centre();
    xdotool(display, &["mousemove", &x.to_string(), "0"]);
    thread::sleep(Duration::from_millis(300));
    xdotool(
        display,
        &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
    );
}

#[test]
fn toolbar_buttons_send_ctrl_alt_del_switch_the_view_and_end_the_session() {
    let (Some(agent_x), Some(viewer_x)) = (Xvfb::start("1280x720x24"), Xvfb::start("1280x720x24"))
    else {
        return;
    };
    if !tools_ready() {
        return;
    }
    let mut recorder = Recorder::open(&agent_x.display, (0, 0), (1280, 720));
    let relay = Relay::start(&[]);
    let (agent, code) = x11_agent(&relay, &agent_x.display);
    let mut viewer = Viewer::start(&relay, &code, &viewer_x.display, &[]);
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("view + control")
    });

    click_action(&viewer, &viewer_x.display, "send-ctrl-alt-del");
    // X keycodes are evdev codes + 8.
    let code = |key: Key| key.evdev_code() as u8 + 8;
    let keys = [Key::ControlLeft, Key::AltLeft, Key::Delete];
    let expected: Vec<(bool, u8)> = keys
        .iter()
        .map(|&key| (true, code(key)))
        .chain(keys.iter().rev().map(|&key| (false, code(key))))
        .collect();
    let received: Vec<(bool, u8)> = expected
        .iter()
        .map(|_| {
            recorder.next("key event", |event| match event {
                Event::KeyPress(press) => Some((true, press.detail)),
                Event::KeyRelease(release) => Some((false, release.detail)),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        received, expected,
        "(pressed, keycode) on the agent's display"
    );

    click_action(&viewer, &viewer_x.display, "toggle-view");
    wait_for_window(&viewer_x.display, "Tether", |shot| {
        shot.title.contains("· 1:1")
    });

    click_action(&viewer, &viewer_x.display, "end-session");
    assert!(viewer.wait().success(), "{}", viewer.log());
    agent.stdout.wait_for_substring("session ended");
}
