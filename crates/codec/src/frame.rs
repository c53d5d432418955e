//! Screen images and rectangles.

use std::fmt;
use std::ops::Range;

use crate::error::FrameError;

/// The largest width or height, in pixels, that a [`Frame`] may have.
pub const MAX_DIMENSION: u32 = 16384;

/// Bytes per pixel: BGRA8.
pub(crate) const BYTES_PER_PIXEL: usize = 4;

/// A BGRA8 screen image, rows top to bottom, tightly packed
/// (stride = width * 4), alpha byte included.
///
/// Both dimensions are between 1 and [`MAX_DIMENSION`], and the pixel buffer
/// always holds exactly `width * height * 4` bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Frame {
    /// Wraps `pixels` as a `width` x `height` frame.
    ///
    /// Fails when a dimension is 0 or larger than [`MAX_DIMENSION`], or when
    /// `pixels` does not hold exactly `width * height * 4` bytes.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<Frame, FrameError> {
        let expected = byte_len(width, height)?;
        if pixels.len() != expected {
            return Err(FrameError::LengthMismatch {
                expected,
                actual: pixels.len(),
            });
        }
        Ok(Frame {
            width,
            height,
            pixels,
        })
    }

    /// A `width` x `height` frame whose bytes are all zero.
    ///
    /// # Panics
    ///
    /// Panics when a dimension is 0 or larger than [`MAX_DIMENSION`]; that is
    /// a programming error, as dimensions coming from outside should go
    /// through [`Frame::new`].
    pub fn blank(width: u32, height: u32) -> Frame {
        match byte_len(width, height) {
            Ok(len) => Frame {
                width,
                height,
                pixels: vec![0; len],
            },
            Err(error) => panic!("Frame::blank: {error}"),
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel bytes: BGRA, rows top to bottom, `width * 4` bytes per row.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixel bytes, for writing in place (the length cannot change).
    pub fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    /// Gives back the pixel buffer.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// Whether `other` has the same dimensions as `self`.
    pub(crate) fn same_size(&self, other: &Frame) -> bool {
        self.width == other.width && self.height == other.height
    }
}

impl fmt::Debug for Frame {
    /// Prints the dimensions only: a screenful of pixels is no use in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// A rectangle in pixels: `width` x `height` pixels whose top-left corner is
/// at column `x`, row `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge (first column).
    pub x: u32,
    /// Top edge (first row).
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// Number of pixel bytes inside the rectangle.
    pub(crate) fn byte_len(self) -> usize {
        self.width as usize * self.height as usize * BYTES_PER_PIXEL
    }
}

/// The byte ranges, within the pixels of a frame `frame_width` pixels wide,
/// of the rows of `rect`, top to bottom. `rect` must lie inside the frame.
pub(crate) fn row_ranges(frame_width: u32, rect: Rect) -> impl Iterator<Item = Range<usize>> {
    let stride = frame_width as usize * BYTES_PER_PIXEL;
    let left = rect.x as usize * BYTES_PER_PIXEL;
    let row_len = rect.width as usize * BYTES_PER_PIXEL;
    (rect.y..rect.y + rect.height).map(move |y| {
        let start = y as usize * stride + left;
        start..start + row_len
    })
}

/// `width * height * 4` after checking both dimensions. It cannot overflow:
/// at most 16384 * 16384 * 4 = 2^30.
fn byte_len(width: u32, height: u32) -> Result<usize, FrameError> {
    let valid = 1..=MAX_DIMENSION;
    if !valid.contains(&width) || !valid.contains(&height) {
        return Err(FrameError::InvalidDimensions { width, height });
    }
    Ok(width as usize * height as usize * BYTES_PER_PIXEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_dimensions_and_length() {
        assert!(Frame::new(2, 3, vec![0; 24]).is_ok());
        assert!(matches!(
            Frame::new(2, 3, vec![0; 23]),
            Err(FrameError::LengthMismatch {
                expected: 24,
                actual: 23
            })
        ));
        assert!(matches!(
            Frame::new(0, 3, Vec::new()),
            Err(FrameError::InvalidDimensions {
                width: 0,
                height: 3
            })
        ));
        assert!(matches!(
            Frame::new(1, MAX_DIMENSION + 1, Vec::new()),
            Err(FrameError::InvalidDimensions { .. })
        ));
    }

    #[test]
    fn blank_is_zeroed_and_accessors_agree() {
        let frame = Frame::blank(5, 7);
        assert_eq!((frame.width(), frame.height()), (5, 7));
        assert_eq!(frame.pixels().len(), 5 * 7 * 4);
        assert!(frame.pixels().iter().all(|&b| b == 0));
        assert_eq!(frame.into_pixels().len(), 140);
    }

    #[test]
    #[should_panic(expected = "Frame::blank")]
    fn blank_panics_on_zero_width() {
        Frame::blank(0, 1);
    }

    #[test]
    fn debug_prints_dimensions_only() {
        let text = format!("{:?}", Frame::blank(3, 2));
        assert_eq!(text, "Frame { width: 3, height: 2, .. }");
    }

    #[test]
    fn row_ranges_cover_the_rect() {
        let rect = Rect {
            x: 1,
            y: 2,
            width: 2,
            height: 2,
        };
        let rows: Vec<_> = row_ranges(4, rect).collect();
        assert_eq!(rows, vec![36..44, 52..60]);
        assert_eq!(rect.byte_len(), 16);
    }
}
