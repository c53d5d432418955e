//! Replaying the technician's input on this machine's display, off the async runtime.
//!
//! Events from the network are checked twice before they reach the display: the session must
//! have been granted `control` (otherwise they are dropped and counted), and each event must
//! validate against the current screen size. Injection runs on its own thread, behind a bounded
//! queue; when the session ends the thread releases every key and button it still holds.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    thread::JoinHandle,
};

use tether_input::{EnigoInjector, Injector, InputEvent, InvalidInput, ScreenSize, ValidEvent};
use tokio::sync::mpsc;

use crate::screen::InputTarget;

/// Events waiting for the injector; when full, the session's reader waits (backpressure).
const QUEUE: usize = 256;

/// Where input goes for one session.
pub struct InputGate {
    allowed: bool,
    screen: Arc<ScreenSizeCell>,
    /// Where the shared area starts on the display: pointer positions are shifted by it.
    origin: (i32, i32),
    queue: Option<mpsc::Sender<ValidEvent>>,
    injector: Option<JoinHandle<()>>,
    dropped: u64,
}

impl InputGate {
    /// A gate for a session that may (`allowed`) or may not control the screen, injecting into
    /// `target` when there is one.
    pub fn new(allowed: bool, target: Option<InputTarget>, screen: Arc<ScreenSizeCell>) -> Self {
        let origin = target.as_ref().map_or((0, 0), |target| target.origin);
        let (queue, injector) = match (allowed, target) {
            (true, Some(target)) => {
                let (queue, events) = mpsc::channel(QUEUE);
                let injector =
                    std::thread::spawn(move || inject_until_closed(&target.display, events));
                (Some(queue), Some(injector))
            }
            _ => (None, None),
        };
        Self {
            allowed,
            screen,
            origin,
            queue,
            injector,
            dropped: 0,
        }
    }

    /// Hands one event from the viewer to the display, or drops it (counted) when the session
    /// may not control the screen, nothing can be injected, or the event does not fit the
    /// screen.
    pub async fn submit(&mut self, event: InputEvent) {
        if !self.allowed {
            self.drop_event("the session is view-only");
            return;
        }
        let valid = match event
            .validate(self.screen.get())
            .and_then(|valid| on_display(valid, self.origin))
        {
            Ok(valid) => valid,
            Err(reason) => {
                tracing::debug!("input dropped: {reason}");
                self.dropped += 1;
                return;
            }
        };
        let Some(queue) = &self.queue else {
            self.drop_event("this screen takes no input");
            return;
        };
        if queue.send(valid).await.is_err() {
            self.queue = None;
            self.drop_event("the input injector stopped");
        }
    }

    fn drop_event(&mut self, why: &str) {
        if self.dropped == 0 {
            tracing::warn!("input dropped: {why}");
        }
        self.dropped += 1;
    }

    /// Ends injection: the injector releases everything it holds, then stops.
    pub async fn close(mut self) {
        self.queue = None;
        if let Some(injector) = self.injector.take() {
            let _ = tokio::task::spawn_blocking(move || injector.join()).await;
        }
        if self.dropped > 0 {
            tracing::info!(
                dropped = self.dropped,
                "input events dropped in this session"
            );
        }
    }
}

/// Moves a pointer position from the shared area's coordinates to the display's.
fn on_display(valid: ValidEvent, (x0, y0): (i32, i32)) -> Result<ValidEvent, InvalidInput> {
    let &InputEvent::PointerMove { x, y } = valid.event() else {
        return Ok(valid);
    };
    if (x0, y0) == (0, 0) {
        return Ok(valid);
    }
    let shift = |value: u32, by: i32| u32::try_from(i64::from(value) + i64::from(by)).unwrap_or(0);
    let (x, y) = (shift(x, x0), shift(y, y0));
    // Already checked against the shared area; the display is at least that far.
    InputEvent::PointerMove { x, y }.validate(ScreenSize {
        width: x.saturating_add(1),
        height: y.saturating_add(1),
    })
}

/// Runs on the injector thread until the queue closes.
fn inject_until_closed(display: &str, mut events: mpsc::Receiver<ValidEvent>) {
    let mut injector = match EnigoInjector::open(display) {
        Ok(injector) => injector,
        Err(e) => {
            tracing::warn!("input disabled: {e}");
            return;
        }
    };
    while let Some(event) = events.blocking_recv() {
        if let Err(e) = injector.apply(&event) {
            tracing::warn!("input not applied: {e}");
        }
    }
    if let Err(e) = injector.release_all() {
        tracing::warn!("could not release every key at the end of the session: {e}");
    }
}

/// The latest captured screen size, shared between capture and input validation.
#[derive(Debug, Default)]
pub struct ScreenSizeCell(AtomicU64);

impl ScreenSizeCell {
    /// Records the size of the latest capture.
    pub fn set(&self, width: u32, height: u32) {
        self.0.store(
            u64::from(width) << 32 | u64::from(height),
            Ordering::Relaxed,
        );
    }

    /// The size of the latest capture (0×0 before the first).
    pub fn get(&self) -> ScreenSize {
        let packed = self.0.load(Ordering::Relaxed);
        ScreenSize {
            width: (packed >> 32) as u32,
            height: packed as u32,
        }
    }
}
