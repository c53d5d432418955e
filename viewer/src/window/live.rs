//! What the session and the window share: the newest frame and its damage, the pointer, the
//! meter, and the wake-ups the session sends the event loop; [`LiveView`] is the session's
//! handle on it.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, PoisonError,
};

use tether_codec::Frame;
use winit::event_loop::EventLoopProxy;

use crate::{
    cursor::RemoteCursor,
    damage::{copy_rects, PendingDamage},
    input::InputFeed,
    meter::LiveMeter,
    AppliedUpdate, CursorObserver, FrameObserver,
};

/// Wake-ups the session sends the window.
#[derive(Debug)]
pub(super) enum ViewEvent {
    /// A newer frame is waiting in [`Shared::latest`].
    Frame,
    /// The session's state changed (e.g. "digits 123 456 · view + control").
    Status(String),
    /// The session is over; the text says how (e.g. "session ended: the agent disconnected").
    Ended(String),
}

/// What the session and the window's event loop share.
pub(super) struct Shared {
    /// The newest picture the session offered.
    pub(super) latest: Mutex<Option<Frame>>,
    /// What changed in `latest` since the window last drew it.
    pub(super) damage: Mutex<PendingDamage>,
    /// Frame rate, traffic and latency for the title.
    pub(super) meter: Mutex<LiveMeter>,
    /// The remote pointer.
    pub(super) cursor: Mutex<RemoteCursor>,
    /// Set while a [`ViewEvent::Frame`] is queued, so a fast session never floods the loop.
    pub(super) wake_pending: AtomicBool,
    /// Wakes the event loop.
    pub(super) proxy: EventLoopProxy<ViewEvent>,
}

/// The session's handle on the window: publish frames, state and the end of the session, and
/// receive the technician's input.
#[derive(Clone)]
pub struct LiveView {
    pub(super) shared: Arc<Shared>,
    pub(super) input: InputFeed,
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
