//! Reading back what a headless viewer wrote with `--snapshot`.

/// Reads a PNG snapshot back into BGRA bytes, the framebuffer's layout.
pub fn read_png_as_bgra(path: &str) -> (u32, u32, Vec<u8>) {
    let image = image::open(path)
        .expect("snapshot is a readable PNG")
        .into_rgba8();
    let (width, height) = image.dimensions();
    let mut pixels = image.into_raw();
    for pixel in pixels.chunks_exact_mut(4) {
        pixel.swap(0, 2);
    }
    (width, height, pixels)
}

/// The agent frame number in the viewer's `snapshot: PATH (frame N, WxH)` line.
pub fn snapshot_frame_number(line: &str) -> u64 {
    line.split("(frame ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame number in {line:?}"))
}
