//! The bench through the technician's console: the viewer's window, on a second Xvfb, owns
//! this process's main thread as in `tether-viewer join`, and every update is timed until the
//! swap of the first window frame showing it.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::Duration,
};

use tether_proto::session::Capabilities;
use tether_tests::display::{XClient, Xvfb};
use tether_transport::RelayTarget;
use tether_viewer::{
    join,
    view::ViewMode,
    window::{Chrome, Presented, ViewerWindow, WindowSetup},
    FrameObserver, JoinOptions,
};
use tokio::sync::Notify;

use super::{type_text, xdotool, AgentScreen};

/// Target: the console adds at most this to capture → decode at p50, for typing.
const TYPING_ADDED_P50_MS: f64 = 2.0;
/// Target: a full-screen change is on the screen within this of its decode at p50.
const FULL_SCREEN_P50_MS: f64 = 16.0;
/// How long the toolbar shows over the picture once the session is live, and some margin.
const TOOLBAR_PEEK: Duration = Duration::from_millis(3500);

/// Types `chars` characters one every `delay_ms`, then changes the whole screen `changes`
/// times, with the viewer's window on screen, and prints the table.
pub fn run(chars: u64, delay_ms: u64, changes: u64) {
    // The window opens on this display; set before any thread starts.
    let viewer_x = Xvfb::start("1920x1080x24").expect("Xvfb is needed for this benchmark");
    std::env::set_var("DISPLAY", &viewer_x.display);
    let screen = AgentScreen::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (window, live) = ViewerWindow::new().expect("a window on the viewer's Xvfb");

    let applied = Arc::new(AtomicUsize::new(0));
    let counted = applied.clone();
    let shown = live.clone();
    let (events, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let told = live.clone();
    let stop = Arc::new(Notify::new());
    let options = JoinOptions {
        target: RelayTarget {
            relay: screen.relay.addr.clone(),
            fingerprint: Some(screen.relay.fingerprint.parse().expect("fingerprint")),
            known_relays: screen.relay.path("bench_viewer_known_relays").into(),
        },
        code: screen.code.parse().expect("code"),
        name: "latency bench".into(),
        wants: Capabilities::VIEW_AND_CONTROL,
        frames: None,
        observer: Some(FrameObserver::new(move |frame, update| {
            shown.show(frame, update);
            counted.fetch_add(1, Ordering::AcqRel);
        })),
        cursor: Some(live.cursor_observer()),
        stop: Some(stop.clone()),
        events: Some(events),
        input: Some(live.input()),
    };

    // The workload, once the picture is up and the toolbar has hidden: typing, then full-screen
    // changes; then End session (Ctrl+Alt+Shift+Q) closes the window.
    let typed = Arc::new(AtomicUsize::new(0));
    let boundary = typed.clone();
    let agent_display = screen.xvfb.display.clone();
    let viewer_display = viewer_x.display.clone();
    let counter = applied.clone();
    let workload = thread::spawn(move || {
        while counter.load(Ordering::Acquire) == 0 {
            thread::sleep(Duration::from_millis(50));
        }
        thread::sleep(TOOLBAR_PEEK);
        type_text(&agent_display, chars, delay_ms);
        thread::sleep(Duration::from_millis(500));
        boundary.store(counter.load(Ordering::Acquire), Ordering::Release);
        let client = XClient::connect(&agent_display);
        let pictures = [client.pattern_pixmap(1), client.pattern_pixmap(2)];
        for change in 0..changes {
            client.show_pixmap(pictures[(change % 2) as usize]);
            thread::sleep(Duration::from_millis(300));
        }
        thread::sleep(Duration::from_millis(500));
        xdotool(
            &viewer_display,
            &["search", "--name", "^Tether", "windowfocus", "--sync"],
        );
        xdotool(&viewer_display, &["key", "ctrl+alt+shift+q"]);
    });

    let setup = WindowSetup {
        remote: "latency bench".into(),
        size: (1920, 1080),
        mode: ViewMode::Fit,
        chrome: Chrome::Console,
    };
    let mut session = None;
    let report = window
        .run(setup, || {
            runtime.spawn(async move {
                while let Some(event) = progress.recv().await {
                    told.progress(event);
                }
            });
            session = Some(runtime.spawn(async move { join(&options).await }));
        })
        .expect("the window failed");
    stop.notify_one();
    workload.join().expect("workload");
    let outcome = runtime
        .block_on(session.expect("the window opened"))
        .expect("session task")
        .into_result()
        .expect("the viewer failed");

    let updates = report.latency.updates();
    let boundary = typed.load(Ordering::Acquire).min(updates.len());
    let (typing, full_screen) = updates.split_at(boundary);
    println!(
        "console window 1920x1080 on Xvfb + Mesa llvmpipe; typing {chars} characters one every \
         {delay_ms} ms into xterm, then {changes} full-screen changes (random pixels, the whole \
         1920x1080 screen in one X request) every 300 ms; {} updates decoded, {} presented in \
         {} window frames",
        outcome.frames,
        updates.len(),
        report.presented
    );
    println!();
    println!("| workload | stage | updates | p50 ms | p95 ms |");
    println!("|---|---|---|---|---|");
    for (name, part) in [("typing", typing), ("full-screen change", full_screen)] {
        let stages: [(&str, Vec<Duration>); 3] = [
            (
                "capture → decode",
                part.iter().filter_map(|u| u.capture_to_decode).collect(),
            ),
            (
                "decode → presented",
                part.iter().map(|u| u.decode_to_present).collect(),
            ),
            (
                "capture → presented",
                part.iter()
                    .filter_map(Presented::capture_to_present)
                    .collect(),
            ),
        ];
        for (stage, samples) in &stages {
            println!(
                "| {name} | {stage} | {} | {:.2} | {:.2} |",
                samples.len(),
                ms(samples, 0.5),
                ms(samples, 0.95)
            );
        }
    }
    let typing_added = ms(
        &typing
            .iter()
            .filter_map(Presented::capture_to_present)
            .collect::<Vec<_>>(),
        0.5,
    ) - ms(
        &typing
            .iter()
            .filter_map(|u| u.capture_to_decode)
            .collect::<Vec<_>>(),
        0.5,
    );
    let full_screen_p50 = ms(
        &full_screen
            .iter()
            .map(|u| u.decode_to_present)
            .collect::<Vec<_>>(),
        0.5,
    );
    println!();
    println!(
        "typing: the console adds {typing_added:.2} ms at p50 (target ≤ {TYPING_ADDED_P50_MS} \
         ms: {}); full-screen change presented {full_screen_p50:.2} ms after its decode at p50 \
         (target ≤ {FULL_SCREEN_P50_MS} ms: {})",
        verdict(typing_added <= TYPING_ADDED_P50_MS),
        verdict(full_screen_p50 <= FULL_SCREEN_P50_MS)
    );
}

/// The `q` quantile of `samples` in milliseconds (NaN when empty).
fn ms(samples: &[Duration], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    sorted[(q * last as f64).round() as usize].as_secs_f64() * 1e3
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "not met"
    }
}
