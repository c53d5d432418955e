//! The window's event loop side: routing the technician's raw winit input to the remote
//! screen or to the console, and drawing each frame (picture, pointer, console) with OpenGL.
//!
//! Input goes to the remote screen while the session is live with control, the console takes
//! no keyboard input, and the pointer is over the picture rather than over the toolbar or an
//! overlay; console shortcuts (Ctrl+Alt+Shift+key) never go there. Everything else, and the
//! pointer's position always, goes to egui.

use std::{
    collections::HashSet,
    sync::{atomic::Ordering, Arc},
    time::Instant,
};

use tether_codec::Frame;
use winit::{
    application::ApplicationHandler,
    dpi::PhysicalSize,
    event::{ElementState, MouseButton, WindowEvent},
    event_loop::{ActiveEventLoop, ControlFlow},
    keyboard::{ModifiersState, PhysicalKey},
    window::{Window, WindowId},
};

use super::{
    actions::{self, Effect},
    console::Chrome,
    console::{Console, ConsoleInput, ConsoleOutput},
    gl_window::GlWindow,
    live::{lock, Shared, ViewEvent},
    phase::SessionState,
    picture::{cursor_area, PictureRenderer},
    presented::{Decoded, PresentLog},
    ui_layer::UiLayer,
    viewer_window::{WindowReport, WindowSetup},
};
use crate::{
    cursor::{cursor_placement, RemoteCursor},
    damage::{copy_rects, Damage},
    input::InputCapture,
    view::{Area, View, ViewMode},
};

/// What the last frame drew, to tell what the next must draw again.
struct Drawn {
    size: (u32, u32),
    view: Option<View>,
    /// Where the pointer was drawn.
    cursor: Option<Area>,
}

/// Whether the pointer looks different from when it was last drawn.
fn cursor_moved(now: &RemoteCursor, drawn: &RemoteCursor) -> bool {
    let same_shape = match (&now.shape, &drawn.shape) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    !same_shape || (now.x, now.y, now.visible) != (drawn.x, drawn.y, drawn.visible)
}

/// The window and what draws in it, once open.
struct Gpu {
    window: GlWindow,
    ui: UiLayer,
    picture: PictureRenderer,
}

/// The event loop's state.
pub(super) struct App<'a> {
    shared: Arc<Shared>,
    setup: WindowSetup,
    /// Called once the window is open.
    on_open: Option<Box<dyn FnOnce() + 'a>>,
    gpu: Option<Gpu>,
    input: InputCapture,
    /// Fit or one to one.
    mode: ViewMode,
    /// How far a one-to-one view is scrolled.
    scroll: (u32, u32),
    /// The keyboard modifiers held, to recognise the console's shortcuts.
    modifiers: ModifiersState,
    session: SessionState,
    console: Console,
    /// The session's state for the title.
    status: Option<String>,
    /// The window's copy of the newest picture.
    frame: Option<Frame>,
    /// Where the picture goes, from the last layout.
    picture_area: Option<Area>,
    /// Whether an overlay covered the picture at the last layout.
    covered: bool,
    /// Where the toolbar was at the last layout, if shown.
    toolbar: Option<Area>,
    /// The pointer in the window, if it is there.
    pointer: Option<(f64, f64)>,
    /// Buttons pressed on the remote screen, whose release goes there too.
    remote_buttons: HashSet<MouseButton>,
    /// When egui asked to be drawn again.
    ui_due: Option<Instant>,
    /// What the last frame drew.
    drawn: Option<Drawn>,
    /// The pointer as the last frame drew it.
    drawn_cursor: RemoteCursor,
    presented: u64,
    latency: PresentLog,
    error: Option<anyhow::Error>,
}

impl<'a> App<'a> {
    /// A window as `setup` says, not yet open; `on_open` runs once it is.
    pub(super) fn new(
        shared: Arc<Shared>,
        setup: WindowSetup,
        input: InputCapture,
        on_open: impl FnOnce() + 'a,
    ) -> Self {
        Self {
            shared,
            mode: setup.mode,
            console: Console::new(setup.chrome),
            setup,
            on_open: Some(Box::new(on_open)),
            gpu: None,
            input,
            scroll: (0, 0),
            modifiers: ModifiersState::empty(),
            session: SessionState::default(),
            status: None,
            frame: None,
            picture_area: None,
            covered: true,
            toolbar: None,
            pointer: None,
            remote_buttons: HashSet::new(),
            ui_due: None,
            drawn: None,
            drawn_cursor: RemoteCursor::default(),
            presented: 0,
            latency: PresentLog::default(),
            error: None,
        }
    }

    /// After the loop: what the window did, or why it failed.
    pub(super) fn finish(mut self) -> anyhow::Result<WindowReport> {
        if let Some(gpu) = &mut self.gpu {
            gpu.ui.destroy();
            gpu.picture.destroy(&gpu.window.gl);
        }
        match self.error {
            Some(error) => Err(error),
            None => Ok(WindowReport {
                presented: self.presented,
                latency: self.latency,
            }),
        }
    }

    fn open(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let attributes = Window::default_attributes()
            .with_title(self.title())
            .with_inner_size(PhysicalSize::new(self.setup.size.0, self.setup.size.1));
        let window = GlWindow::open(event_loop, attributes)?;
        let ui = UiLayer::new(event_loop, &window.window, window.gl.clone())?;
        let picture = PictureRenderer::new(&window.gl)?;
        self.gpu = Some(Gpu {
            window,
            ui,
            picture,
        });
        Ok(())
    }

    fn title(&self) -> String {
        let live = lock(&self.shared.meter).summary().to_owned();
        let remote = &self.setup.remote;
        match (self.session.end_reason(), &self.status) {
            (Some(reason), _) => format!("Tether · {remote} · {reason}"),
            (None, Some(status)) => {
                format!("Tether · {remote} · {status} · {live}{}", self.mode_tag())
            }
            (None, None) => format!("Tether · {remote} · {live}{}", self.mode_tag()),
        }
    }

    /// " · 1:1" in the title while the view is one to one.
    fn mode_tag(&self) -> &'static str {
        match self.mode {
            ViewMode::Fit => "",
            ViewMode::Actual => " · 1:1",
        }
    }

    /// Takes the newest picture from the session: copies what changed (the session waits only
    /// for that copy), then uploads it. Returns what changed and the updates it contains.
    fn take_picture(&mut self) -> anyhow::Result<(Damage, Vec<Decoded>)> {
        let Some(gpu) = &mut self.gpu else {
            return Ok((Damage::Nothing, Vec::new()));
        };
        let (damage, decoded) = {
            let mut published = lock(&self.shared.published);
            let damage = published.damage.take();
            let decoded = std::mem::take(&mut published.decoded);
            match (&damage, &published.frame, &mut self.frame) {
                (Damage::Nothing, _, _) | (_, None, _) => {}
                (Damage::Rects(rects), Some(newest), Some(kept))
                    if (kept.width(), kept.height()) == (newest.width(), newest.height()) =>
                {
                    copy_rects(kept, newest, rects);
                }
                (_, Some(newest), Some(kept))
                    if (kept.width(), kept.height()) == (newest.width(), newest.height()) =>
                {
                    kept.pixels_mut().copy_from_slice(newest.pixels());
                }
                (_, Some(newest), kept) => *kept = Some(newest.clone()),
            }
            (damage, decoded)
        };
        if let Some(frame) = &self.frame {
            match &damage {
                Damage::Nothing => {}
                Damage::Rects(rects) => gpu.picture.upload(&gpu.window.gl, frame, Some(rects))?,
                Damage::Everything => gpu.picture.upload(&gpu.window.gl, frame, None)?,
            }
        }
        Ok((damage, decoded))
    }

    /// Draws a frame: only what changed when the frame buffer still holds the last one and
    /// nothing but the picture and the pointer moved, everything otherwise.
    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let (damage, decoded) = self.take_picture()?;
        let meter = lock(&self.shared.meter).summary().to_owned();
        let Some(gpu) = &mut self.gpu else {
            return Ok(());
        };
        let size = gpu.window.window.inner_size();
        if size.width == 0 || size.height == 0 {
            return Ok(());
        }
        let input = ConsoleInput {
            session: &self.session,
            remote: &self.setup.remote,
            meter: &meter,
            mode: self.mode,
            has_picture: gpu.picture.has_picture(),
            pointer: self.pointer,
            now: Instant::now(),
        };
        let mut output = ConsoleOutput::default();
        let console = &mut self.console;
        let due = gpu
            .ui
            .run(&gpu.window.window, |ctx| output = console.ui(ctx, &input));
        self.ui_due = due.map(|delay| Instant::now() + delay);
        self.picture_area = Some(output.picture_area);
        self.covered = output.covered;
        self.toolbar = output.toolbar;
        let view = view_of(
            self.mode,
            self.frame.as_ref(),
            self.picture_area,
            self.scroll,
        );
        let cursor = lock(&self.shared.cursor).clone();
        let placed = view
            .as_ref()
            .and_then(|view| cursor_placement(&cursor, view));
        let cursor_area = placed.map(|(x, y, shape)| cursor_area((x, y), shape));
        let drawn = Drawn {
            size: (size.width, size.height),
            view,
            cursor: cursor_area,
        };
        let whole = Area {
            x: 0,
            y: 0,
            width: size.width,
            height: size.height,
        };
        let gl = &gpu.window.gl;
        let kept = gpu.picture.target_canvas(gl, (size.width, size.height))?;
        let unchanged_layout = kept
            && self
                .drawn
                .as_ref()
                .is_some_and(|last| last.size == drawn.size && last.view == drawn.view);
        // What changed in the picture area, or `None` when all of it is drawn again.
        let changed = match (&damage, &view, unchanged_layout) {
            (Damage::Everything, _, _) | (_, None, _) | (_, _, false) => None,
            (Damage::Nothing, Some(_), true) => Some(Vec::new()),
            (Damage::Rects(rects), Some(view), true) => {
                Some(rects.iter().map(|rect| view.area_of(rect)).collect())
            }
        };
        let changed = changed.map(|mut areas: Vec<Area>| {
            let last_cursor = self.drawn.as_ref().and_then(|last| last.cursor);
            if last_cursor != cursor_area || cursor_moved(&cursor, &self.drawn_cursor) {
                areas.extend(last_cursor);
                areas.extend(cursor_area);
            }
            areas.retain(|area| !area.is_empty());
            areas
        });
        match (&changed, &view) {
            (Some(areas), Some(view)) => {
                for area in areas {
                    gpu.picture.draw(gl, view, size.height, placed, *area)?;
                }
            }
            (Some(_), None) => {}
            (None, view) => {
                gpu.picture.clear_canvas(gl);
                if let Some(view) = view {
                    gpu.picture.draw(gl, view, size.height, placed, whole)?;
                }
            }
        }
        let ui_still = !gpu.ui.changed() && !gpu.ui.floating();
        // Nothing on screen would change: no frame.
        let unchanged = ui_still && changed.as_ref().is_some_and(Vec::is_empty);
        if !unchanged {
            gpu.picture.show_canvas(gl);
            gpu.ui.paint([size.width, size.height]);
            let damage = changed.as_deref().filter(|_| ui_still);
            gpu.window.swap(damage, size.height)?;
            self.presented += 1;
        }
        self.latency.record(&decoded, Instant::now());
        self.drawn = Some(drawn);
        self.drawn_cursor = cursor;
        for effect in output.clicked {
            self.perform(effect, event_loop);
        }
        Ok(())
    }

    /// The current mapping, once a picture and its area are known.
    fn view(&self) -> Option<View> {
        view_of(
            self.mode,
            self.frame.as_ref(),
            self.picture_area,
            self.scroll,
        )
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: anyhow::Error) {
        self.error = Some(error);
        event_loop.exit();
    }

    /// Does what an action says.
    fn perform(&mut self, effect: Effect, event_loop: &ActiveEventLoop) {
        match effect {
            Effect::ToggleView => {
                self.mode = self.mode.toggled();
                self.set_title();
            }
            Effect::ToggleToolbar => self.console.toggle_toolbar(),
            Effect::SendKeys(keys) => {
                if self.session.controls() {
                    self.input.send_chord(keys);
                }
            }
            Effect::EndSession => event_loop.exit(),
        }
        self.request_redraw();
    }

    /// The console action `event` triggers, and whether it is the press: Ctrl+Alt+Shift with
    /// an action's key, press or release, never forwarded.
    fn shortcut(&self, event: &WindowEvent) -> Option<(Effect, bool)> {
        let WindowEvent::KeyboardInput { event, .. } = event else {
            return None;
        };
        let chord = ModifiersState::CONTROL | ModifiersState::ALT | ModifiersState::SHIFT;
        let PhysicalKey::Code(code) = event.physical_key else {
            return None;
        };
        if self.setup.chrome == Chrome::Bare && code != winit::keyboard::KeyCode::KeyS {
            return None;
        }
        let action = actions::by_shortcut(code).filter(|_| self.modifiers.contains(chord))?;
        Some((action.effect, event.state.is_pressed() && !event.repeat))
    }

    /// Whether `event` goes to the remote screen.
    fn for_remote(&self, event: &WindowEvent) -> bool {
        let Some(gpu) = &self.gpu else {
            return false;
        };
        let controls = self.session.controls();
        match event {
            WindowEvent::KeyboardInput { .. } | WindowEvent::Ime(_) => {
                controls && !gpu.ui.ctx.wants_keyboard_input()
            }
            WindowEvent::MouseInput {
                state: ElementState::Released,
                button,
                ..
            } => self.remote_buttons.contains(button),
            WindowEvent::CursorMoved { .. }
            | WindowEvent::MouseInput { .. }
            | WindowEvent::MouseWheel { .. } => controls && self.pointer_on_picture(),
            _ => false,
        }
    }

    /// Whether the pointer is over the picture area and no part of the console (the toolbar,
    /// an overlay, a menu or a tooltip).
    fn pointer_on_picture(&self) -> bool {
        let (Some((x, y)), Some(area), Some(gpu)) = (self.pointer, self.picture_area, &self.gpu)
        else {
            return false;
        };
        let ppp = gpu.ui.ctx.pixels_per_point();
        let point = egui::pos2(x as f32 / ppp, y as f32 / ppp);
        // egui's background layer spans the whole window: only what floats above it counts.
        let floating = gpu
            .ui
            .ctx
            .layer_id_at(point)
            .is_some_and(|layer| layer.order != egui::Order::Background);
        !self.covered
            && area.contains(x, y)
            && !self.toolbar.is_some_and(|toolbar| toolbar.contains(x, y))
            && !floating
    }

    /// Scrolls a one-to-one view when the pointer nears an edge of the picture, and tells the
    /// remote where the pointer now is.
    fn pan(&mut self) {
        let (Some(view), Some(pointer)) = (self.view(), self.pointer) else {
            return;
        };
        if !self.pointer_on_picture() {
            return;
        }
        if let Some(scroll) = view.panned(pointer) {
            self.scroll = scroll;
            if let (Some(view), true) = (self.view(), self.session.controls()) {
                self.input.move_pointer(&view);
            }
            self.request_redraw();
        }
    }

    fn request_redraw(&self) {
        if let Some(gpu) = &self.gpu {
            gpu.window.window.request_redraw();
        }
    }

    fn set_title(&self) {
        if let Some(gpu) = &self.gpu {
            gpu.window.window.set_title(&self.title());
        }
    }
}

/// How `frame` shows in `area`, once both are known.
fn view_of(
    mode: ViewMode,
    frame: Option<&Frame>,
    area: Option<Area>,
    scroll: (u32, u32),
) -> Option<View> {
    let frame = frame?;
    Some(View::new(
        mode,
        (frame.width(), frame.height()),
        area?,
        scroll,
    ))
}

impl ApplicationHandler<ViewEvent> for App<'_> {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gpu.is_some() {
            return;
        }
        match self.open(event_loop) {
            Ok(()) => {
                if let Some(on_open) = self.on_open.take() {
                    on_open();
                }
            }
            Err(e) => self.fail(event_loop, e),
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        if let WindowEvent::ModifiersChanged(modifiers) = &event {
            self.modifiers = modifiers.state();
        }
        match &event {
            WindowEvent::CursorMoved { position, .. } => {
                self.pointer = Some((position.x, position.y));
                // Wherever it goes: a click on the picture lands where the pointer is.
                self.input.pointer_moved(*position);
            }
            WindowEvent::CursorLeft { .. } => self.pointer = None,
            _ => {}
        }
        if let Some((effect, pressed)) = self.shortcut(&event) {
            if pressed {
                self.perform(effect, event_loop);
            }
            return;
        }
        let for_remote = self.for_remote(&event);
        if for_remote {
            let view = self.view();
            self.input.handle(&event, view.as_ref());
            if let WindowEvent::MouseInput { state, button, .. } = &event {
                match state {
                    ElementState::Pressed => self.remote_buttons.insert(*button),
                    ElementState::Released => self.remote_buttons.remove(button),
                };
            }
        }
        // egui follows the pointer everywhere (to know what it hovers), and gets the rest of
        // what the remote screen does not.
        let for_ui = match event {
            // Drawing is what a redraw does, not something for egui to react to (it would ask
            // for another, for ever).
            WindowEvent::RedrawRequested => false,
            WindowEvent::CursorMoved { .. } | WindowEvent::CursorLeft { .. } => true,
            _ => !for_remote,
        };
        if let (true, Some(gpu)) = (for_ui, &mut self.gpu) {
            if gpu.ui.on_event(&gpu.window.window, &event) {
                gpu.window.window.request_redraw();
            }
        }
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw(event_loop) {
                    self.fail(event_loop, e);
                }
            }
            WindowEvent::Resized(size) => {
                if let Some(gpu) = &self.gpu {
                    gpu.window.resize(size.width, size.height);
                }
                self.request_redraw();
            }
            WindowEvent::CursorMoved { .. } => self.pan(),
            WindowEvent::Focused(false) => {
                self.remote_buttons.clear();
            }
            _ => {}
        }
    }

    fn user_event(&mut self, _: &ActiveEventLoop, event: ViewEvent) {
        match event {
            ViewEvent::Frame => {
                self.shared.wake_pending.store(false, Ordering::Release);
                if lock(&self.shared.meter).tick(Instant::now()) {
                    self.set_title();
                }
            }
            ViewEvent::Status(status) => {
                self.status = Some(status);
                self.set_title();
            }
            ViewEvent::Progress(event) => {
                let controlled = self.session.controls();
                self.session.apply(event);
                if controlled && !self.session.controls() {
                    self.input.release_all();
                }
            }
            ViewEvent::Ended(end) => {
                self.session.end(end);
                self.set_title();
            }
        }
        self.request_redraw();
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        match self.ui_due {
            Some(due) if due <= Instant::now() => {
                self.ui_due = None;
                self.request_redraw();
                event_loop.set_control_flow(ControlFlow::Wait);
            }
            Some(due) => event_loop.set_control_flow(ControlFlow::WaitUntil(due)),
            None => event_loop.set_control_flow(ControlFlow::Wait),
        }
    }
}
