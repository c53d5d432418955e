//! The session's side of the window: the newest picture and pointer it publishes, the
//! milestones and end it reports, and the technician's input it receives.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Instant,
};

use tether_codec::Frame;
use winit::event_loop::EventLoopProxy;

use super::{phase::End, presented::Decoded};
use crate::{
    cursor::RemoteCursor,
    damage::{copy_rects, PendingDamage},
    input::InputFeed,
    meter::LiveMeter,
    AppliedUpdate, CursorObserver, FrameObserver, JoinEvent, ViewerError,
};

/// Updates whose decode times wait for the window; beyond it, the oldest are kept (only the
/// presentation log uses them).
const MAX_WAITING_UPDATES: usize = 1024;

/// Wake-ups the session sends the window.
#[derive(Debug)]
pub(super) enum ViewEvent {
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
pub(super) struct Published {
    pub(super) frame: Option<Frame>,
    pub(super) damage: PendingDamage,
    /// The updates merged in since, with their decode times.
    pub(super) decoded: Vec<Decoded>,
}

pub(super) struct Shared {
    pub(super) published: Mutex<Published>,
    /// Frame rate, traffic and latency for the title and the toolbar.
    pub(super) meter: Mutex<LiveMeter>,
    pub(super) cursor: Mutex<RemoteCursor>,
    /// Set while a [`ViewEvent::Frame`] is queued, so a fast session never floods the loop.
    pub(super) wake_pending: AtomicBool,
    pub(super) proxy: EventLoopProxy<ViewEvent>,
}

impl Shared {
    pub(super) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.proxy.send_event(ViewEvent::Frame);
        }
    }
}

/// The session's handle on the window: publish frames, milestones and the end of the session,
/// and receive the technician's input.
#[derive(Clone)]
pub struct LiveView {
    pub(super) shared: Arc<Shared>,
    pub(super) input: InputFeed,
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
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
