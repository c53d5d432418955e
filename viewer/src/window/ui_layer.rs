//! egui on the window: winit events in (only those the console routes to it), shapes painted
//! with OpenGL over the remote picture.

use std::{sync::Arc, time::Duration};

use egui::{ViewportId, ViewportOutput};
use winit::{event::WindowEvent, event_loop::ActiveEventLoop, window::Window};

/// egui's state, its winit input and its GL painter.
pub(super) struct UiLayer {
    pub ctx: egui::Context,
    input: egui_winit::State,
    painter: egui_glow::Painter,
    /// What the last run produced, to paint.
    shapes: Vec<egui::epaint::ClippedShape>,
    /// What the run before produced, to tell whether anything changed.
    painted: Vec<egui::epaint::ClippedShape>,
    pixels_per_point: f32,
    textures: egui::TexturesDelta,
}

impl UiLayer {
    /// egui on `window`, painting with `gl`.
    pub fn new(
        event_loop: &ActiveEventLoop,
        window: &Window,
        gl: Arc<glow::Context>,
    ) -> anyhow::Result<Self> {
        let painter = egui_glow::Painter::new(gl, "", None, false)
            .map_err(|e| anyhow::anyhow!("cannot draw the console: {e}"))?;
        let ctx = egui::Context::default();
        ctx.set_visuals(egui::Visuals::dark());
        let input = egui_winit::State::new(
            ctx.clone(),
            ViewportId::ROOT,
            event_loop,
            Some(window.scale_factor() as f32),
            None,
            Some(painter.max_texture_side()),
        );
        Ok(Self {
            ctx,
            input,
            painter,
            shapes: Vec::new(),
            painted: Vec::new(),
            pixels_per_point: window.scale_factor() as f32,
            textures: egui::TexturesDelta::default(),
        })
    }

    /// Passes `event` to egui; true when egui wants to be drawn again.
    pub fn on_event(&mut self, window: &Window, event: &WindowEvent) -> bool {
        self.input.on_window_event(window, event).repaint
    }

    /// Lays the console out with `ui`; returns when egui next wants to be drawn, if it does.
    /// [`UiLayer::changed`] then tells whether it looks any different.
    pub fn run(&mut self, window: &Window, ui: impl FnMut(&egui::Context)) -> Option<Duration> {
        let raw = self.input.take_egui_input(window);
        let output = self.ctx.run(raw, ui);
        self.input
            .handle_platform_output(window, output.platform_output);
        self.painted = std::mem::replace(&mut self.shapes, output.shapes);
        self.pixels_per_point = output.pixels_per_point;
        self.textures.append(output.textures_delta);
        let repaint = output
            .viewport_output
            .get(&ViewportId::ROOT)
            .map(|ViewportOutput { repaint_delay, .. }| *repaint_delay);
        repaint.filter(|delay| *delay != Duration::MAX)
    }

    /// Whether the last run laid out anything different from the run before.
    pub fn changed(&self) -> bool {
        self.shapes != self.painted || !self.textures.is_empty()
    }

    /// Whether anything floats over the picture (an overlay, a menu, a tooltip): drawn with
    /// shadows and translucency, it must be painted over a freshly drawn picture.
    pub fn floating(&self) -> bool {
        self.ctx.memory(|memory| {
            memory
                .areas()
                .visible_layer_ids()
                .iter()
                .any(|layer| layer.order != egui::Order::Background)
        })
    }

    /// Paints what the last run laid out over what is in the frame buffer, `size` pixels.
    pub fn paint(&mut self, size: [u32; 2]) {
        let textures = std::mem::take(&mut self.textures);
        for (id, delta) in &textures.set {
            self.painter.set_texture(*id, delta);
        }
        let primitives = self
            .ctx
            .tessellate(self.shapes.clone(), self.pixels_per_point);
        self.painter
            .paint_primitives(size, self.pixels_per_point, &primitives);
        for id in textures.free {
            self.painter.free_texture(id);
        }
    }

    /// Frees the GL objects.
    pub fn destroy(&mut self) {
        self.painter.destroy();
    }
}
