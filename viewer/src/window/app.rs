//! The window's event loop side: drawing the picture and the cursor, the title, the view
//! mode, and passing the technician's input on.

use std::{
    num::NonZeroU32,
    rc::Rc,
    sync::{atomic::Ordering, Arc, PoisonError},
    time::Instant,
};

use winit::{
    application::ApplicationHandler,
    dpi::PhysicalSize,
    event::WindowEvent,
    event_loop::ActiveEventLoop,
    keyboard::{KeyCode, ModifiersState, PhysicalKey},
    window::{Window, WindowId},
};

use super::live::{Shared, ViewEvent};
use crate::{
    cursor::{cursor_area, draw_cursor},
    input::InputCapture,
    view::{Area, View, ViewMode},
};

type Surface = softbuffer::Surface<Rc<Window>, Rc<Window>>;

/// The event loop's state.
pub(super) struct App {
    shared: Arc<Shared>,
    remote: String,
    size: (u32, u32),
    surface: Option<(Rc<Window>, Surface)>,
    input: InputCapture,
    /// Fit or one to one.
    mode: ViewMode,
    /// How far a one-to-one view is scrolled.
    scroll: (u32, u32),
    /// The keyboard modifiers held, to recognise the view hotkey.
    modifiers: ModifiersState,
    /// The remote screen's size as last drawn, to map the pointer.
    frame_size: Option<(u32, u32)>,
    /// The mapping of the last draw.
    drawn_view: Option<View>,
    /// Where the cursor was drawn last, to redraw the picture under it when it moves.
    cursor_drawn: Option<Area>,
    status: Option<String>,
    ended: Option<String>,
    presented: u64,
    error: Option<anyhow::Error>,
}

impl App {
    /// A window titled after `remote`, `size` large, in view `mode`, not yet open.
    pub(super) fn new(
        shared: Arc<Shared>,
        remote: String,
        size: (u32, u32),
        input: InputCapture,
        mode: ViewMode,
    ) -> Self {
        Self {
            shared,
            remote,
            size,
            surface: None,
            input,
            mode,
            scroll: (0, 0),
            modifiers: ModifiersState::empty(),
            frame_size: None,
            drawn_view: None,
            cursor_drawn: None,
            status: None,
            ended: None,
            presented: 0,
            error: None,
        }
    }

    /// After the loop: the frames presented, or why the window failed.
    pub(super) fn finish(self) -> anyhow::Result<u64> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.presented),
        }
    }

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
            (None, Some(status)) => {
                format!(
                    "Tether · {} · {status} · {live}{}",
                    self.remote,
                    self.mode_tag()
                )
            }
            (None, None) => format!("Tether · {} · {live}{}", self.remote, self.mode_tag()),
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
        let view = View::new(self.mode, frame_size, window, self.scroll);
        let cursor = self
            .shared
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let cursor_now = cursor_area(&cursor, &view);
        // Only what changed is redrawn when the buffer still holds the last present at the
        // same sizes; anything else (a resize, a new frame size, an expose) redraws it all.
        let unchanged_geometry = buffer.age() == 1 && self.drawn_view == Some(view);
        let areas = match pending {
            Some(rects) if unchanged_geometry => {
                let mut areas: Vec<Area> = rects.iter().map(|rect| view.area_of(rect)).collect();
                areas.extend(self.cursor_drawn.take());
                areas.extend(cursor_now);
                for area in &areas {
                    view.blit(frame, &mut buffer, *area);
                }
                Some(areas)
            }
            _ => {
                view.blit(frame, &mut buffer, view.window_area());
                None
            }
        };
        draw_cursor(&cursor, &mut buffer, window.0, &view);
        self.frame_size = Some(frame_size);
        self.drawn_view = Some(view);
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
        if let WindowEvent::ModifiersChanged(modifiers) = &event {
            self.modifiers = modifiers.state();
        }
        if let Some(pressed) = self.view_hotkey(&event) {
            if pressed {
                self.mode = match self.mode {
                    ViewMode::Fit => ViewMode::Actual,
                    ViewMode::Actual => ViewMode::Fit,
                };
                self.set_title();
                self.request_redraw();
            }
            return;
        }
        if self.ended.is_none() {
            let view = self.view();
            self.input.handle(&event, view.as_ref());
            if let (WindowEvent::CursorMoved { position, .. }, Some(view)) = (&event, view) {
                self.pan(view, (position.x, position.y));
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
    /// " · 1:1" in the title while the view is one to one.
    fn mode_tag(&self) -> &'static str {
        match self.mode {
            ViewMode::Fit => "",
            ViewMode::Actual => " · 1:1",
        }
    }

    /// The current mapping, once a picture was drawn.
    fn view(&self) -> Option<View> {
        let (window, _) = self.surface.as_ref()?;
        let size = window.inner_size();
        Some(View::new(
            self.mode,
            self.frame_size?,
            (size.width, size.height),
            self.scroll,
        ))
    }

    /// Whether `event` is the S of Ctrl+Alt+Shift+S (and whether pressed): the view hotkey,
    /// which switches the view and is not sent to the remote, press or release.
    fn view_hotkey(&self, event: &WindowEvent) -> Option<bool> {
        let WindowEvent::KeyboardInput { event, .. } = event else {
            return None;
        };
        let chord = ModifiersState::CONTROL | ModifiersState::ALT | ModifiersState::SHIFT;
        (self.modifiers.contains(chord) && event.physical_key == PhysicalKey::Code(KeyCode::KeyS))
            .then(|| event.state.is_pressed())
    }

    /// Scrolls a one-to-one view when the pointer nears a window edge, and tells the remote
    /// where the pointer now is.
    fn pan(&mut self, view: View, pointer: (f64, f64)) {
        if let Some(scroll) = view.panned(pointer) {
            self.scroll = scroll;
            if let Some(view) = self.view() {
                self.input.move_pointer(&view);
            }
            self.request_redraw();
        }
    }

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
