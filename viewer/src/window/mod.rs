//! The viewer window: the remote framebuffer scaled to fit, the session's state and live frame
//! rate in the title, the technician's mouse and keyboard forwarded, and a clear "session
//! ended" state. winit runs the event loop on the main thread; the session runs on the tokio
//! runtime and exchanges frames and input with it through a [`LiveView`].

mod app;
mod beside;

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, PoisonError,
};

use anyhow::Context;
use tether_codec::Frame;
use winit::event_loop::{EventLoop, EventLoopProxy};

use crate::{
    cursor::RemoteCursor,
    damage::{copy_rects, PendingDamage},
    input::{input_channel, InputCapture, InputFeed},
    meter::LiveMeter,
    view::ViewMode,
    AppliedUpdate, CursorObserver, FrameObserver,
};
use app::App;
pub use beside::run_in_window;

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Wake-ups the session sends the window.
#[derive(Debug)]
enum ViewEvent {
    /// A newer frame is waiting in [`Shared::latest`].
    Frame,
    /// The session's state changed (e.g. "digits 123 456 · view + control").
    Status(String),
    /// The session is over; the text says how (e.g. "session ended: the agent disconnected").
    Ended(String),
}

struct Shared {
    latest: Mutex<Option<Frame>>,
    /// What changed in `latest` since the window last drew it.
    damage: Mutex<PendingDamage>,
    /// Frame rate, traffic and latency for the title.
    meter: Mutex<LiveMeter>,
    cursor: Mutex<RemoteCursor>,
    /// Set while a [`ViewEvent::Frame`] is queued, so a fast session never floods the loop.
    wake_pending: AtomicBool,
    proxy: EventLoopProxy<ViewEvent>,
}

/// The session's handle on the window: publish frames, state and the end of the session, and
/// receive the technician's input.
#[derive(Clone)]
pub struct LiveView {
    shared: Arc<Shared>,
    input: InputFeed,
}

impl LiveView {
    /// Offers `frame` to the window, of which the areas `update` changed are new; only the
    /// newest picture is kept, and only changed areas are copied and later redrawn.
    pub fn show(&self, frame: &Frame, update: &AppliedUpdate<'_>) {
        let changed = update.changed;
        self.shared
            .meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(update.bytes, update.latency);
        {
            let mut latest = self
                .shared
                .latest
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut damage = self
                .shared
                .damage
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match latest.as_mut() {
                Some(kept) if kept.width() == frame.width() && kept.height() == frame.height() => {
                    copy_rects(kept, frame, changed);
                    damage.add(changed);
                }
                _ => {
                    *latest = Some(frame.clone());
                    damage.everything();
                }
            }
        }
        if !self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.shared.proxy.send_event(ViewEvent::Frame);
        }
    }

    /// Shows the session's state in the title.
    pub fn status(&self, status: String) {
        let _ = self.shared.proxy.send_event(ViewEvent::Status(status));
    }

    /// The technician's input in this window, as remote input events.
    pub fn input(&self) -> InputFeed {
        self.input.clone()
    }

    /// Tells the window the session is over, in words for its title ("session ended: …");
    /// the window stays open on the last frame.
    pub fn ended(&self, reason: String) {
        let _ = self.shared.proxy.send_event(ViewEvent::Ended(reason));
    }

    /// Offers the remote pointer's new state to the window.
    pub fn show_cursor(&self, cursor: &RemoteCursor) {
        *self
            .shared
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = cursor.clone();
        self.shared
            .damage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cursor();
        if !self.shared.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.shared.proxy.send_event(ViewEvent::Frame);
        }
    }

    /// A cursor observer for [`crate::JoinOptions`] that draws the remote pointer.
    pub fn cursor_observer(&self) -> CursorObserver {
        let view = self.clone();
        CursorObserver::new(move |cursor| view.show_cursor(cursor))
    }

    /// A frame observer for [`crate::JoinOptions`] that shows every applied update.
    pub fn observer(&self) -> FrameObserver {
        let view = self.clone();
        FrameObserver::new(move |frame, update| view.show(frame, update))
    }
}

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
