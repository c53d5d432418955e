//! The remote picture on the GPU: one texture the size of the remote screen, updated only in
//! the rectangles the decoder changed, and drawn either one to one (each window pixel fetches
//! exactly one remote pixel, so the picture is bit-exact) or scaled to fit by area averaging
//! (each window pixel is the mean of the remote pixels it covers, weighted by how much of each
//! it covers, so text stays readable). The remote pointer is a second, small texture blended
//! over it unscaled.
//!
//! Frames are BGRA in memory; they are uploaded byte for byte into RGBA textures and the
//! shader swaps the channels, which works on OpenGL and OpenGL ES alike.

use std::sync::Arc;

use anyhow::anyhow;
use glow::HasContext;
use tether_codec::{Frame, Rect};
use tether_proto::session::CursorShape;

use crate::view::{Area, View};

/// The letterbox around the picture, as RGB fractions (#202020).
pub(super) const BACKDROP: [f32; 3] = [0.125, 0.125, 0.125];

/// How a texture is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// One texel per pixel, opaque.
    Exact,
    /// The area-weighted mean of the texels a pixel covers.
    AreaAverage,
    /// One premultiplied texel per pixel, blended over what is there.
    Blended,
}

const VERTEX: &str = r#"
// One triangle covering the viewport; the scissor keeps what is drawn.
void main() {
    vec2 corner = vec2(float((gl_VertexID & 1) << 2), float((gl_VertexID & 2) << 1)) - 1.0;
    gl_Position = vec4(corner, 0.0, 1.0);
}
"#;

/// The uniforms both fragment shaders share.
const COMMON: &str = r#"
uniform sampler2D u_texture;
// The texture's size in texels.
uniform vec2 u_size;
// Window position of the texture's top-left corner, and its size there, in pixels.
uniform vec2 u_origin;
uniform vec2 u_shown;
// The window's height, to count rows from the top.
uniform float u_window_height;
out vec4 out_color;

// The window pixel being drawn, counted from the top-left, relative to the texture's corner.
vec2 inside() {
    return floor(vec2(gl_FragCoord.x, u_window_height - gl_FragCoord.y)) - u_origin;
}
"#;

/// One texel per pixel: `u_blend` 0 for the opaque picture, 1 for the premultiplied cursor.
const EXACT: &str = r#"
uniform int u_blend;

void main() {
    vec4 texel = texelFetch(u_texture, ivec2(inside()), 0);
    out_color = u_blend == 0 ? vec4(texel.bgr, 1.0) : texel.bgra;
}
"#;

/// The mean of the texels the pixel's footprint covers, each weighted by how much of it is
/// covered. Along each axis, neighbouring texels are taken in pairs by one bilinear fetch
/// placed between them as their weights say, so a downscale by up to 2 costs four fetches.
const AREA_AVERAGE: &str = r#"
const int MAX_PAIRS = 16;

// The footprint [a, b) along one axis: the pair starting at `texel` has weight `w` and is
// fetched at normalised position `at`.
void pair(float texel, float a, float b, float last, float size, out float w, out float at) {
    float w0 = min(b, texel + 1.0) - max(a, texel);
    float w1 = texel + 1.0 <= last ? min(b, texel + 2.0) - max(a, texel + 1.0) : 0.0;
    w = w0 + w1;
    at = (texel + 0.5 + w1 / w) / size;
}

void main() {
    vec2 scale = u_size / u_shown;
    vec2 a = clamp(inside() * scale, vec2(0.0), u_size);
    vec2 b = clamp((inside() + 1.0) * scale, vec2(0.0), u_size);
    vec2 first = floor(a);
    vec2 last = ceil(b) - 1.0;
    vec3 sum = vec3(0.0);
    float total = 0.0;
    float y = first.y;
    for (int row = 0; row < MAX_PAIRS && y <= last.y; row++, y += 2.0) {
        float wy;
        float ty;
        pair(y, a.y, b.y, last.y, u_size.y, wy, ty);
        float x = first.x;
        for (int column = 0; column < MAX_PAIRS && x <= last.x; column++, x += 2.0) {
            float wx;
            float tx;
            pair(x, a.x, b.x, last.x, u_size.x, wx, tx);
            sum += wx * wy * texture(u_texture, vec2(tx, ty)).bgr;
            total += wx * wy;
        }
    }
    // Past 2 x MAX_PAIRS texels a side (a tiny window) part of the footprint is left out:
    // dividing by the weights taken keeps the brightness right.
    out_color = vec4(sum / total, 1.0);
}
"#;

/// A linked program and its uniforms.
struct Program {
    program: glow::Program,
    size: Option<glow::UniformLocation>,
    origin: Option<glow::UniformLocation>,
    shown: Option<glow::UniformLocation>,
    window_height: Option<glow::UniformLocation>,
    blend: Option<glow::UniformLocation>,
}

impl Program {
    /// Compiles and links the vertex shader with `fragment`.
    fn new(gl: &glow::Context, header: &str, fragment: &str) -> anyhow::Result<Self> {
        // SAFETY: plain GL object creation on the current context.
        unsafe {
            let program = gl
                .create_program()
                .map_err(|e| anyhow!("cannot create a GL program: {e}"))?;
            let mut shaders = Vec::new();
            for (kind, source) in [
                (glow::VERTEX_SHADER, VERTEX.to_owned()),
                (glow::FRAGMENT_SHADER, format!("{COMMON}{fragment}")),
            ] {
                let shader = gl
                    .create_shader(kind)
                    .map_err(|e| anyhow!("cannot create a GL shader: {e}"))?;
                gl.shader_source(shader, &format!("{header}{source}"));
                gl.compile_shader(shader);
                if !gl.get_shader_compile_status(shader) {
                    anyhow::bail!(
                        "the picture shader does not compile: {}",
                        gl.get_shader_info_log(shader)
                    );
                }
                gl.attach_shader(program, shader);
                shaders.push(shader);
            }
            gl.link_program(program);
            if !gl.get_program_link_status(program) {
                anyhow::bail!(
                    "the picture shader does not link: {}",
                    gl.get_program_info_log(program)
                );
            }
            for shader in shaders {
                gl.detach_shader(program, shader);
                gl.delete_shader(shader);
            }
            let uniform = |name: &str| gl.get_uniform_location(program, name);
            Ok(Self {
                program,
                size: uniform("u_size"),
                origin: uniform("u_origin"),
                shown: uniform("u_shown"),
                window_height: uniform("u_window_height"),
                blend: uniform("u_blend"),
            })
        }
    }
}

/// A texture and its size.
struct Texture {
    texture: glow::Texture,
    size: (u32, u32),
}

/// The GL objects that draw the picture and the pointer.
pub(super) struct PictureRenderer {
    exact: Program,
    area_average: Program,
    vertex_array: glow::VertexArray,
    picture: Option<Texture>,
    cursor: Option<(Texture, Arc<CursorShape>)>,
    /// The window's picture area as last drawn (the picture, the pointer and the backdrop,
    /// not the console): kept between frames, so that a frame redraws only what changed in
    /// it, whatever the window system does with its own buffers.
    canvas: Option<Canvas>,
}

/// An off-screen frame buffer the size of the window.
struct Canvas {
    framebuffer: glow::Framebuffer,
    texture: Texture,
}

impl PictureRenderer {
    /// Compiles the shaders.
    pub fn new(gl: &glow::Context) -> anyhow::Result<Self> {
        let header = if gl.version().is_embedded {
            "#version 300 es\nprecision highp float;\nprecision highp int;\n"
        } else {
            "#version 330 core\n"
        };
        let exact = Program::new(gl, header, EXACT)?;
        let area_average = Program::new(gl, header, AREA_AVERAGE)?;
        // SAFETY: plain GL object creation on the current context.
        let vertex_array = unsafe { gl.create_vertex_array() }
            .map_err(|e| anyhow!("cannot create a GL vertex array: {e}"))?;
        Ok(Self {
            exact,
            area_average,
            vertex_array,
            picture: None,
            cursor: None,
            canvas: None,
        })
    }

    /// Makes the canvas, `size` large, the target of the draws that follow. Returns false when
    /// it was just made (its content is undefined: draw it all).
    pub fn target_canvas(&mut self, gl: &glow::Context, size: (u32, u32)) -> anyhow::Result<bool> {
        let kept = self
            .canvas
            .as_ref()
            .is_some_and(|canvas| canvas.texture.size == size);
        if !kept {
            let old = self.canvas.take();
            // SAFETY: deleting objects this renderer created on the current context.
            if let Some(old) = &old {
                unsafe { gl.delete_framebuffer(old.framebuffer) };
            }
            let texture = replace_texture(gl, old.map(|canvas| canvas.texture), size)?;
            // SAFETY: frame buffer creation on the current context, with a texture it owns.
            let framebuffer = unsafe {
                let framebuffer = gl
                    .create_framebuffer()
                    .map_err(|e| anyhow!("cannot create a GL frame buffer: {e}"))?;
                gl.bind_framebuffer(glow::FRAMEBUFFER, Some(framebuffer));
                gl.framebuffer_texture_2d(
                    glow::FRAMEBUFFER,
                    glow::COLOR_ATTACHMENT0,
                    glow::TEXTURE_2D,
                    Some(texture.texture),
                    0,
                );
                if gl.check_framebuffer_status(glow::FRAMEBUFFER) != glow::FRAMEBUFFER_COMPLETE {
                    anyhow::bail!("the GL frame buffer for the picture is incomplete");
                }
                framebuffer
            };
            self.canvas = Some(Canvas {
                framebuffer,
                texture,
            });
        }
        if let Some(canvas) = &self.canvas {
            // SAFETY: binding a frame buffer this renderer owns.
            unsafe {
                gl.bind_framebuffer(glow::FRAMEBUFFER, Some(canvas.framebuffer));
                gl.viewport(0, 0, size.0 as i32, size.1 as i32);
            }
        }
        Ok(kept)
    }

    /// Fills the canvas with the backdrop.
    pub fn clear_canvas(&self, gl: &glow::Context) {
        // SAFETY: clearing the bound frame buffer.
        unsafe {
            gl.disable(glow::SCISSOR_TEST);
            gl.clear_color(BACKDROP[0], BACKDROP[1], BACKDROP[2], 1.0);
            gl.clear(glow::COLOR_BUFFER_BIT);
        }
    }

    /// Copies the canvas into the window's frame buffer, which becomes the draw target.
    pub fn show_canvas(&self, gl: &glow::Context) {
        let Some(canvas) = &self.canvas else {
            return;
        };
        let (width, height) = canvas.texture.size;
        // SAFETY: a same-size copy between frame buffers of the current context.
        unsafe {
            gl.disable(glow::SCISSOR_TEST);
            gl.bind_framebuffer(glow::READ_FRAMEBUFFER, Some(canvas.framebuffer));
            gl.bind_framebuffer(glow::DRAW_FRAMEBUFFER, None);
            gl.blit_framebuffer(
                0,
                0,
                width as i32,
                height as i32,
                0,
                0,
                width as i32,
                height as i32,
                glow::COLOR_BUFFER_BIT,
                glow::NEAREST,
            );
            gl.bind_framebuffer(glow::FRAMEBUFFER, None);
        }
    }

    /// Uploads `rects` of `frame`, or all of it when `rects` is `None` or its size changed.
    pub fn upload(
        &mut self,
        gl: &glow::Context,
        frame: &Frame,
        rects: Option<&[Rect]>,
    ) -> anyhow::Result<()> {
        let size = (frame.width(), frame.height());
        let whole = Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        };
        let rects = match (&self.picture, rects) {
            (Some(picture), Some(rects)) if picture.size == size => rects,
            _ => {
                self.picture = Some(replace_texture(gl, self.picture.take(), size)?);
                std::slice::from_ref(&whole)
            }
        };
        if let Some(picture) = &self.picture {
            upload_rects(gl, picture, frame.pixels(), rects);
        }
        Ok(())
    }

    /// Whether a picture was uploaded.
    pub fn has_picture(&self) -> bool {
        self.picture.is_some()
    }

    /// Draws, within window `region` only, the picture as `view` places it in a window
    /// `window_height` pixels high, then `cursor` over it (its image, at its window position)
    /// when given.
    pub fn draw(
        &mut self,
        gl: &glow::Context,
        view: &View,
        window_height: u32,
        cursor: Option<(i64, i64, &Arc<CursorShape>)>,
        region: Area,
    ) -> anyhow::Result<()> {
        let Some(picture) = &self.picture else {
            return Ok(());
        };
        let sampling = if view.is_one_to_one() {
            Sampling::Exact
        } else {
            Sampling::AreaAverage
        };
        // SAFETY: state changes and a draw on the current context with objects it owns.
        unsafe {
            gl.bind_vertex_array(Some(self.vertex_array));
            gl.active_texture(glow::TEXTURE0);
            gl.disable(glow::DEPTH_TEST);
            gl.disable(glow::CULL_FACE);
            if !gl.version().is_embedded {
                // Pixels go to the window as they are, never re-encoded.
                gl.disable(glow::FRAMEBUFFER_SRGB);
            }
            gl.enable(glow::SCISSOR_TEST);
            gl.disable(glow::BLEND);
            let (x, y) = view.origin();
            self.draw_texture(
                gl,
                picture,
                (x as f32, y as f32),
                view.shown(),
                view.visible().intersect(&region),
                window_height,
                sampling,
            );
        }
        if let Some((x, y, shape)) = cursor {
            self.upload_cursor(gl, shape)?;
            let Some((texture, _)) = &self.cursor else {
                return Ok(());
            };
            let on_screen = cursor_area((x, y), shape)
                .intersect(&view.area())
                .intersect(&region);
            // SAFETY: as above.
            unsafe {
                gl.enable(glow::BLEND);
                gl.blend_equation(glow::FUNC_ADD);
                gl.blend_func(glow::ONE, glow::ONE_MINUS_SRC_ALPHA);
                self.draw_texture(
                    gl,
                    texture,
                    (x as f32, y as f32),
                    texture.size,
                    on_screen,
                    window_height,
                    Sampling::Blended,
                );
                gl.disable(glow::BLEND);
            }
        }
        // SAFETY: as above.
        unsafe {
            gl.disable(glow::SCISSOR_TEST);
            gl.bind_vertex_array(None);
            gl.use_program(None);
        }
        Ok(())
    }

    /// Draws `texture` with its top-left corner at window `origin`, `shown` large, into window
    /// area `clip` only.
    ///
    /// # Safety
    /// The renderer's vertex array must be bound on the current context.
    #[allow(clippy::too_many_arguments)]
    unsafe fn draw_texture(
        &self,
        gl: &glow::Context,
        texture: &Texture,
        origin: (f32, f32),
        shown: (u32, u32),
        clip: Area,
        window_height: u32,
        sampling: Sampling,
    ) {
        if clip.width == 0 || clip.height == 0 {
            return;
        }
        let filter = match sampling {
            Sampling::AreaAverage => glow::LINEAR,
            Sampling::Exact | Sampling::Blended => glow::NEAREST,
        } as i32;
        let program = match sampling {
            Sampling::AreaAverage => &self.area_average,
            Sampling::Exact | Sampling::Blended => &self.exact,
        };
        gl.use_program(Some(program.program));
        gl.bind_texture(glow::TEXTURE_2D, Some(texture.texture));
        gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, filter);
        gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, filter);
        gl.uniform_2_f32(
            program.size.as_ref(),
            texture.size.0 as f32,
            texture.size.1 as f32,
        );
        gl.uniform_2_f32(program.origin.as_ref(), origin.0, origin.1);
        gl.uniform_2_f32(program.shown.as_ref(), shown.0 as f32, shown.1 as f32);
        gl.uniform_1_f32(program.window_height.as_ref(), window_height as f32);
        gl.uniform_1_i32(
            program.blend.as_ref(),
            i32::from(sampling == Sampling::Blended),
        );
        // GL counts rows from the bottom.
        let bottom = window_height.saturating_sub(clip.y + clip.height);
        gl.scissor(
            clip.x as i32,
            bottom as i32,
            clip.width as i32,
            clip.height as i32,
        );
        gl.draw_arrays(glow::TRIANGLES, 0, 3);
    }

    /// Uploads the cursor's image unless it is the one already uploaded.
    fn upload_cursor(
        &mut self,
        gl: &glow::Context,
        shape: &Arc<CursorShape>,
    ) -> anyhow::Result<()> {
        if matches!(&self.cursor, Some((_, uploaded)) if Arc::ptr_eq(uploaded, shape)) {
            return Ok(());
        }
        let size = (u32::from(shape.width), u32::from(shape.height));
        let old = self.cursor.take().map(|(texture, _)| texture);
        let texture = replace_texture(gl, old, size)?;
        let whole = Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        };
        upload_rects(gl, &texture, &shape.pixels, &[whole]);
        self.cursor = Some((texture, shape.clone()));
        Ok(())
    }

    /// Frees the GL objects.
    pub fn destroy(&mut self, gl: &glow::Context) {
        // SAFETY: deleting objects this renderer created on the current context.
        unsafe {
            if let Some(canvas) = &self.canvas {
                gl.delete_framebuffer(canvas.framebuffer);
            }
            for texture in [
                self.picture.take(),
                self.cursor.take().map(|(t, _)| t),
                self.canvas.take().map(|canvas| canvas.texture),
            ]
            .into_iter()
            .flatten()
            {
                gl.delete_texture(texture.texture);
            }
            gl.delete_vertex_array(self.vertex_array);
            gl.delete_program(self.exact.program);
            gl.delete_program(self.area_average.program);
        }
    }
}

/// A `size` texture, reusing `old` when it has that size.
fn replace_texture(
    gl: &glow::Context,
    old: Option<Texture>,
    size: (u32, u32),
) -> anyhow::Result<Texture> {
    if let Some(old) = old {
        if old.size == size {
            return Ok(old);
        }
        // SAFETY: deleting a texture this renderer created.
        unsafe { gl.delete_texture(old.texture) };
    }
    // SAFETY: texture creation and storage on the current context.
    unsafe {
        let texture = gl
            .create_texture()
            .map_err(|e| anyhow!("cannot create a GL texture: {e}"))?;
        gl.bind_texture(glow::TEXTURE_2D, Some(texture));
        for (parameter, value) in [
            (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
            (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
            (glow::TEXTURE_MIN_FILTER, glow::NEAREST),
            (glow::TEXTURE_MAG_FILTER, glow::NEAREST),
        ] {
            gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
        }
        gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAX_LEVEL, 0);
        gl.tex_image_2d(
            glow::TEXTURE_2D,
            0,
            glow::RGBA8 as i32,
            size.0 as i32,
            size.1 as i32,
            0,
            glow::RGBA,
            glow::UNSIGNED_BYTE,
            glow::PixelUnpackData::Slice(None),
        );
        Ok(Texture { texture, size })
    }
}

/// Copies `rects` of `pixels` (4 bytes each, rows as wide as the texture) into `texture`,
/// straight from the rows they are in.
fn upload_rects(gl: &glow::Context, texture: &Texture, pixels: &[u8], rects: &[Rect]) {
    let (width, height) = texture.size;
    // SAFETY: every rectangle is clipped to the texture, and `pixels` holds width x height
    // pixels, so GL reads within the slice.
    unsafe {
        gl.bind_texture(glow::TEXTURE_2D, Some(texture.texture));
        gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
        gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, width as i32);
        for rect in rects {
            let x = rect.x.min(width);
            let y = rect.y.min(height);
            let w = rect.width.min(width - x);
            let h = rect.height.min(height - y);
            if w == 0 || h == 0 {
                continue;
            }
            let start = (y as usize * width as usize + x as usize) * 4;
            let end = ((y + h - 1) as usize * width as usize + (x + w) as usize) * 4;
            let Some(data) = pixels.get(start..end) else {
                continue;
            };
            gl.tex_sub_image_2d(
                glow::TEXTURE_2D,
                0,
                x as i32,
                y as i32,
                w as i32,
                h as i32,
                glow::RGBA,
                glow::UNSIGNED_BYTE,
                glow::PixelUnpackData::Slice(Some(data)),
            );
        }
        gl.pixel_store_i32(glow::UNPACK_ROW_LENGTH, 0);
    }
}

/// The window pixels a cursor image at `origin` covers.
pub(super) fn cursor_area(origin: (i64, i64), shape: &CursorShape) -> Area {
    Area::spanning(
        origin.0,
        origin.1,
        origin.0 + i64::from(shape.width),
        origin.1 + i64::from(shape.height),
    )
}
