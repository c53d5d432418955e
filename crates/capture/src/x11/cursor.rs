//! The XFixes cursor image as a [`CursorImage`].

use tether_screen::CursorImage;
use x11rb::protocol::xfixes::GetCursorImageReply;

/// Largest cursor side accepted from the server; real cursors are at most a few hundred pixels.
const MAX_CURSOR_SIDE: u16 = 1024;

/// Converts XFixes' premultiplied ARGB32 pixels to premultiplied BGRA, or says why the reply
/// is unusable (too large, inconsistent sizes, hotspot outside the image).
pub(crate) fn cursor_image(reply: &GetCursorImageReply) -> Result<CursorImage, String> {
    let (width, height) = (reply.width, reply.height);
    if width > MAX_CURSOR_SIDE || height > MAX_CURSOR_SIDE {
        return Err(format!("cursor of {width}x{height} is too large"));
    }
    if usize::from(width) * usize::from(height) != reply.cursor_image.len() {
        return Err(format!(
            "cursor of {width}x{height} came with {} pixels",
            reply.cursor_image.len()
        ));
    }
    if (reply.xhot >= width && width > 0) || (reply.yhot >= height && height > 0) {
        return Err(format!(
            "cursor hotspot {},{} outside its {width}x{height} image",
            reply.xhot, reply.yhot
        ));
    }
    let pixels = reply
        .cursor_image
        .iter()
        .flat_map(|&argb| {
            let [a, r, g, b] = argb.to_be_bytes();
            [b, g, r, a]
        })
        .collect();
    Ok(CursorImage {
        width: width.into(),
        height: height.into(),
        hotspot_x: reply.xhot.into(),
        hotspot_y: reply.yhot.into(),
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(width: u16, height: u16, xhot: u16, pixels: Vec<u32>) -> GetCursorImageReply {
        GetCursorImageReply {
            sequence: 0,
            length: 0,
            x: 0,
            y: 0,
            width,
            height,
            xhot,
            yhot: 0,
            cursor_serial: 1,
            cursor_image: pixels,
        }
    }

    #[test]
    fn argb_words_become_bgra_bytes() {
        let image =
            cursor_image(&reply(2, 1, 1, vec![0x80_40_20_10, 0xff_00_00_ff])).expect("valid");
        assert_eq!((image.width, image.height, image.hotspot_x), (2, 1, 1));
        assert_eq!(image.pixels, [0x10, 0x20, 0x40, 0x80, 0xff, 0, 0, 0xff]);
    }

    #[test]
    fn inconsistent_replies_are_refused() {
        assert!(cursor_image(&reply(2, 2, 0, vec![0; 3])).is_err());
        assert!(cursor_image(&reply(2, 1, 2, vec![0; 2])).is_err());
        assert!(cursor_image(&reply(2000, 1, 0, vec![0; 2000])).is_err());
    }
}
