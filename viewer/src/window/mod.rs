//! The viewer window: the technician's console around the remote screen. egui lays out a
//! slim toolbar and the overlays; the remote picture is an OpenGL texture updated only where
//! the decoder changed it, drawn one to one bit-exactly or scaled to fit by area averaging;
//! the technician's raw keyboard and mouse go to the remote screen while it has them.
//!
//! winit runs the event loop on the main thread; the session runs on the tokio runtime and
//! exchanges frames, milestones and input with it through a [`LiveView`]. The session never
//! waits for the window: it copies changed rectangles into a shared picture (a lock held for a
//! copy, never for drawing) and sends input through a bounded channel.

mod actions;
mod app;
mod beside;
mod console;
mod gl_window;
mod phase;
mod picture;
mod presented;
mod ui_layer;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Instant,
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
    AppliedUpdate, CursorObserver, FrameObserver, JoinEvent, ViewerError,
};
use app::App;
pub use beside::{run_console, run_in_window};
pub use console::Chrome;
use phase::End;
use presented::Decoded;
pub use presented::{PresentLog, Presented};

/// Updates whose decode times wait for the window; beyond it, the oldest are kept (only the
/// presentation log uses them).
const MAX_WAITING_UPDATES: usize = 1024;

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// Wake-ups the session sends the window.
#[derive(Debug)]
enum ViewEvent {
    /// A newer frame or pointer is waiting in [`Shared`].
    Frame,
    /// The session's state for the title (e.g. "digits 123 456 · view + control").
    Status(String),
    /// A milestone of the join, for the console.
    Progress(JoinEvent),
    /// The session is over.
    Ended(End),
}

/// The newest picture, and what changed in it since the window last took it.
#[derive(Default)]
struct Published {
    frame: Option<Frame>,
    damage: PendingDamage,
    /// The updates merged in since, with their decode times.
    decoded: Vec<Decoded>,
}

struct Shared {
    published: Mutex<Published>,
    /// Frame rate, traffic and latency for the title and the toolbar.
    meter: Mutex<LiveMeter>,
    cursor: Mutex<RemoteCursor>,
    /// Set while a [`ViewEvent::Frame`] is queued, so a fast session never floods the loop.
    wake_pending: AtomicBool,
    proxy: EventLoopProxy<ViewEvent>,
}

impl Shared {
    fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.proxy.send_event(ViewEvent::Frame);
        }
    }
}

/// The session's handle on the window: publish frames, milestones and the end of the session,
/// and receive the technician's input.
#[derive(Clone)]
pub struct LiveView {
    shared: Arc<Shared>,
    input: InputFeed,
}

impl LiveView {
    /// Offers `frame` to the window, of which the areas `update` changed are new; only the
    /// newest picture is kept, and only changed areas are copied and later uploaded.
    pub fn show(&self, frame: &Frame, update: &AppliedUpdate<'_>) {
        let at = Instant::now();
        lock(&self.shared.meter).record(update.bytes, update.latency);
        {
            let mut published = lock(&self.shared.published);
            let Published {
                frame: kept,
                damage,
                decoded,
            } = &mut *published;
            match kept.as_mut() {
                Some(kept) if kept.width() == frame.width() && kept.height() == frame.height() => {
                    copy_rects(kept, frame, update.changed);
                    damage.add(update.changed);
                }
                _ => {
                    *kept = Some(frame.clone());
                    damage.everything();
                }
            }
            if decoded.len() < MAX_WAITING_UPDATES {
                decoded.push(Decoded {
                    at,
                    capture_to_decode: update.latency,
                });
            }
        }
        self.shared.wake();
    }

    /// Shows the session's state in the title.
    pub fn status(&self, status: String) {
        let _ = self.shared.proxy.send_event(ViewEvent::Status(status));
    }

    /// Tells the console how joining goes (paired, secured with its digits, admitted, lost,
    /// resumed), for its toolbar and overlays.
    pub fn progress(&self, event: JoinEvent) {
        let _ = self.shared.proxy.send_event(ViewEvent::Progress(event));
    }

    /// The technician's input in this window, as remote input events.
    pub fn input(&self) -> InputFeed {
        self.input.clone()
    }

    /// Tells the window the session is over, in words ("session ended: …"); the window stays
    /// open on the last frame.
    pub fn ended(&self, reason: String) {
        let _ = self
            .shared
            .proxy
            .send_event(ViewEvent::Ended(End::Reason(reason)));
    }

    /// Tells the window the session failed with `error` (a declined session shows as such).
    pub fn failed(&self, error: &ViewerError) {
        let reason = error.to_string();
        let end = match error {
            ViewerError::Declined => End::Declined(reason),
            _ => End::Reason(reason),
        };
        let _ = self.shared.proxy.send_event(ViewEvent::Ended(end));
    }

    /// Offers the remote pointer's new state to the window.
    pub fn show_cursor(&self, cursor: &RemoteCursor) {
        *lock(&self.shared.cursor) = cursor.clone();
        self.shared.wake();
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

/// Locks `mutex`, whose data stays usable if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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
