//! `tether-capture` against a real X server (Xvfb): what the backends capture must be exactly
//! what a plain X client reads back, damage must cover every change, waits must sleep on an
//! idle screen, and size changes and pointer moves must be noticed.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use tether_capture::{ImageTransfer, MonitorChoice, X11Screen};
use tether_screen::{CaptureError, Damage, ScreenSource};
use tether_tests::display::{XClient, Xvfb};

const GEOMETRY: &str = "1920x1080x24";

/// A screen with known, varied content: solid fills and pseudo-random pixels.
fn draw_scene(client: &XClient) {
    client.fill(0, 0, 1920, 1080, 0x20_40_60);
    client.fill(100, 100, 700, 300, 0xff_00_00);
    client.fill(1500, 900, 420, 180, 0x00_ff_7f);
    client.put_pattern(300, 500, 240, 240, 7);
    client.put_pattern(1680, 0, 240, 200, 8);
}

/// Captures with damage and returns an owned copy of the frame, its size and the damage.
fn capture(screen: &mut X11Screen) -> (u32, u32, Vec<u8>, Option<Vec<[u32; 4]>>) {
    let captured = screen.capture_with_damage().expect("capture");
    let damage = match captured.damage {
        Damage::Unknown => None,
        Damage::Rects(rects) => Some(
            rects
                .iter()
                .map(|r| [r.x, r.y, r.width, r.height])
                .collect(),
        ),
    };
    let frame = captured.frame;
    (
        frame.width(),
        frame.height(),
        frame.pixels().to_vec(),
        damage,
    )
}

fn inside(damage: &[[u32; 4]], x: u32, y: u32) -> bool {
    damage
        .iter()
        .any(|&[rx, ry, w, h]| x >= rx && x < rx + w && y >= ry && y < ry + h)
}

/// Every pixel that differs between `before` and `after` lies inside `damage`.
fn assert_changes_inside(width: u32, before: &[u8], after: &[u8], damage: &[[u32; 4]]) {
    for (i, (a, b)) in before
        .chunks_exact(4)
        .zip(after.chunks_exact(4))
        .enumerate()
    {
        if a != b {
            let (x, y) = (i as u32 % width, i as u32 / width);
            assert!(
                inside(damage, x, y),
                "pixel {x},{y} changed outside the damage {damage:?}"
            );
        }
    }
}

#[test]
fn x11_capture_equals_a_plain_get_image_pixel_for_pixel() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    draw_scene(&client);
    let (width, height, reference) = client.root_bgra();
    assert_eq!((width, height), (1920, 1080));

    for transfer in [ImageTransfer::SharedMemory, ImageTransfer::GetImage] {
        let mut screen =
            X11Screen::open_with_transfer(Some(&xvfb.display), MonitorChoice::All, transfer)
                .expect("open");
        assert_eq!(screen.transfer(), transfer);
        let expected_name = match transfer {
            ImageTransfer::SharedMemory => "MIT-SHM",
            ImageTransfer::GetImage => "GetImage",
        };
        assert!(
            screen.describe().contains(expected_name),
            "{}",
            screen.describe()
        );
        assert!(
            screen.describe().contains("1920x1080"),
            "{}",
            screen.describe()
        );
        let frame = screen.capture().expect("capture");
        assert_eq!((frame.width(), frame.height()), (width, height));
        assert!(
            frame.pixels() == reference.as_slice(),
            "{transfer:?} capture differs from GetImage"
        );
    }
    // The default prefers shared memory on a local server.
    let screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All).expect("open");
    assert_eq!(screen.transfer(), ImageTransfer::SharedMemory);
}

#[test]
fn no_display_is_unavailable_with_a_clear_message() {
    let Err(CaptureError::Unavailable(message)) = X11Screen::open(Some(""), MonitorChoice::All)
    else {
        panic!("an empty display name must be unavailable");
    };
    assert!(message.contains("DISPLAY"), "{message}");
    let Err(CaptureError::Unavailable(message)) =
        X11Screen::open(Some(":9999"), MonitorChoice::All)
    else {
        panic!("a display nobody serves must be unavailable");
    };
    assert!(message.contains(":9999"), "{message}");
}

#[test]
fn damage_covers_what_was_drawn_and_little_else() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    draw_scene(&client);
    let mut screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All).expect("open");
    let (_, _, _, first) = capture(&mut screen);
    assert_eq!(first, None, "the first capture cannot know what changed");
    // Drawing done before the previous capture is reported at most once more.
    let (_, _, before, _) = capture(&mut screen);
    let (_, _, again, idle) = capture(&mut screen);
    assert_eq!(idle, Some(Vec::new()), "nothing was drawn");
    assert!(before == again);

    client.fill(400, 300, 150, 100, 0x12_34_56);
    client.put_pattern(1000, 700, 100, 80, 3);
    let (width, _, after, damage) = capture(&mut screen);
    let damage = damage.expect("damage is known");
    assert_changes_inside(width, &before, &after, &damage);
    for (x, y) in [(400, 300), (549, 399), (1000, 700), (1099, 779)] {
        assert!(inside(&damage, x, y), "{x},{y} not in {damage:?}");
    }
    assert!(
        after == client.root_bgra().2,
        "capture differs from GetImage"
    );
    let damaged: u64 = damage.iter().map(|r| u64::from(r[2] * r[3])).sum();
    assert!(
        damaged <= 4 * (150 * 100 + 100 * 80),
        "damage {damage:?} is far larger than the drawing"
    );
}

#[test]
fn damage_never_misses_a_change_while_another_client_draws() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let display = xvfb.display.clone();
    let mut screen = X11Screen::open(Some(&display), MonitorChoice::All).expect("open");
    let (width, _, mut previous, _) = capture(&mut screen);
    let stop = Arc::new(AtomicBool::new(false));
    let painting = stop.clone();
    let painter = thread::spawn(move || {
        let client = XClient::connect(&display);
        let mut i: u32 = 0;
        while !painting.load(Ordering::Relaxed) {
            let x = (i * 197 % 1800) as i16;
            let y = (i * 89 % 1000) as i16;
            client.fill(x, y, 60, 40, i.wrapping_mul(0x9e37_79b9) & 0xff_ffff);
            i += 1;
            thread::sleep(Duration::from_micros(200));
        }
        i
    });
    let mut changed_captures = 0;
    for _ in 0..20 {
        let (_, _, frame, damage) = capture(&mut screen);
        let damage = damage.expect("damage stays known while the size does not change");
        assert_changes_inside(width, &previous, &frame, &damage);
        changed_captures += usize::from(frame != previous);
        previous = frame;
    }
    stop.store(true, Ordering::Relaxed);
    let fills = painter.join().expect("painter");
    // Frames built from damaged parts only still match the screen.
    let (_, _, frame, _) = capture(&mut screen);
    assert!(
        frame == XClient::connect(&xvfb.display).root_bgra().2,
        "frame drifted from the screen"
    );
    assert!(
        changed_captures >= 10 && fills >= 20,
        "{changed_captures} of 20 captures saw changes, {fills} fills"
    );
}

#[test]
fn wait_for_change_sleeps_on_an_idle_screen_and_wakes_on_drawing() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let mut screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All).expect("open");
    assert!(
        screen.wait_for_change(Duration::ZERO).expect("wait"),
        "nothing captured yet: a capture is due"
    );
    screen.capture().expect("capture");

    let start = Instant::now();
    let changed = screen
        .wait_for_change(Duration::from_millis(500))
        .expect("wait");
    let waited = start.elapsed();
    assert!(!changed, "idle screen reported a change");
    assert!(
        waited >= Duration::from_millis(450),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");

    let display = xvfb.display.clone();
    let painter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        XClient::connect(&display).fill(10, 10, 20, 20, 0xff_ff_ff);
    });
    let start = Instant::now();
    let changed = screen
        .wait_for_change(Duration::from_secs(10))
        .expect("wait");
    let waited = start.elapsed();
    painter.join().expect("painter");
    assert!(changed, "drawing did not wake the wait");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "woke after {waited:?}"
    );
    let (_, _, _, damage) = capture(&mut screen);
    assert!(inside(&damage.expect("known"), 15, 15));
}

#[test]
fn a_resolution_change_is_followed_by_the_next_capture() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    let mut screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All).expect("open");
    let (width, height, _, _) = capture(&mut screen);
    assert_eq!((width, height), (1920, 1080));

    client.resize_screen(1280, 720);
    draw_scene(&client);
    assert!(screen
        .wait_for_change(Duration::from_secs(10))
        .expect("wait"));
    let (width, height, pixels, damage) = capture(&mut screen);
    assert_eq!((width, height), (1280, 720));
    assert_eq!(damage, None, "a new size has no damage to speak of");
    assert!(
        screen.describe().contains("1280x720"),
        "{}",
        screen.describe()
    );
    let (_, _, reference) = client.root_bgra();
    assert!(
        pixels == reference,
        "capture after the resize differs from GetImage"
    );

    client.resize_screen(1920, 1080);
    draw_scene(&client);
    let (width, height, pixels, _) = capture(&mut screen);
    assert_eq!((width, height), (1920, 1080));
    assert!(pixels == client.root_bgra().2);
}

#[test]
fn one_randr_monitor_is_captured_on_its_own() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    client.set_monitor("left", 0, 0, 960, 1080);
    client.set_monitor("right", 960, 0, 960, 1080);
    draw_scene(&client);
    let monitors = X11Screen::monitors(Some(&xvfb.display)).expect("monitors");
    let index = monitors
        .iter()
        .position(|m| m.name == "right")
        .unwrap_or_else(|| panic!("no monitor 'right' in {monitors:?}"));
    assert_eq!(
        (
            monitors[index].x,
            monitors[index].y,
            monitors[index].width,
            monitors[index].height
        ),
        (960, 0, 960, 1080)
    );

    let mut screen =
        X11Screen::open(Some(&xvfb.display), MonitorChoice::Index(index)).expect("open");
    let (width, height, pixels, _) = capture(&mut screen);
    assert_eq!((width, height), (960, 1080));
    let (root_width, _, root) = client.root_bgra();
    let expected: Vec<u8> = root
        .chunks_exact(root_width as usize * 4)
        .flat_map(|row| &row[960 * 4..])
        .copied()
        .collect();
    assert!(
        pixels == expected,
        "monitor capture differs from the right half of the root"
    );

    // Damage is in monitor coordinates, and drawing on the other monitor is not reported.
    client.fill(1000, 50, 30, 30, 0xab_cd_ef);
    client.fill(10, 10, 30, 30, 0xab_cd_ef);
    let (_, _, _, damage) = capture(&mut screen);
    let damage = damage.expect("known");
    assert!(
        inside(&damage, 40, 50) && inside(&damage, 69, 79),
        "{damage:?}"
    );
    assert!(damage.iter().all(|r| r[0] + r[2] <= 960), "{damage:?}");

    client.warp_pointer(1000, 500);
    let cursor = screen.cursor().expect("cursor").expect("on this screen");
    assert_eq!((cursor.x, cursor.y), (40, 500));
    assert!(X11Screen::open(Some(&xvfb.display), MonitorChoice::Index(monitors.len())).is_err());
}

#[test]
fn the_cursor_is_reported_apart_from_the_frames() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    let mut screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All).expect("open");
    client.warp_pointer(500, 400);
    let first = screen
        .cursor()
        .expect("cursor")
        .expect("pointer on this screen");
    assert_eq!((first.x, first.y), (500, 400));
    let image = first
        .image
        .expect("the first call brings the image")
        .clone();
    assert!(image.width > 0 && image.height > 0);
    assert_eq!(
        image.pixels.len(),
        (image.width * image.height * 4) as usize
    );
    assert!(image.hotspot_x < image.width && image.hotspot_y < image.height);
    assert!(
        image.pixels.chunks_exact(4).any(|p| p[3] != 0),
        "invisible cursor"
    );

    screen.capture().expect("capture");
    client.warp_pointer(20, 30);
    let moved = screen
        .cursor()
        .expect("cursor")
        .expect("pointer on this screen");
    assert_eq!((moved.x, moved.y), (20, 30));
    assert!(moved.image.is_none(), "the cursor image did not change");
    let (_, _, _, damage) = capture(&mut screen);
    assert_eq!(
        damage,
        Some(Vec::new()),
        "pointer motion must not damage the frame"
    );
}

#[cfg(feature = "xcap")]
#[test]
fn xcap_capture_equals_a_plain_get_image_pixel_for_pixel() {
    let Some(xvfb) = Xvfb::start(GEOMETRY) else {
        return;
    };
    let client = XClient::connect(&xvfb.display);
    draw_scene(&client);
    // xcap reads the display from the environment and prefers Wayland when the session says
    // so. The other tests in this file name their display explicitly.
    std::env::set_var("DISPLAY", &xvfb.display);
    std::env::remove_var("XDG_SESSION_TYPE");
    std::env::remove_var("WAYLAND_DISPLAY");
    let mut screen = tether_capture::XcapScreen::open(MonitorChoice::All).expect("xcap opens Xvfb");
    let frame = screen.capture().expect("xcap capture");
    assert_eq!((frame.width(), frame.height()), (1920, 1080));
    assert!(
        frame.pixels() == client.root_bgra().2.as_slice(),
        "xcap differs from GetImage"
    );
}
