//! Milliseconds per capture of the X11 backend through MIT-SHM and plain `GetImage` (and of
//! the xcap backend with `--features xcap`), on private Xvfb servers at 1920x1080 and
//! 3840x2160: with the whole screen repainted before every capture (the worst case, all of
//! it damaged), and for MIT-SHM also on an idle screen (nothing damaged).
//!
//! ```sh
//! cargo run --release -p tether-capture --example capture_bench [-- --frames 200]
//! ```
//!
//! Needs Xvfb. Prints one Markdown table: p50 and p99 per method and size, and each p50 as a
//! multiple of MIT-SHM's on the repainted screen. Repainting is not timed.

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    bench::run()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("capture_bench measures the X11 backend and runs on Linux only");
}

#[cfg(target_os = "linux")]
mod bench {
    use std::{
        io::{BufRead, BufReader},
        process::{Child, Command, Stdio},
        time::{Duration, Instant},
    };

    use anyhow::{bail, Context};
    use tether_capture::{ImageTransfer, MonitorChoice, X11Screen};
    use tether_screen::ScreenSource;
    use x11rb::{
        connection::Connection,
        protocol::xproto::{ChangeGCAux, ConnectionExt, CreateGCAux, Gcontext, Rectangle, Window},
        rust_connection::RustConnection,
    };

    const SIZES: [(u32, u32); 2] = [(1920, 1080), (3840, 2160)];
    const WARM_UP: usize = 5;

    pub fn run() -> anyhow::Result<()> {
        let frames = frames_argument()?;
        println!("{frames} captures per row after {WARM_UP} warm-up captures\n");
        println!("| screen | method | screen | p50 ms | p99 ms | p50 / MIT-SHM repainted p50 |");
        println!("| --- | --- | --- | ---: | ---: | ---: |");
        for (width, height) in SIZES {
            let xvfb = Xvfb::start(width, height)?;
            let mut painter = Painter::connect(&xvfb.display)?;
            let mut rows = Vec::new();
            for transfer in [ImageTransfer::SharedMemory, ImageTransfer::GetImage] {
                let mut screen = X11Screen::open_with_transfer(
                    Some(&xvfb.display),
                    MonitorChoice::All,
                    transfer,
                )?;
                let times = measure(&mut screen, frames, || painter.repaint())?;
                rows.push((transfer_name(transfer), "repainted", times));
            }
            let mut screen = X11Screen::open(Some(&xvfb.display), MonitorChoice::All)?;
            let times = measure(&mut screen, frames, || Ok(()))?;
            rows.push(("X11Screen MIT-SHM", "idle", times));
            #[cfg(feature = "xcap")]
            {
                // xcap takes the display from the environment; nothing else runs yet.
                std::env::set_var("DISPLAY", &xvfb.display);
                std::env::remove_var("XDG_SESSION_TYPE");
                std::env::remove_var("WAYLAND_DISPLAY");
                let mut screen = tether_capture::XcapScreen::open(MonitorChoice::All)?;
                let times = measure(&mut screen, frames, || painter.repaint())?;
                rows.push(("xcap 0.9", "repainted", times));
            }
            let shm_p50 = rows[0].2 .0;
            for (name, content, (p50, p99)) in rows {
                println!(
                    "| {width}x{height} | {name} | {content} | {:.2} | {:.2} | {:.2} |",
                    ms(p50),
                    ms(p99),
                    p50.as_secs_f64() / shm_p50.as_secs_f64()
                );
            }
        }
        Ok(())
    }

    /// Repaints the whole root window, alternating two colours, so every capture sees all of
    /// it changed.
    struct Painter {
        conn: RustConnection,
        root: Window,
        gc: Gcontext,
        width: u16,
        height: u16,
        flips: u32,
    }

    impl Painter {
        fn connect(display: &str) -> anyhow::Result<Painter> {
            let (conn, screen) = x11rb::connect(Some(display))?;
            let root = conn.setup().roots[screen].root;
            let (width, height) = (
                conn.setup().roots[screen].width_in_pixels,
                conn.setup().roots[screen].height_in_pixels,
            );
            let gc = conn.generate_id()?;
            conn.create_gc(gc, root, &CreateGCAux::new())?.check()?;
            Ok(Painter {
                conn,
                root,
                gc,
                width,
                height,
                flips: 0,
            })
        }

        fn repaint(&mut self) -> anyhow::Result<()> {
            self.flips += 1;
            let colour = if self.flips % 2 == 0 {
                0x30_60_90
            } else {
                0x90_60_30
            };
            self.conn
                .change_gc(self.gc, &ChangeGCAux::new().foreground(colour))?;
            // The screen's own size: the X server's damage tracking overflows on rectangles
            // wider than 32767 and would report nothing.
            let everything = Rectangle {
                x: 0,
                y: 0,
                width: self.width,
                height: self.height,
            };
            self.conn
                .poly_fill_rectangle(self.root, self.gc, &[everything])?;
            self.conn.get_input_focus()?.reply()?;
            Ok(())
        }
    }

    fn transfer_name(transfer: ImageTransfer) -> &'static str {
        match transfer {
            ImageTransfer::SharedMemory => "X11Screen MIT-SHM",
            ImageTransfer::GetImage => "X11Screen GetImage",
        }
    }

    /// p50 and p99 of `frames` timed captures, each after an untimed `before_each`.
    fn measure(
        screen: &mut dyn ScreenSource,
        frames: usize,
        mut before_each: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<(Duration, Duration)> {
        for _ in 0..WARM_UP {
            before_each()?;
            screen.capture()?;
        }
        let mut times = Vec::with_capacity(frames);
        for _ in 0..frames {
            before_each()?;
            let start = Instant::now();
            screen.capture()?;
            times.push(start.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        Ok((at(0.5), at(0.99)))
    }

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    fn frames_argument() -> anyhow::Result<usize> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [] => Ok(100),
            [flag, n] if flag == "--frames" => {
                let n: usize = n.parse().context("--frames takes a number")?;
                if n == 0 {
                    bail!("--frames must be at least 1");
                }
                Ok(n)
            }
            _ => bail!("usage: capture_bench [--frames N]"),
        }
    }

    /// A private Xvfb, killed when dropped.
    struct Xvfb {
        child: Child,
        display: String,
    }

    impl Xvfb {
        fn start(width: u32, height: u32) -> anyhow::Result<Xvfb> {
            let mut child = Command::new("Xvfb")
                .args(["-displayfd", "1", "-screen", "0"])
                .arg(format!("{width}x{height}x24"))
                .args(["-noreset", "-nolisten", "tcp"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb (apt-get install xvfb)")?;
            let mut number = String::new();
            BufReader::new(child.stdout.take().context("Xvfb stdout")?).read_line(&mut number)?;
            let number = number.trim();
            if number.is_empty() {
                bail!("Xvfb did not report its display number");
            }
            Ok(Xvfb {
                display: format!(":{number}"),
                child,
            })
        }
    }

    impl Drop for Xvfb {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
