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

/// How the fragment shader reads its texture.
#[derive(Clone, Copy)]
enum Sampling {
    /// One texel per pixel, opaque.
    Exact = 0,
    /// The area-weighted mean of the texels a pixel covers.
    AreaAverage = 1,
    /// One premultiplied texel per pixel, blended over what is there.
    Blended = 2,
}

const VERTEX: &str = r#"
// One triangle covering the viewport; the scissor keeps what is drawn.
void main() {
    vec2 corner = vec2(float((gl_VertexID & 1) << 2), float((gl_VertexID & 2) << 1)) - 1.0;
    gl_Position = vec4(corner, 0.0, 1.0);
}
"#;

const FRAGMENT: &str = r#"
uniform sampler2D u_texture;
// The texture's size in texels.
uniform vec2 u_size;
// Window position of the texture's top-left corner, and its size there, in pixels.
uniform vec2 u_origin;
uniform vec2 u_shown;
// The window's height, to count rows from the top.
uniform float u_window_height;
uniform int u_sampling;
out vec4 out_color;

const int MAX_TAPS = 16;

// The texels along one axis that the window pixel's footprint [a, b) covers, merged in pairs:
// one bilinear fetch between two neighbours weighs them as the pair's weights say. Returns the
// fetch positions (normalised) and weights (summing to 1).
int taps(float a, float b, float size, out float position[MAX_TAPS], out float weight[MAX_TAPS]) {
    int first = int(floor(a));
    int last = int(ceil(b)) - 1;
    float scale = 1.0 / (b - a);
    int count = 0;
    for (int texel = first; texel <= last && count < MAX_TAPS; texel += 2) {
        float t = float(texel);
        float w0 = (min(b, t + 1.0) - max(a, t)) * scale;
        float w1 = texel + 1 <= last ? (min(b, t + 2.0) - max(a, t + 1.0)) * scale : 0.0;
        float w = w0 + w1;
        position[count] = (t + 0.5 + w1 / w) / size;
        weight[count] = w;
        count += 1;
    }
    return count;
}

void main() {
    vec2 pixel = floor(vec2(gl_FragCoord.x, u_window_height - gl_FragCoord.y));
    vec2 inside = pixel - u_origin;
    if (u_sampling != 1) {
        vec4 texel = texelFetch(u_texture, ivec2(inside), 0);
        out_color = u_sampling == 0 ? vec4(texel.bgr, 1.0) : texel.bgra;
        return;
    }
    vec2 scale = u_size / u_shown;
    vec2 a = clamp(inside * scale, vec2(0.0), u_size);
    vec2 b = clamp((inside + 1.0) * scale, vec2(0.0), u_size);
    float xs[MAX_TAPS];
    float xw[MAX_TAPS];
    float ys[MAX_TAPS];
    float yw[MAX_TAPS];
    int columns = taps(a.x, b.x, u_size.x, xs, xw);
    int rows = taps(a.y, b.y, u_size.y, ys, yw);
    // Past 2 x MAX_TAPS texels a side (a tiny window), the taps cover only part of the
    // footprint: dividing by the weights taken keeps the brightness right.
    vec3 sum = vec3(0.0);
    float total = 0.0;
    for (int row = 0; row < rows; row++) {
        for (int column = 0; column < columns; column++) {
            float w = xw[column] * yw[row];
            sum += w * texture(u_texture, vec2(xs[column], ys[row])).bgr;
            total += w;
        }
    }
    out_color = vec4(sum / total, 1.0);
}
"#;

/// A texture and its size.
struct Texture {
    texture: glow::Texture,
    size: (u32, u32),
}

/// The GL objects that draw the picture and the pointer.
pub(super) struct PictureRenderer {
    program: glow::Program,
    vertex_array: glow::VertexArray,
    picture: Option<Texture>,
    cursor: Option<(Texture, Arc<CursorShape>)>,
    uniforms: Uniforms,
}

struct Uniforms {
    size: Option<glow::UniformLocation>,
    origin: Option<glow::UniformLocation>,
    shown: Option<glow::UniformLocation>,
    window_height: Option<glow::UniformLocation>,
    sampling: Option<glow::UniformLocation>,
}

impl PictureRenderer {
    /// Compiles the shaders.
    pub fn new(gl: &glow::Context) -> anyhow::Result<Self> {
        let header = if gl.version().is_embedded {
            "#version 300 es\nprecision highp float;\nprecision highp int;\n"
        } else {
            "#version 330 core\n"
        };
        // SAFETY: plain GL object creation on the current context.
        unsafe {
            let program = gl
                .create_program()
                .map_err(|e| anyhow!("cannot create a GL program: {e}"))?;
            let mut shaders = Vec::new();
            for (kind, source) in [
                (glow::VERTEX_SHADER, VERTEX),
                (glow::FRAGMENT_SHADER, FRAGMENT),
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
            let vertex_array = gl
                .create_vertex_array()
                .map_err(|e| anyhow!("cannot create a GL vertex array: {e}"))?;
            let uniform = |name: &str| gl.get_uniform_location(program, name);
            let uniforms = Uniforms {
                size: uniform("u_size"),
                origin: uniform("u_origin"),
                shown: uniform("u_shown"),
                window_height: uniform("u_window_height"),
                sampling: uniform("u_sampling"),
            };
            Ok(Self {
                program,
                vertex_array,
                picture: None,
                cursor: None,
                uniforms,
            })
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

    /// Draws the picture as `view` places it, in a window `window_height` pixels high, then
    /// `cursor` over it (its image, at its window position) when given.
    pub fn draw(
        &mut self,
        gl: &glow::Context,
        view: &View,
        window_height: u32,
        cursor: Option<(i64, i64, &Arc<CursorShape>)>,
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
            gl.use_program(Some(self.program));
            gl.bind_vertex_array(Some(self.vertex_array));
            gl.active_texture(glow::TEXTURE0);
            gl.disable(glow::DEPTH_TEST);
            gl.disable(glow::CULL_FACE);
            if !gl.version().is_embedded {
                // Pixels go to the window as they are, never re-encoded.
                gl.disable(glow::FRAMEBUFFER_SRGB);
            }
            gl.uniform_1_f32(self.uniforms.window_height.as_ref(), window_height as f32);
            gl.enable(glow::SCISSOR_TEST);
            gl.disable(glow::BLEND);
            let (x, y) = view.origin();
            self.draw_texture(
                gl,
                picture,
                (x as f32, y as f32),
                view.shown(),
                view.visible(),
                window_height,
                sampling,
            );
        }
        if let Some((x, y, shape)) = cursor {
            self.upload_cursor(gl, shape)?;
            let Some((texture, _)) = &self.cursor else {
                return Ok(());
            };
            let area = Area {
                x: 0,
                y: 0,
                width: u32::from(shape.width),
                height: u32::from(shape.height),
            };
            let on_screen = clip(
                view.area(),
                (x, y),
                (i64::from(area.width), i64::from(area.height)),
            );
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
    /// The renderer's program and vertex array must be bound on the current context.
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
        gl.bind_texture(glow::TEXTURE_2D, Some(texture.texture));
        gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, filter);
        gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, filter);
        let u = &self.uniforms;
        gl.uniform_2_f32(
            u.size.as_ref(),
            texture.size.0 as f32,
            texture.size.1 as f32,
        );
        gl.uniform_2_f32(u.origin.as_ref(), origin.0, origin.1);
        gl.uniform_2_f32(u.shown.as_ref(), shown.0 as f32, shown.1 as f32);
        gl.uniform_1_i32(u.sampling.as_ref(), sampling as i32);
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
    fn upload_cursor(&mut self, gl: &glow::Context, shape: &Arc<CursorShape>) -> anyhow::Result<()> {
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
            for texture in [self.picture.take(), self.cursor.take().map(|(t, _)| t)]
                .into_iter()
                .flatten()
            {
                gl.delete_texture(texture.texture);
            }
            gl.delete_vertex_array(self.vertex_array);
            gl.delete_program(self.program);
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

/// The part of `area` an image at `origin`, `size` large, covers.
fn clip(area: Area, origin: (i64, i64), size: (i64, i64)) -> Area {
    let clamp = |value: i64, low: u32, high: u32| -> u32 {
        u32::try_from(value.clamp(i64::from(low), i64::from(high))).unwrap_or(high)
    };
    let (right, bottom) = (area.x + area.width, area.y + area.height);
    let x0 = clamp(origin.0, area.x, right);
    let y0 = clamp(origin.1, area.y, bottom);
    let x1 = clamp(origin.0 + size.0, area.x, right);
    let y1 = clamp(origin.1 + size.1, area.y, bottom);
    Area {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_clipped_to_the_picture_area() {
        let area = Area {
            x: 0,
            y: 30,
            width: 100,
            height: 50,
        };
        assert_eq!(
            clip(area, (-5, 25), (16, 16)),
            Area {
                x: 0,
                y: 30,
                width: 11,
                height: 11
            }
        );
        assert_eq!(clip(area, (200, 200), (16, 16)).width, 0);
    }
}
