//! The window itself, before and while its event loop runs on the main thread.

use std::sync::{atomic::AtomicBool, Arc, Mutex};

use anyhow::Context;
use winit::event_loop::EventLoop;

use super::{
    app::App,
    live::{LiveView, Shared, ViewEvent},
};
use crate::{
    cursor::RemoteCursor,
    damage::PendingDamage,
    input::{input_channel, InputCapture},
    meter::LiveMeter,
    view::ViewMode,
};

/// A window that is not running yet.
pub struct ViewerWindow {
    event_loop: EventLoop<ViewEvent>,
    shared: Arc<Shared>,
    input: InputCapture,
}

/// What the window did.
#[derive(Debug, Clone, Copy)]
pub struct WindowReport {
    /// Frames drawn to the screen.
    pub presented: u64,
}

impl ViewerWindow {
    /// Connects to the display. Must be called on the main thread.
    pub fn new() -> anyhow::Result<(Self, LiveView)> {
        let event_loop = EventLoop::<ViewEvent>::with_user_event()
            .build()
            .context("cannot open the display")?;
        let shared = Arc::new(Shared {
            latest: Mutex::new(None),
            damage: Mutex::new(PendingDamage::default()),
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

    /// Shows the window titled after `remote`, `size` large and starting in view `mode`,
    /// until the user closes it. Ctrl+Alt+Shift+S switches between fit and one-to-one.
    pub fn run(
        self,
        remote: String,
        size: (u32, u32),
        mode: ViewMode,
    ) -> anyhow::Result<WindowReport> {
        let mut app = App::new(self.shared, remote, size, self.input, mode);
        self.event_loop.run_app(&mut app)?;
        app.finish().map(|presented| WindowReport { presented })
    }
}
