//! End-to-end latency of the frame path on 127.0.0.1, per stage, for a typing workload on a
//! real 1080p X screen: capture → encode → (seal, QUIC, relay, QUIC, open) → decode.
//!
//! `cargo run --release -p tether-tests --example latency_bench [-- --chars N --delay-ms MS]`
//!
//! With `--window [--changes N]` the viewer is the technician's console, a 1920x1080 window on
//! a second Xvfb drawn with Mesa's OpenGL (llvmpipe here), and the bench goes on to the screen:
//! capture → presented (the swap of the window frame that first shows the update), for the
//! typing and then for N full-screen changes (the whole agent screen replaced at once).
//!
//! It starts an Xvfb (1920x1080x24) with an xterm running `cat`, a relay and an agent sharing
//! that screen (the real binaries), joins with the viewer library in this process, and types
//! into the xterm with xdotool. The agent stamps each update with its capture time and stage
//! durations; the viewer records when the update was decoded. Both share this machine's clock.
//! Prints a table of p50/p99 per stage against the targets (p50 ≤ 5 ms, p99 ≤ 16 ms total).

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use tether_tests::{agent_args, display::Xvfb, in_process::in_process_viewer, Process, Relay};
use tether_viewer::latency::Stage;

#[path = "latency_bench/window_bench.rs"]
mod window_bench;

const TARGET_P50_MS: f64 = 5.0;
const TARGET_P99_MS: f64 = 16.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
            .map_or(default, |value| value.parse().expect("a number"))
    };
    let chars = option("--chars", 300);
    let delay_ms = option("--delay-ms", 60);
    if args.iter().any(|arg| arg == "--window") {
        let changes = option("--changes", 60);
        return window_bench::run(chars, delay_ms, changes);
    }

    let screen = AgentScreen::start();
    let session = in_process_viewer(&screen.relay, &screen.code, Arc::new(Mutex::new(None)));
    thread::sleep(Duration::from_secs(1));
    type_text(&screen.xvfb.display, chars, delay_ms);
    thread::sleep(Duration::from_millis(500));

    let outcome = session.stop().expect("the viewer failed");
    drop(screen);
    let latency = &outcome.latency;
    println!(
        "typing {chars} characters, one every {delay_ms} ms, into xterm on a 1920x1080 Xvfb; \
         {} updates timed",
        latency.len()
    );
    println!();
    println!("| stage | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for stage in Stage::ALL {
        let ms = |q| {
            latency
                .percentile(stage, q)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
        };
        println!("| {} | {:.2} | {:.2} |", stage.name(), ms(0.5), ms(0.99));
    }
    let total = |q| {
        latency
            .percentile(Stage::Total, q)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!();
    println!(
        "total p50 {:.2} ms = {:.2} × target {TARGET_P50_MS} ms; p99 {:.2} ms = {:.2} × target \
         {TARGET_P99_MS} ms",
        total(0.5),
        total(0.5) / TARGET_P50_MS,
        total(0.99),
        total(0.99) / TARGET_P99_MS
    );
}

/// A 1920x1080 Xvfb with an xterm running `cat`, and an agent sharing it through a relay.
struct AgentScreen {
    xvfb: Xvfb,
    xterm: std::process::Child,
    relay: Relay,
    _agent: Process,
    code: String,
}

impl AgentScreen {
    fn start() -> Self {
        let xvfb = Xvfb::start("1920x1080x24").expect("Xvfb is needed for this benchmark");
        let xterm = Command::new("xterm")
            .args(["-geometry", "160x50+0+0", "-e", "cat"])
            .env("DISPLAY", &xvfb.display)
            .stderr(Stdio::null())
            .spawn()
            .expect("xterm is needed for this benchmark");
        thread::sleep(Duration::from_secs(1));

        let relay = Relay::start(&[]);
        let known = relay.path("agent_known_relays");
        let agent_extra = [
            "--auto-accept",
            "--screen",
            "x11",
            "--display",
            xvfb.display.as_str(),
            "--max-fps",
            "60",
        ];
        let agent = Process::spawn(
            "tether-agent",
            &agent_args(&relay.addr, &relay.fingerprint, 1, "320x200", &agent_extra),
            &[("TETHER_KNOWN_RELAYS", &known)],
        );
        let code = agent.stdout.wait_for("session code: ");
        Self {
            xvfb,
            xterm,
            relay,
            _agent: agent,
            code,
        }
    }
}

/// Types `chars` characters into the xterm of the agent's screen `display`, one every
/// `delay_ms`.
fn type_text(display: &str, chars: u64, delay_ms: u64) {
    // Focus follows the pointer with no window manager: put it over the terminal.
    xdotool(display, &["mousemove", "400", "300"]);
    let text: String = "the quick brown fox jumps over the lazy dog "
        .chars()
        .cycle()
        .take(chars as usize)
        .collect();
    xdotool(display, &["type", "--delay", &delay_ms.to_string(), &text]);
}

impl Drop for AgentScreen {
    fn drop(&mut self) {
        let _ = self.xterm.kill();
        let _ = self.xterm.wait();
    }
}

/// Runs xdotool on `display`.
fn xdotool(display: &str, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .expect("xdotool is needed for this benchmark");
    assert!(status.success(), "xdotool {args:?}");
}
