//! Writing the framebuffer as a PNG.

use std::path::Path;

use anyhow::Context;
use tether_codec::Frame;

/// Saves a BGRA frame as an RGBA PNG.
pub fn write_png(frame: &Frame, path: &Path) -> anyhow::Result<()> {
    let mut rgba = frame.pixels().to_vec();
    for pixel in rgba.chunks_exact_mut(4) {
        pixel.swap(0, 2);
    }
    image::save_buffer_with_format(
        path,
        &rgba,
        frame.width(),
        frame.height(),
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .with_context(|| format!("cannot write snapshot {}", path.display()))
}
