//! A window with an OpenGL context, through glutin: GLX first (with Mesa's software renderer
//! it presents a 1080p frame in about two thirds of EGL's time here), EGL otherwise, both
//! loaded with dlopen when the window opens, so a viewer that never opens one (`--headless`, `--snapshot`)
//! needs no GL library at all. Mesa's llvmpipe is enough.

use std::{ffi::CStr, num::NonZeroU32, sync::Arc};

use crate::view::Area;
use anyhow::{anyhow, Context as _};
use glutin::{
    config::{ConfigTemplateBuilder, GlConfig},
    context::{ContextApi, ContextAttributesBuilder, NotCurrentGlContext, PossiblyCurrentContext},
    display::{Display, DisplayApiPreference, GlDisplay},
    surface::{GlSurface, Rect, Surface, SwapInterval, WindowSurface},
};
use glutin_winit::{finalize_window, GlWindow as _};
use winit::{
    event_loop::ActiveEventLoop,
    platform::x11::register_xlib_error_hook,
    raw_window_handle::{HasDisplayHandle, HasWindowHandle},
    window::{Window, WindowAttributes},
};

/// A window, its GL surface and a current context on it.
pub(super) struct GlWindow {
    /// The window (dropped last: the surface refers to it).
    pub window: Window,
    surface: Surface<WindowSurface>,
    context: PossiblyCurrentContext,
    /// The GL functions of the context.
    pub gl: Arc<glow::Context>,
}

impl GlWindow {
    /// Opens a window with `attributes` and makes a GL context current on it.
    pub fn open(
        event_loop: &ActiveEventLoop,
        attributes: WindowAttributes,
    ) -> anyhow::Result<Self> {
        // No alpha: the window is opaque, and an X visual without alpha keeps its pixels plain.
        let template = ConfigTemplateBuilder::new()
            .with_alpha_size(0)
            .with_transparency(false);
        let handle = event_loop
            .display_handle()
            .map_err(|e| anyhow!("no native display: {e}"))?
            .as_raw();
        let preference = DisplayApiPreference::GlxThenEgl(Box::new(register_xlib_error_hook));
        // SAFETY: the handle is the event loop's display, which outlives the window.
        let display = unsafe { Display::new(handle, preference) }
            .map_err(|e| anyhow!("no OpenGL on this display ({e})"))?;
        // SAFETY: as above.
        let config = unsafe { display.find_configs(template.build()) }
            .map_err(|e| anyhow!("no usable OpenGL configuration ({e})"))?
            .min_by_key(|config| {
                (
                    config.num_samples(),
                    config.alpha_size(),
                    config.depth_size(),
                    config.stencil_size(),
                )
            })
            .context("no usable OpenGL configuration")?;
        let window = finalize_window(event_loop, attributes, &config)?;
        let raw = window
            .window_handle()
            .map_err(|e| anyhow!("no native window: {e}"))?
            .as_raw();
        let desktop = ContextAttributesBuilder::new().build(Some(raw));
        let embedded = ContextAttributesBuilder::new()
            .with_context_api(ContextApi::Gles(None))
            .build(Some(raw));
        // SAFETY: `raw` is the live window created above for this display.
        let not_current = unsafe {
            display
                .create_context(&config, &desktop)
                .or_else(|_| display.create_context(&config, &embedded))
        }
        .map_err(|e| anyhow!("cannot create an OpenGL context: {e}"))?;
        let surface_attributes = window
            .build_surface_attributes(Default::default())
            .map_err(|e| anyhow!("no native window: {e}"))?;
        // SAFETY: as above; the surface is dropped before the window (field order).
        let surface = unsafe { display.create_window_surface(&config, &surface_attributes) }
            .map_err(|e| anyhow!("cannot draw in the window: {e}"))?;
        let context = not_current
            .make_current(&surface)
            .map_err(|e| anyhow!("cannot use the OpenGL context: {e}"))?;
        // Presenting waits for the display's refresh where it has one (Xvfb has none); only
        // the window's thread waits, never the session.
        if let Err(e) = surface.set_swap_interval(&context, SwapInterval::Wait(NonZeroU32::MIN)) {
            tracing::debug!("no vsync: {e}");
        }
        // SAFETY: the context is current on this thread, and the loader returns its functions.
        let gl = unsafe {
            glow::Context::from_loader_function_cstr(|name: &CStr| display.get_proc_address(name))
        };
        // SAFETY: a string query on the current context.
        let renderer = unsafe { glow::HasContext::get_parameter_string(&gl, glow::RENDERER) };
        tracing::debug!(
            api = ?config.api(),
            version = ?glow::HasContext::version(&gl).vendor_info,
            renderer,
            "OpenGL context ready"
        );
        Ok(Self {
            window,
            surface,
            context,
            gl: Arc::new(gl),
        })
    }

    /// Follows the window's new size.
    pub fn resize(&self, width: u32, height: u32) {
        if let (Some(width), Some(height)) = (NonZeroU32::new(width), NonZeroU32::new(height)) {
            self.surface.resize(&self.context, width, height);
        }
    }

    /// Shows what was drawn: only `damage` changed when given (EGL then presents only that),
    /// in a window `height` pixels high.
    pub fn swap(&self, damage: Option<&[Area]>, height: u32) -> anyhow::Result<()> {
        let swapped = match (damage, &self.surface, &self.context) {
            (Some(damage), Surface::Egl(surface), PossiblyCurrentContext::Egl(context)) => {
                // EGL counts rows from the bottom.
                let rects: Vec<Rect> = damage
                    .iter()
                    .map(|area| {
                        let bottom = height.saturating_sub(area.y + area.height);
                        Rect::new(
                            area.x as i32,
                            bottom as i32,
                            area.width as i32,
                            area.height as i32,
                        )
                    })
                    .collect();
                surface.swap_buffers_with_damage(context, &rects)
            }
            _ => self.surface.swap_buffers(&self.context),
        };
        swapped.map_err(|e| anyhow!("cannot present the frame: {e}"))
    }
}
