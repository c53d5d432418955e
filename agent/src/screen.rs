//! Choosing what the agent shares: the real X11 screen, or the built-in demo desktop.

use tether_capture::{MonitorChoice, X11Screen};
use tether_screen::{DemoDesktop, ScreenSource};

/// Which screen to share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ScreenChoice {
    /// The X11 display when one is reachable, else the portable backend (when built with the
    /// `xcap` feature), else the demo desktop.
    #[default]
    Auto,
    /// The X11 display; failing to open it is an error.
    X11,
    /// The built-in demo desktop.
    Demo,
}

/// The demo desktop's size and seed.
#[derive(Debug, Clone, Copy)]
pub struct DemoSettings {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Seed of its pictures.
    pub seed: u64,
}

/// Where the technician's input goes: an X display, and where the shared area starts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputTarget {
    /// The X display, e.g. `:0`.
    pub display: String,
    /// The shared area's top-left corner on the display (non-zero for one monitor of several).
    pub origin: (i32, i32),
}

/// A screen to share and where input for it goes (`None`: nowhere, e.g. the demo desktop).
pub struct OpenedScreen {
    /// The frames.
    pub source: Box<dyn ScreenSource>,
    /// The input target.
    pub input: Option<InputTarget>,
}

/// Opens the screen `choice` names. `display` defaults to `DISPLAY`.
pub fn open_screen(
    choice: ScreenChoice,
    display: Option<&str>,
    monitor: MonitorChoice,
    demo: DemoSettings,
) -> anyhow::Result<OpenedScreen> {
    let demo_desktop = || OpenedScreen {
        source: Box::new(DemoDesktop::new(demo.width, demo.height, demo.seed)),
        input: None,
    };
    let display = display
        .map(str::to_owned)
        .or_else(|| std::env::var("DISPLAY").ok())
        .filter(|display| !display.is_empty());
    match (choice, display) {
        (ScreenChoice::Demo, _) => Ok(demo_desktop()),
        (ScreenChoice::Auto, None) => Ok(portable(monitor).unwrap_or_else(demo_desktop)),
        (ScreenChoice::X11, None) => {
            anyhow::bail!("no X display to share: set DISPLAY or pass --display")
        }
        (choice, Some(display)) => match open_x11(&display, monitor) {
            Ok(opened) => Ok(opened),
            Err(e) if choice == ScreenChoice::Auto => {
                tracing::warn!("no X11 capture: {e:#}");
                Ok(portable(monitor).unwrap_or_else(demo_desktop))
            }
            Err(e) => Err(e),
        },
    }
}

/// The portable backend's screen, where built in and working. Input is not replayed there
/// (XTEST is X11's), so such sessions are view-only in effect.
#[cfg(feature = "xcap")]
fn portable(monitor: MonitorChoice) -> Option<OpenedScreen> {
    match tether_capture::XcapScreen::open(monitor) {
        Ok(source) => Some(OpenedScreen {
            source: Box::new(source),
            input: None,
        }),
        Err(e) => {
            tracing::warn!("no portable capture: {e}");
            None
        }
    }
}

/// Without the `xcap` feature there is no portable backend.
#[cfg(not(feature = "xcap"))]
fn portable(_: MonitorChoice) -> Option<OpenedScreen> {
    None
}

fn open_x11(display: &str, monitor: MonitorChoice) -> anyhow::Result<OpenedScreen> {
    let source = X11Screen::open(Some(display), monitor)?;
    let origin = match monitor {
        MonitorChoice::All => (0, 0),
        MonitorChoice::Index(index) => X11Screen::monitors(Some(display))?
            .get(index)
            .map(|monitor| (monitor.x, monitor.y))
            .ok_or_else(|| anyhow::anyhow!("display {display} has no monitor {index}"))?,
    };
    Ok(OpenedScreen {
        source: Box::new(source),
        input: Some(InputTarget {
            display: display.to_owned(),
            origin,
        }),
    })
}
