//! Lossy pictures for the first picture on a thin link: baseline JPEG,
//! written with the `jpeg-encoder` crate and read with `zune-jpeg`, both
//! well-kept pure-Rust codecs (zune-jpeg is also what the `image` crate
//! decodes JPEG with). A key update carries one picture of the frame's size;
//! its tiles that are sent losslessly are painted flat grey in it, which
//! costs JPEG almost nothing.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::error::DecodeError;
use crate::frame::{row_ranges, Frame, Rect, BYTES_PER_PIXEL};

/// The grey of the tiles a picture does not carry.
const FLAT: [u8; 4] = [128, 128, 128, 255];

/// `frame` as a JPEG of `quality` (1-100), keeping only the pixels of
/// `kept` (the approximate tiles); the rest is flat grey.
pub fn encode(frame: &Frame, kept: &[Rect], quality: u8) -> Vec<u8> {
    let mut pixels = FLAT.repeat(frame.pixels().len() / BYTES_PER_PIXEL);
    for &rect in kept {
        for rows in row_ranges(frame.width(), rect) {
            pixels[rows.clone()].copy_from_slice(&frame.pixels()[rows]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    // Frames are at most 16384 pixels wide and high, within JPEG's 65535,
    // and the buffer holds exactly their pixels: encoding into memory
    // cannot fail.
    encoder
        .encode(
            &pixels,
            frame.width() as u16,
            frame.height() as u16,
            ColorType::Bgra,
        )
        .expect("JPEG encoding of a whole frame into memory");
    out
}

/// Decodes `bytes`, which must be a JPEG of exactly `width` x `height`
/// pixels, into a BGRA frame (alpha 255). The size is checked from the
/// headers before any pixel is decoded.
pub fn decode(bytes: &[u8], width: u32, height: u32) -> Result<Frame, DecodeError> {
    let bad = |error: &dyn std::fmt::Display| DecodeError::BadPicture(error.to_string());
    let options = DecoderOptions::default()
        .set_max_width(width as usize)
        .set_max_height(height as usize)
        .jpeg_set_out_colorspace(ColorSpace::BGRA);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| bad(&e))?;
    let info = decoder.info().ok_or_else(|| bad(&"no image information"))?;
    if (u32::from(info.width), u32::from(info.height)) != (width, height) {
        return Err(DecodeError::BadPicture(format!(
            "picture of {}x{} for a {width}x{height} frame",
            info.width, info.height
        )));
    }
    let len = width as usize * height as usize * BYTES_PER_PIXEL;
    if decoder.output_buffer_size() != Some(len) {
        return Err(bad(&"unexpected output size"));
    }
    let mut pixels = vec![0; len];
    decoder.decode_into(&mut pixels).map_err(|e| bad(&e))?;
    Frame::new(width, height, pixels).map_err(|e| bad(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Frame {
        let pixels = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| [(x * 3) as u8, (y * 5) as u8, 90, 255]))
            .collect();
        Frame::new(width, height, pixels).unwrap()
    }

    #[test]
    fn round_trips_approximately_and_flattens_the_rest() {
        let frame = gradient(64, 48);
        let kept = [Rect {
            x: 0,
            y: 0,
            width: 32,
            height: 48,
        }];
        let bytes = encode(&frame, &kept, 90);
        let decoded = decode(&bytes, 64, 48).unwrap();
        let (width, at) = (64usize, |x: usize, y: usize| (y * 64 + x) * 4);
        let mut total_error = 0;
        for y in 0..48 {
            for x in 0..width {
                let i = at(x, y);
                let got = &decoded.pixels()[i..i + 4];
                let want = if x < 32 {
                    &frame.pixels()[i..i + 4]
                } else {
                    &FLAT[..]
                };
                for c in 0..3 {
                    // Chroma is interpolated across the edge of the kept
                    // area: more error there.
                    assert!(
                        got[c].abs_diff(want[c]) <= 32,
                        "({x}, {y}): {got:?} vs {want:?}"
                    );
                    total_error += u32::from(got[c].abs_diff(want[c]));
                }
                assert_eq!(got[3], 255);
            }
        }
        assert!(
            total_error <= 2 * 64 * 48 * 3,
            "mean error {}",
            total_error / (64 * 48 * 3)
        );
    }

    #[test]
    fn refuses_other_sizes_and_garbage() {
        let bytes = encode(&gradient(16, 16), &[], 50);
        assert!(matches!(
            decode(&bytes, 16, 17),
            Err(DecodeError::BadPicture(_))
        ));
        assert!(matches!(
            decode(&bytes, 8, 8),
            Err(DecodeError::BadPicture(_))
        ));
        assert!(decode(&bytes, 16, 16).is_ok());
        assert!(matches!(
            decode(&bytes[..40], 16, 16),
            Err(DecodeError::BadPicture(_))
        ));
        assert!(matches!(
            decode(b"not a jpeg", 16, 16),
            Err(DecodeError::BadPicture(_))
        ));
    }
}
