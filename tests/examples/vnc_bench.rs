//! The peer bench: Tether against x11vnc with TigerVNC's viewer, on the same Xvfb desktop, with
//! the same scripted workloads, measured the same way.
//!
//! `cargo build --release && cargo run --release -p tether-tests --example vnc_bench`
//!
//! Options: `--seconds S` per workload (15), `--systems tether,zrle,tight,tight-jpeg` (all),
//! `--workloads connect,typing,scrolling,dragging,idle` (all),
//! `--photo FILE` wallpaper (/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg, Debian's
//! `lomiri-wallpapers`), `--runs N` of everything (1).
//!
//! Needs Xvfb, openbox, xterm, xclock, xdotool, x11vnc and xtigervncviewer (Debian: xvfb
//! openbox xterm x11-apps xdotool x11vnc tigervnc-viewer lomiri-wallpapers), and the release
//! binaries of this workspace (`cargo build --release`).
//!
//! A server display (1920x1080x24, openbox, the photo as wallpaper, an xterm running `cat`, an
//! xterm showing a long text in `less`, and xclock) is shared by `tether-agent --screen x11`
//! (through `tether-relay`) or by `x11vnc`; the client is `tether-viewer join --view actual` or
//! `xtigervncviewer` on a second display (2048x1200x24, no window manager). For each system and
//! workload a fresh client connects, waits for a complete first picture, then the workload runs:
//!
//! - **connect**: from starting the client until its window shows the whole server screen;
//! - **typing**: 8 characters a second into the `cat` xterm, each timed from its XTEST key press
//!   on the server display until the client's window changes where it appears;
//! - **scrolling**: the Down key held in `less` (line scrolls, 20 a second);
//! - **dragging**: the xclock window moved along a circle, 60 steps a second (opaque move);
//! - **idle**: nothing but xclock's second hand.
//!
//! Bytes are counted at forwarding proxies this program puts in the path: TCP between
//! TigerVNC and x11vnc, UDP between the viewer and the relay (and between the agent and the
//! relay). Wire bytes add per packet an IPv4 header (20) and a UDP (8) or TCP (32, with
//! timestamps) header; TCP data is cut into 1448-byte segments per read (loopback would carry
//! 64 KiB ones) and the server's pure ACKs are the kernel's count. CPU is utime + stime from
//! /proc/PID/stat over the workload. Delivered updates: RFB FramebufferUpdate messages parsed
//! at the proxy; for Tether, the frames per second its viewer shows in its window title (over
//! the last second), sampled every second of the workload and added up.

#[path = "vnc_bench/proxy.rs"]
mod proxy;
#[path = "vnc_bench/rfb.rs"]
mod rfb;
#[path = "vnc_bench/x.rs"]
mod x;

use std::{
    fs,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use proxy::{segments_in, SharedLog, TcpProxy, UdpProxy, IPV4_HEADER, TCP_HEADER, UDP_HEADER};
use x::{Display, Xvfb};

const SIZE: (u32, u32) = (1920, 1080);
const VNC_PORT_BASE: u16 = 5900;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum System {
    Tether,
    Zrle,
    Tight,
    TightJpeg,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Tether => "tether",
            System::Zrle => "x11vnc ZRLE",
            System::Tight => "x11vnc Tight (lossless)",
            System::TightJpeg => "x11vnc Tight (JPEG q8)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    Connect,
    Typing,
    Scrolling,
    Dragging,
    Idle,
}

const WORKLOADS: [Workload; 5] = [
    Workload::Connect,
    Workload::Typing,
    Workload::Scrolling,
    Workload::Dragging,
    Workload::Idle,
];

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Connect => "connect + first full frame",
            Workload::Typing => "typing into xterm",
            Workload::Scrolling => "scrolling (less in xterm)",
            Workload::Dragging => "dragging a window",
            Workload::Idle => "idle (xclock)",
        }
    }
}

/// What one workload measured.
#[derive(Debug, Default)]
struct Figures {
    seconds: f64,
    payload: usize,
    wire: usize,
    packets: usize,
    /// Agent → relay, Tether only.
    uplink_wire: Option<usize>,
    server_cpu: f64,
    client_cpu: f64,
    relay_cpu: Option<f64>,
    updates: Option<usize>,
    latencies_ms: Vec<f64>,
    missed_keys: usize,
}

/// CPU seconds (utime + stime) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); `fields` starts at field 3.
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    // target/release/examples/vnc_bench → target/release/NAME
    let path = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target/release")
        .join(name);
    assert!(
        path.is_file(),
        "{} missing: run `cargo build --release` first",
        path.display()
    );
    path
}

/// A child whose stdout lines arrive on a channel.
struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Spawned {
    fn new(mut command: Command) -> Spawned {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned { child, lines }
    }

    fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
        panic!("no line starting with {prefix:?}");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_quiet(program: &str, args: &[&str], display: &str) -> Child {
    Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool is needed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The server's desktop and apps.
struct Desktop {
    _xvfb: Xvfb,
    display: String,
    x: Display,
    apps: Vec<Child>,
    typing_terminal: Child,
    typing: u32,
    clock: u32,
}

impl Desktop {
    fn start(photo: &str) -> Desktop {
        let xvfb = Xvfb::start(&format!("{}x{}x24", SIZE.0, SIZE.1));
        let display = xvfb.display.clone();
        let x = Display::connect(&display);
        x.set_wallpaper(
            SIZE.0 as u16,
            SIZE.1 as u16,
            &x::wallpaper(photo, SIZE.0, SIZE.1),
        );
        let mut apps = vec![spawn_quiet("openbox", &[], &display)];
        thread::sleep(Duration::from_millis(500));
        let typing_terminal = spawn_typing_terminal(&display);
        apps.push(spawn_quiet(
            "xterm",
            &[
                "-title",
                "reading",
                "-fn",
                "fixed",
                "-geometry",
                "100x40+600+100",
                "-e",
                "less",
                "/usr/share/common-licenses/GPL-3",
            ],
            &display,
        ));
        apps.push(spawn_quiet(
            "xclock",
            &[
                "-title",
                "clock",
                "-update",
                "1",
                "-geometry",
                "200x200+1500+700",
            ],
            &display,
        ));
        thread::sleep(Duration::from_secs(2));
        let find = |name: &str| -> u32 {
            xdotool(&display, &["search", "--name", &format!("^{name}$")])
                .lines()
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("no {name} window"))
        };
        let typing = find("typing");
        let clock = find("clock");
        Desktop {
            _xvfb: xvfb,
            display,
            x,
            apps,
            typing_terminal,
            typing,
            clock,
        }
    }

    /// Replaces the typing terminal with a fresh one (cursor on its first
    /// line) and gives it the focus.
    fn fresh_typing_terminal(&mut self) {
        let _ = self.typing_terminal.kill();
        let _ = self.typing_terminal.wait();
        self.typing_terminal = spawn_typing_terminal(&self.display);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = xdotool(&self.display, &["search", "--name", "^typing$"]);
            if let Some(id) = found.lines().next().and_then(|id| id.parse().ok()) {
                self.typing = id;
                break;
            }
            assert!(Instant::now() < deadline, "no typing terminal");
            thread::sleep(Duration::from_millis(50));
        }
        thread::sleep(Duration::from_millis(500));
        xdotool(
            &self.display,
            &["windowactivate", "--sync", &self.typing.to_string()],
        );
    }
}

fn spawn_typing_terminal(display: &str) -> Child {
    spawn_quiet(
        "xterm",
        &[
            "-title",
            "typing",
            "-fn",
            "fixed",
            "-geometry",
            "80x24+0+0",
            "-e",
            "cat",
        ],
        display,
    )
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.typing_terminal.kill();
        let _ = self.typing_terminal.wait();
        for app in &mut self.apps {
            let _ = app.kill();
            let _ = app.wait();
        }
    }
}

/// A client connected to the desktop, on its own display.
struct Client {
    process: Spawned,
    /// The agent, for Tether.
    agent: Option<Spawned>,
    log: SharedLog,
    uplink: Option<SharedLog>,
    tcp_port: Option<std::sync::Arc<std::sync::Mutex<Option<u16>>>>,
}

struct Tether {
    relay: Spawned,
    fingerprint: String,
    viewer_proxy: UdpProxy,
    agent_proxy: UdpProxy,
    dir: tempfile::TempDir,
}

impl Tether {
    fn start() -> Tether {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("relay");
        let mut command = Command::new(binary("tether-relay"));
        command.args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("utf-8"),
        ]);
        let relay = Spawned::new(command);
        let addr = relay.wait_for("listening on ");
        let fingerprint = relay.wait_for("fingerprint: ");
        Tether {
            relay,
            fingerprint,
            viewer_proxy: UdpProxy::start(&addr),
            agent_proxy: UdpProxy::start(&addr),
            dir,
        }
    }

    fn connect(&self, desktop: &Desktop, client_display: &str) -> Client {
        let known = self.dir.path().join("agent_known_relays");
        let mut command = Command::new(binary("tether-agent"));
        command
            .args([
                "--relay",
                &format!("127.0.0.1:{}", self.agent_proxy.port),
                "--relay-fingerprint",
                &self.fingerprint,
                "--screen",
                "x11",
                "--display",
                &desktop.display,
                "--max-fps",
                "60",
                "--auto-accept",
            ])
            .env("TETHER_KNOWN_RELAYS", &known)
            .env("DISPLAY", &desktop.display);
        let agent = Spawned::new(command);
        let code = agent.wait_for("session code: ");
        let mut command = Command::new(binary("tether-viewer"));
        command
            .args([
                "join",
                &code,
                "--relay",
                &format!("127.0.0.1:{}", self.viewer_proxy.port),
                "--relay-fingerprint",
                &self.fingerprint,
                "--view",
                "actual",
            ])
            .env(
                "TETHER_KNOWN_RELAYS",
                self.dir.path().join("viewer_known_relays"),
            )
            .env("DISPLAY", client_display);
        Client {
            process: Spawned::new(command),
            agent: Some(agent),
            log: self.viewer_proxy.down.clone(),
            uplink: Some(self.agent_proxy.up.clone()),
            tcp_port: None,
        }
    }
}

struct Vnc {
    server: Spawned,
    proxy: TcpProxy,
}

impl Vnc {
    fn start(desktop: &Desktop) -> Vnc {
        let port = VNC_PORT_BASE + 50 + (std::process::id() % 40) as u16;
        let mut command = Command::new("x11vnc");
        command.args([
            "-display",
            &desktop.display,
            "-rfbport",
            &port.to_string(),
            "-localhost",
            "-forever",
            "-shared",
            "-nopw",
            "-quiet",
        ]);
        let server = Spawned::new(command);
        thread::sleep(Duration::from_secs(2));
        Vnc {
            server,
            proxy: TcpProxy::start(port),
        }
    }

    fn connect(&self, system: System, client_display: &str) -> Client {
        let mut command = Command::new("xtigervncviewer");
        let encoding = match system {
            System::Zrle => vec!["-PreferredEncoding=ZRLE"],
            System::Tight => vec!["-PreferredEncoding=Tight", "-NoJPEG"],
            _ => vec!["-PreferredEncoding=Tight", "-QualityLevel=8"],
        };
        command
            .args([
                "-AutoSelect=0",
                "-FullColor",
                "-Shared",
                "-SecurityTypes=None",
                "-AcceptClipboard=0",
                "-SendClipboard=0",
            ])
            .args(encoding)
            .arg(format!("127.0.0.1::{}", self.proxy.port))
            .env("DISPLAY", client_display);
        Client {
            process: Spawned::new(command),
            agent: None,
            log: self.proxy.down.clone(),
            uplink: None,
            tcp_port: Some(self.proxy.upstream_port.clone()),
        }
    }
}

/// Mean absolute difference per channel between two BGRX images.
fn difference(a: &[u8], b: &[u8]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::MAX;
    }
    let sum: u64 = a
        .chunks_exact(4)
        .zip(b.chunks_exact(4))
        .map(|(p, q)| (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>())
        .sum();
    sum as f64 / (a.len() / 4 * 3) as f64
}

/// Waits until the client's window shows the server screen: all but a few
/// pixels (`tolerance`, the mean absolute error per channel), more for a lossy client;
/// returns when, or `None` after 30 s.
fn wait_for_picture(desktop: &Desktop, client: &Display, tolerance: f64) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((window, _, _, width, height)) = client.largest_window() {
            if width > 200 && height > 200 {
                let (ox, oy) = client.origin(window).unwrap_or((0, 0));
                let (w, h) = (width.min(SIZE.0 as u16), height.min(SIZE.1 as u16));
                let seen = client.grab(ox, oy, w, h);
                let truth = desktop.x.grab(0, 0, w, h);
                if difference(&seen, &truth) <= tolerance {
                    return Some(Instant::now());
                }
            }
        }
        thread::sleep(Duration::from_millis(25));
    }
    None
}

/// Types `count` characters at 8 a second (later when an echo takes longer
/// than the gap), timing each until the client's window changes on the
/// typed line.
fn type_and_time(desktop: &Desktop, client: &Display, count: usize, figures: &mut Figures) {
    let (tx, ty) = desktop.x.origin(desktop.typing).unwrap_or((0, 0));
    let (window, ..) = client.largest_window().expect("a client window");
    let (cx, cy) = client.origin(window).unwrap_or((0, 0));
    let text = "the quick brown fox jumps over the lazy dog ";
    let keys: Vec<u8> = text.chars().map(|c| desktop.x.keycode(c)).collect();
    let enter = desktop.x.keycode('\n');
    let (mut line, mut column) = (0u32, 0usize);
    let start = Instant::now();
    for i in 0..count {
        let due = start + Duration::from_millis(125 * i as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let at_end = column == 70;
        let key = if at_end { enter } else { keys[i % keys.len()] };
        // The typed line, with a line above and below: 6 x 13 cells, 2-pixel border.
        let y = (cy + ty + 2 + 13 * (line as i16 % 22) - 13).max(0);
        let region = (cx + tx, y, 490u16, 39u16);
        let before = client.grab(region.0, region.1, region.2, region.3);
        let pressed = Instant::now();
        desktop.x.tap(key);
        let mut seen = None;
        // Until the key shows (at most a second): the next key waits, so
        // a slow echo is never taken for the next key's.
        while pressed.elapsed() < Duration::from_secs(1) {
            if client.grab(region.0, region.1, region.2, region.3) != before {
                seen = Some(pressed.elapsed());
                break;
            }
            thread::sleep(Duration::from_micros(200));
        }
        match seen {
            Some(latency) => figures.latencies_ms.push(latency.as_secs_f64() * 1000.0),
            None => figures.missed_keys += 1,
        }
        if at_end {
            // The terminal echoes the line, then `cat` prints it again.
            line += 2;
            column = 0;
        } else {
            column += 1;
        }
    }
}

fn run_workload(
    workload: Workload,
    seconds: u64,
    desktop: &Desktop,
    client_x: &Display,
    figures: &mut Figures,
) {
    match workload {
        Workload::Connect => {}
        Workload::Typing => type_and_time(desktop, client_x, (seconds * 8) as usize, figures),
        Workload::Scrolling => {
            let reading = xdotool(&desktop.display, &["search", "--name", "^reading$"]);
            xdotool(
                &desktop.display,
                &[
                    "windowactivate",
                    "--sync",
                    reading.lines().next().unwrap_or(""),
                ],
            );
            xdotool(&desktop.display, &["key", "g"]);
            let steps = (seconds * 20).to_string();
            xdotool(
                &desktop.display,
                &["key", "--delay", "50", "--repeat", &steps, "Down"],
            );
        }
        Workload::Dragging => {
            let start = Instant::now();
            let clock = desktop.clock.to_string();
            let mut step = 0u64;
            while start.elapsed() < Duration::from_secs(seconds) {
                let angle = step as f64 / 120.0 * std::f64::consts::TAU;
                let (x, y) = (900.0 + 500.0 * angle.cos(), 450.0 + 300.0 * angle.sin());
                xdotool(
                    &desktop.display,
                    &["windowmove", &clock, &format!("{x:.0}"), &format!("{y:.0}")],
                );
                step += 1;
                let due = start + Duration::from_micros(16_667 * step);
                thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        }
        Workload::Idle => thread::sleep(Duration::from_secs(seconds)),
    }
}

fn measure(
    system: System,
    workload: Workload,
    seconds: u64,
    desktop: &Desktop,
    tether: Option<&Tether>,
    vnc: Option<&Vnc>,
) -> Figures {
    // Larger than the server's screen, so a 1:1 window never needs scroll bars.
    let client_xvfb = Xvfb::start(&format!("{}x{}x24", SIZE.0 + 128, SIZE.1 + 120));
    let client_x = Display::connect(&client_xvfb.display);
    proxy::wait_quiet(
        tether.map_or_else(|| &vnc.expect("vnc").proxy.down, |t| &t.viewer_proxy.down),
        Duration::from_millis(300),
        Duration::from_secs(3),
    );
    let vnc_cpu_at_launch = vnc.map(|vnc| cpu_seconds(vnc.server.pid()));
    let launched = Instant::now();
    let client = match (system, tether, vnc) {
        (System::Tether, Some(tether), _) => tether.connect(desktop, &client_xvfb.display),
        (_, _, Some(vnc)) => vnc.connect(system, &client_xvfb.display),
        _ => unreachable!("a system without its server"),
    };
    let server_pid = client
        .agent
        .as_ref()
        .map_or_else(|| vnc.expect("vnc").server.pid(), Spawned::pid);
    let relay_pid = tether.map(|t| t.relay.pid());
    let tolerance = if system == System::TightJpeg {
        6.0
    } else {
        0.5
    };
    let pictured = wait_for_picture(desktop, &client_x, tolerance);
    let mut figures = Figures::default();
    let (from, to) = if workload == Workload::Connect {
        let to = pictured.unwrap_or_else(Instant::now);
        figures.seconds = (to - launched).as_secs_f64();
        // CPU over the connection: from process start (the client and, for
        // Tether, the agent are new).
        (launched, to)
    } else {
        proxy::wait_quiet(
            &client.log,
            Duration::from_millis(500),
            Duration::from_secs(5),
        );
        (Instant::now(), Instant::now())
    };
    let cpu = |pid: u32| cpu_seconds(pid);
    let (server0, client0, relay0) = if workload == Workload::Connect {
        (
            // The client and Tether's agent start with the connection;
            // x11vnc was running before.
            if system == System::Tether {
                0.0
            } else {
                vnc_cpu_at_launch.unwrap_or(0.0)
            },
            0.0,
            relay_pid.map(cpu),
        )
    } else {
        (
            cpu(server_pid),
            cpu(client.process.pid()),
            relay_pid.map(cpu),
        )
    };
    let segments0 = client
        .tcp_port
        .as_ref()
        .and_then(|p| *p.lock().expect("port"))
        .and_then(segments_in);
    let window = client_x.largest_window().map(|w| w.0);
    let (from, to) = if workload == Workload::Connect {
        (from, to)
    } else {
        // Tether's viewer shows its frames per second over the last second
        // in its title: sampled each second, they add up to the updates.
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = (system == System::Tether).then(|| {
            let (display, sampling) = (client_xvfb.display.clone(), sampling.clone());
            thread::spawn(move || {
                let x = Display::connect(&display);
                let mut total = 0usize;
                let start = Instant::now();
                let mut tick = 1;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    thread::sleep(
                        (start + Duration::from_secs(tick))
                            .saturating_duration_since(Instant::now()),
                    );
                    tick += 1;
                    let title = window.map(|w| x.title(w)).unwrap_or_default();
                    total += title
                        .split(" fps")
                        .next()
                        .and_then(|head| head.rsplit(' ').next())
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0);
                }
                total
            })
        });
        let from = Instant::now();
        run_workload(workload, seconds, desktop, &client_x, &mut figures);
        thread::sleep(Duration::from_millis(300));
        let to = Instant::now();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(sampler) = sampler {
            figures.updates = sampler.join().ok();
        }
        figures.seconds = (to - from).as_secs_f64() - 0.3;
        (from, to)
    };
    let counted_to = to;
    figures.server_cpu = cpu(server_pid) - server0;
    figures.client_cpu = cpu(client.process.pid()) - client0;
    figures.relay_cpu = relay_pid.map(|pid| cpu(pid) - relay0.unwrap_or(0.0));
    let segments1 = client
        .tcp_port
        .as_ref()
        .and_then(|p| *p.lock().expect("port"))
        .and_then(segments_in);
    let log = client.log.lock().expect("log");
    let (payload, packets) = log.between(from, counted_to);
    if std::env::var_os("VNC_BENCH_DEBUG").is_some() {
        let sizes: Vec<usize> = log
            .events
            .iter()
            .filter(|(at, _, _)| *at >= from && *at < counted_to)
            .map(|e| e.1)
            .collect();
        eprintln!(
            "{} {}: packet sizes {sizes:?}",
            system.name(),
            workload.name()
        );
    }
    figures.payload = payload;
    figures.packets = packets;
    figures.wire = match system {
        System::Tether => payload + packets * (IPV4_HEADER + UDP_HEADER),
        _ => {
            let acks = match (segments0, segments1) {
                (Some((all0, data0)), Some((all1, data1))) => {
                    (all1 - all0).saturating_sub(data1 - data0) as usize
                }
                _ => 0,
            };
            payload + (packets + acks) * (IPV4_HEADER + TCP_HEADER)
        }
    };
    if system != System::Tether {
        figures.updates = Some(log.updates_between(from, counted_to));
    }
    drop(log);
    if let Some(uplink) = &client.uplink {
        let (bytes, packets) = uplink.lock().expect("log").between(from, counted_to);
        figures.uplink_wire = Some(bytes + packets * (IPV4_HEADER + UDP_HEADER));
    }
    if let Some(agent) = client.agent {
        agent.stop();
    }
    client.process.stop();
    figures
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = option("--seconds").map_or(15, |v| v.parse().expect("seconds"));
    let runs: usize = option("--runs").map_or(1, |v| v.parse().expect("runs"));
    let photo = option("--photo")
        .unwrap_or_else(|| "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg".to_string());
    let workloads: Vec<Workload> = option("--workloads").map_or(WORKLOADS.to_vec(), |names| {
        names
            .split(',')
            .map(|name| match name {
                "connect" => Workload::Connect,
                "typing" => Workload::Typing,
                "scrolling" => Workload::Scrolling,
                "dragging" => Workload::Dragging,
                "idle" => Workload::Idle,
                other => panic!("unknown workload {other}"),
            })
            .collect()
    });
    let systems: Vec<System> = option("--systems")
        .unwrap_or_else(|| "tether,zrle,tight,tight-jpeg".to_string())
        .split(',')
        .map(|name| match name {
            "tether" => System::Tether,
            "zrle" => System::Zrle,
            "tight" => System::Tight,
            "tight-jpeg" => System::TightJpeg,
            other => panic!("unknown system {other}"),
        })
        .collect();

    let mut desktop = Desktop::start(&photo);
    let tether = systems.contains(&System::Tether).then(Tether::start);
    let vnc = systems
        .iter()
        .any(|s| *s != System::Tether)
        .then(|| Vnc::start(&desktop));
    println!("| workload | system | run | s | wire bytes server→client | payload bytes | packets | agent→relay wire | server CPU s | client CPU s | relay CPU s | updates | updates/s | wire bytes/update | key→pixel p50 / p90 ms (missed) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        for &workload in &workloads {
            for &system in &systems {
                if workload == Workload::Typing {
                    desktop.fresh_typing_terminal();
                }
                let f = measure(
                    system,
                    workload,
                    seconds,
                    &desktop,
                    tether.as_ref(),
                    vnc.as_ref(),
                );
                let updates = f.updates.map_or("n/a".to_string(), |u| u.to_string());
                let rate = f.updates.map_or("n/a".to_string(), |u| {
                    format!("{:.1}", u as f64 / f.seconds.max(1e-9))
                });
                let per = f.updates.filter(|u| *u > 0).map_or("n/a".to_string(), |u| {
                    format!("{:.0}", f.wire as f64 / u as f64)
                });
                let latency = if f.latencies_ms.is_empty() && f.missed_keys == 0 {
                    "-".to_string()
                } else {
                    format!(
                        "{:.1} / {:.1} ({})",
                        percentile(&f.latencies_ms, 0.5),
                        percentile(&f.latencies_ms, 0.9),
                        f.missed_keys
                    )
                };
                println!(
                    "| {} | {} | {run} | {:.2} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {updates} | {rate} | {per} | {latency} |",
                    workload.name(),
                    system.name(),
                    f.seconds,
                    f.wire,
                    f.payload,
                    f.packets,
                    f.uplink_wire.map_or("-".to_string(), |b| b.to_string()),
                    f.server_cpu,
                    f.client_cpu,
                    f.relay_cpu.map_or("-".to_string(), |c| format!("{c:.2}")),
                );
            }
        }
    }
    if let Some(vnc) = vnc {
        vnc.server.stop();
    }
    if let Some(tether) = tether {
        tether.relay.stop();
    }
}
