//! The viewer window: the remote framebuffer scaled to fit, the session's state and live frame
//! rate in the title, the technician's mouse and keyboard forwarded, and a clear "session
//! ended" state. winit runs the event loop on the main thread; the session runs on the tokio
//! runtime and exchanges frames and input with it through a [`LiveView`].

use std::{
    num::NonZeroU32,
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Instant,
};

use anyhow::Context;
use tether_codec::Frame;
use winit::{
    application::ApplicationHandler,
    dpi::PhysicalSize,
    event::WindowEvent,
    event_loop::{ActiveEventLoop, EventLoop, EventLoopProxy},
    window::{Window, WindowId},
};

use crate::{
    cursor::{cursor_area, draw_cursor, RemoteCursor},
    damage::{copy_rects, PendingDamage},
    input::{input_channel, InputCapture, InputFeed},
    meter::LiveMeter,
    scale::{blit_fit, blit_fit_area, fit, Area},
    AppliedUpdate, CursorObserver, FrameObserver,
};

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

    /// Shows the window titled after `remote` until the user closes it.
    pub fn run(self, remote: String, size: (u32, u32)) -> anyhow::Result<WindowReport> {
        let mut app = App {
            shared: self.shared,
            remote,
            size,
            surface: None,
            input: self.input,
            frame_size: None,
            drawn_window: None,
            cursor_drawn: None,
            status: None,
            ended: None,
            presented: 0,
            error: None,
        };
        self.event_loop.run_app(&mut app)?;
        match app.error {
            Some(error) => Err(error),
            None => Ok(WindowReport {
                presented: app.presented,
            }),
        }
    }
}

type Surface = softbuffer::Surface<Rc<Window>, Rc<Window>>;

struct App {
    shared: Arc<Shared>,
    remote: String,
    size: (u32, u32),
    surface: Option<(Rc<Window>, Surface)>,
    input: InputCapture,
    /// The remote screen's size as last drawn, to map the pointer.
    frame_size: Option<(u32, u32)>,
    /// The window's size at the last draw.
    drawn_window: Option<(u32, u32)>,
    /// Where the cursor was drawn last, to redraw the picture under it when it moves.
    cursor_drawn: Option<Area>,
    status: Option<String>,
    ended: Option<String>,
    presented: u64,
    error: Option<anyhow::Error>,
}

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let attributes = Window::default_attributes()
            .with_title(self.title())
            .with_inner_size(PhysicalSize::new(self.size.0, self.size.1));
        let window = Rc::new(event_loop.create_window(attributes)?);
        let context = softbuffer::Context::new(window.clone())
            .map_err(|e| anyhow::anyhow!("cannot draw on the display: {e}"))?;
        let surface = Surface::new(&context, window.clone())
            .map_err(|e| anyhow::anyhow!("cannot draw in the window: {e}"))?;
        self.surface = Some((window, surface));
        Ok(())
    }

    fn title(&self) -> String {
        let meter = self
            .shared
            .meter
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let live = meter.summary();
        match (&self.ended, &self.status) {
            (Some(reason), _) => format!("Tether · {} · {reason}", self.remote),
            (None, Some(status)) => format!("Tether · {} · {status} · {live}", self.remote),
            (None, None) => format!("Tether · {} · {live}", self.remote),
        }
    }

    fn redraw(&mut self) -> anyhow::Result<()> {
        let Some((window, surface)) = self.surface.as_mut() else {
            return Ok(());
        };
        let size = window.inner_size();
        let (Some(width), Some(height)) =
            (NonZeroU32::new(size.width), NonZeroU32::new(size.height))
        else {
            return Ok(());
        };
        surface
            .resize(width, height)
            .map_err(|e| anyhow::anyhow!("cannot resize the drawing surface: {e}"))?;
        let mut buffer = surface
            .buffer_mut()
            .map_err(|e| anyhow::anyhow!("cannot get the drawing buffer: {e}"))?;
        let latest = self
            .shared
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = self
            .shared
            .damage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(frame) = latest.as_ref() else {
            buffer.fill(0);
            return present(buffer, None).map(|()| self.presented += 1);
        };
        let window = (size.width, size.height);
        let frame_size = (frame.width(), frame.height());
        let place = fit(frame_size.0, frame_size.1, window.0, window.1);
        let cursor = self
            .shared
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let cursor_now = cursor_area(&cursor, place, frame_size);
        // Only what changed is redrawn when the buffer still holds the last present at the
        // same sizes; anything else (a resize, a new frame size, an expose) redraws it all.
        let unchanged_geometry = buffer.age() == 1
            && self.frame_size == Some(frame_size)
            && self.drawn_window == Some(window);
        let areas = match pending {
            Some(rects) if unchanged_geometry => {
                let mut areas: Vec<Area> = rects
                    .iter()
                    .map(|rect| place.area_of(rect, frame_size.0, frame_size.1))
                    .collect();
                areas.extend(self.cursor_drawn.take());
                areas.extend(cursor_now);
                for area in &areas {
                    blit_fit_area(frame, &mut buffer, window.0, window.1, *area);
                }
                Some(areas)
            }
            _ => {
                blit_fit(frame, &mut buffer, window.0, window.1);
                None
            }
        };
        draw_cursor(&cursor, &mut buffer, window.0, place, frame_size);
        self.frame_size = Some(frame_size);
        self.drawn_window = Some(window);
        self.cursor_drawn = cursor_now;
        present(buffer, areas.as_deref()).map(|()| self.presented += 1)
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: anyhow::Error) {
        self.error = Some(error);
        event_loop.exit();
    }
}

impl ApplicationHandler<ViewEvent> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.surface.is_none() {
            if let Err(e) = self.open(event_loop) {
                self.fail(event_loop, e);
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        if self.ended.is_none() {
            if let Some((window, _)) = &self.surface {
                let size = window.inner_size();
                self.input
                    .handle(&event, self.frame_size, (size.width, size.height));
            }
        }
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw() {
                    self.fail(event_loop, e);
                }
            }
            WindowEvent::Resized(_) => self.request_redraw(),
            _ => {}
        }
    }

    fn user_event(&mut self, _: &ActiveEventLoop, event: ViewEvent) {
        match event {
            ViewEvent::Frame => {
                self.shared.wake_pending.store(false, Ordering::Release);
                let ticked = self
                    .shared
                    .meter
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .tick(Instant::now());
                if ticked {
                    self.set_title();
                }
                self.request_redraw();
            }
            ViewEvent::Status(status) => {
                self.status = Some(status);
                self.set_title();
            }
            ViewEvent::Ended(reason) => {
                self.ended = Some(reason);
                self.set_title();
                self.request_redraw();
            }
        }
    }
}

impl App {
    fn request_redraw(&self) {
        if let Some((window, _)) = &self.surface {
            window.request_redraw();
        }
    }

    fn set_title(&self) {
        if let Some((window, _)) = &self.surface {
            window.set_title(&self.title());
        }
    }
}

/// Shows the buffer: only `areas` of it when given, all of it otherwise.
fn present(
    buffer: softbuffer::Buffer<'_, Rc<Window>, Rc<Window>>,
    areas: Option<&[Area]>,
) -> anyhow::Result<()> {
    let result = match areas {
        Some(areas) => {
            let rects: Vec<softbuffer::Rect> = areas
                .iter()
                .filter_map(|area| {
                    Some(softbuffer::Rect {
                        x: area.x,
                        y: area.y,
                        width: NonZeroU32::new(area.width)?,
                        height: NonZeroU32::new(area.height)?,
                    })
                })
                .collect();
            buffer.present_with_damage(&rects)
        }
        None => buffer.present(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot present the frame: {e}"))
}
