//! Capture and encode, run off the async runtime.

use std::time::Duration;

use tether_codec::{Encoder, EncoderConfig};
use tether_screen::{CaptureError, CursorState, Damage, ScreenSource};

/// One captured and encoded screen.
pub struct Encoded {
    /// The capture counter of this frame (0-based); the update's sequence number.
    pub seq: u64,
    /// Screen size of this frame.
    pub width: u32,
    /// Screen size of this frame.
    pub height: u32,
    /// The encoded update; `None` when nothing changed since the last update.
    pub update: Option<Vec<u8>>,
}

/// The screen source with the encoder that diffs its frames.
pub struct Pipeline {
    source: Box<dyn ScreenSource>,
    encoder: Encoder,
    captures: u64,
}

impl Pipeline {
    /// A pipeline over `source`.
    pub fn new(source: Box<dyn ScreenSource>) -> Self {
        Self {
            source,
            encoder: Encoder::new(EncoderConfig::default()),
            captures: 0,
        }
    }

    /// Describes the screen source.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// Makes the next update a key update (a new viewer starts from nothing).
    pub fn reset(&mut self) {
        self.encoder.reset();
    }

    /// Captures and encodes one frame on a blocking thread; gives the pipeline back with the
    /// result so it can be used again.
    pub async fn step(self: Box<Self>) -> anyhow::Result<(Box<Self>, Encoded)> {
        let (pipeline, encoded) = tokio::task::spawn_blocking(move || {
            let mut pipeline = self;
            let encoded = pipeline.capture_and_encode();
            (pipeline, encoded)
        })
        .await?;
        Ok((pipeline, encoded?))
    }

    /// Blocks (call it on a blocking thread) until the source has likely changed since the
    /// last [`step`](Self::step), or `timeout` has passed; `true` means a step is worth making.
    /// Sources that cannot tell always return `true` at once, so a loop that waits before each
    /// step still runs at its pace.
    pub fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, CaptureError> {
        self.source.wait_for_change(timeout)
    }

    /// The pointer's position and, when it changed, its image, kept out of the frames (see
    /// [`ScreenSource::cursor`]); `None` when the source draws no separate cursor.
    pub fn cursor(&mut self) -> Result<Option<CursorState<'_>>, CaptureError> {
        self.source.cursor()
    }

    fn capture_and_encode(&mut self) -> Result<Encoded, CaptureError> {
        let seq = self.captures;
        let captured = self.source.capture_with_damage()?;
        self.captures += 1;
        let frame = captured.frame;
        // Damage spans captures, and every capture is encoded, so it always describes the
        // change since the frame the encoder holds.
        let update = match captured.damage {
            Damage::Rects(damage) => self.encoder.encode_with_damage(frame, damage),
            Damage::Unknown => self.encoder.encode(frame),
        };
        Ok(Encoded {
            seq,
            width: frame.width(),
            height: frame.height(),
            update,
        })
    }
}

#[cfg(test)]
mod tests {
    use tether_codec::{Decoder, DecoderLimits, Frame, Rect};
    use tether_screen::Captured;

    use super::*;

    /// Hands out prepared frames in order, each with the damage it claims.
    struct Scripted {
        frames: Vec<(Frame, Option<Vec<Rect>>)>,
        next: usize,
    }

    impl ScreenSource for Scripted {
        fn describe(&self) -> String {
            "scripted".to_owned()
        }

        fn capture(&mut self) -> Result<&Frame, CaptureError> {
            Ok(self.capture_with_damage()?.frame)
        }

        fn capture_with_damage(&mut self) -> Result<Captured<'_>, CaptureError> {
            let (frame, damage) = &self.frames[self.next];
            self.next += 1;
            Ok(Captured {
                frame,
                damage: damage.as_deref().map_or(Damage::Unknown, Damage::Rects),
            })
        }
    }

    fn with_pixel(frame: &Frame, x: usize, y: usize, bgra: [u8; 4]) -> Frame {
        let mut frame = frame.clone();
        let at = (y * frame.width() as usize + x) * 4;
        frame.pixels_mut()[at..at + 4].copy_from_slice(&bgra);
        frame
    }

    fn pixel(frame: &Frame, x: usize, y: usize) -> [u8; 4] {
        let at = (y * frame.width() as usize + x) * 4;
        frame.pixels()[at..at + 4].try_into().expect("4 bytes")
    }

    #[tokio::test]
    async fn damage_reaches_the_encoder_and_unknown_damage_means_everything() {
        let first = Frame::new(64, 64, [90, 90, 90, 255].repeat(64 * 64)).expect("frame");
        let second = with_pixel(
            &with_pixel(&first, 5, 5, [1, 2, 3, 255]),
            40,
            40,
            [4, 5, 6, 255],
        );
        let damage = Rect {
            x: 0,
            y: 0,
            width: 16,
            height: 16,
        };
        let source = Scripted {
            frames: vec![
                (first.clone(), None),
                // Lies about (40,40): only the damaged rectangle is looked at.
                (second.clone(), Some(vec![damage])),
                (second.clone(), None),
            ],
            next: 0,
        };
        let mut pipeline = Box::new(Pipeline::new(Box::new(source)));
        let mut decoder = Decoder::new(DecoderLimits::default());
        let mut pictures = Vec::new();
        for _ in 0..3 {
            let (next, encoded) = pipeline.step().await.expect("step");
            pipeline = next;
            if let Some(update) = encoded.update {
                decoder.apply(&update).expect("decodes");
            }
            pictures.push(decoder.framebuffer().expect("picture").clone());
        }
        assert_eq!(pictures[0], first);
        assert_eq!(pixel(&pictures[1], 5, 5), [1, 2, 3, 255]);
        assert_eq!(pixel(&pictures[1], 40, 40), [90, 90, 90, 255]);
        assert_eq!(pictures[2], second);
    }
}
