//! The window before it runs, and what it reports once closed.

use std::sync::{atomic::AtomicBool, Arc, Mutex};

use anyhow::Context;
use winit::event_loop::EventLoop;

use super::{
    app::App,
    console::Chrome,
    live::{LiveView, Published, Shared, ViewEvent},
    presented::PresentLog,
};
use crate::{
    cursor::RemoteCursor, input::input_channel, input::InputCapture, meter::LiveMeter,
    view::ViewMode,
};

/// A window that is not running yet.
pub struct ViewerWindow {
    event_loop: EventLoop<ViewEvent>,
    shared: Arc<Shared>,
    input: InputCapture,
}

/// What the window did.
#[derive(Debug, Clone)]
pub struct WindowReport {
    /// Frames drawn to the screen.
    pub presented: u64,
    /// When updates reached the screen.
    pub latency: PresentLog,
}

/// How the window starts.
#[derive(Debug, Clone)]
pub struct WindowSetup {
    /// What it shows, in its title (e.g. "session 123-456-789-012").
    pub remote: String,
    /// Its size in window pixels.
    pub size: (u32, u32),
    /// Fit or one to one at first.
    pub mode: ViewMode,
    /// The console around the picture, or the picture alone.
    pub chrome: Chrome,
}

impl ViewerWindow {
    /// Connects to the display. Must be called on the main thread.
    pub fn new() -> anyhow::Result<(Self, LiveView)> {
        let event_loop = EventLoop::<ViewEvent>::with_user_event()
            .build()
            .context("cannot open the display")?;
        let shared = Arc::new(Shared {
            published: Mutex::new(Published::default()),
            meter: Mutex::new(LiveMeter::default()),
            cursor: Mutex::new(RemoteCursor::default()),
            wake_pending: AtomicBool::new(false),
            proxy: event_loop.create_proxy(),
        });
        let (input, feed) = input_channel();
        let live = LiveView {
            shared: shared.clone(),
            input: feed,
        };
        Ok((
            Self {
                event_loop,
                shared,
                input,
            },
            live,
        ))
    }

    /// Shows the window as `setup` says until the technician closes it or ends the session;
    /// `on_open` runs once it is open (not at all when it cannot open).
    pub fn run(self, setup: WindowSetup, on_open: impl FnOnce()) -> anyhow::Result<WindowReport> {
        let mut app = App::new(self.shared, setup, self.input, on_open);
        self.event_loop.run_app(&mut app)?;
        app.finish()
    }
}
