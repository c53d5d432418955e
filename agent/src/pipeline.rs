//! Capture and encode, run off the async runtime, only when the screen changed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tether_codec::{Encoder, EncoderConfig};
use tether_proto::session::{CursorShape, CursorUpdate, FrameTiming};
use tether_screen::{CaptureError, CursorImage, CursorState, Damage, ScreenSource};

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
    /// When capturing started and how long capturing and encoding took.
    pub timing: FrameTiming,
}

/// What one [`Pipeline::step`] produced.
pub struct Step {
    /// The new frame, when the screen changed (or could not tell).
    pub encoded: Option<Encoded>,
    /// The pointer, when it moved or changed shape since the last step.
    pub cursor: Option<CursorUpdate>,
}

/// The screen source with the encoder that diffs its frames, and the pointer last reported.
pub struct Pipeline {
    source: Box<dyn ScreenSource>,
    encoder: Encoder,
    captures: u64,
    /// The pointer as last reported: position and visibility.
    cursor: Option<(i32, i32, bool)>,
}

impl Pipeline {
    /// A pipeline over `source`.
    pub fn new(source: Box<dyn ScreenSource>) -> Self {
        Self {
            source,
            encoder: Encoder::new(EncoderConfig::default()),
            captures: 0,
            cursor: None,
        }
    }

    /// Describes the screen source.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// Makes the next update a key update and the next step report the pointer (a new viewer
    /// starts from nothing).
    pub fn reset(&mut self) {
        self.encoder.reset();
        self.cursor = None;
    }

    /// Captures and encodes one frame on a blocking thread, whatever the source says about
    /// changes (a session's first frame); gives the pipeline back with the result.
    pub async fn capture_now(self: Box<Self>) -> anyhow::Result<(Box<Self>, Encoded)> {
        let (pipeline, encoded) = tokio::task::spawn_blocking(move || {
            let mut pipeline = self;
            let encoded = pipeline.capture_and_encode();
            (pipeline, encoded)
        })
        .await?;
        Ok((pipeline, encoded?))
    }

    /// On a blocking thread: waits up to `wait` for the screen to change, captures and encodes
    /// it if it did, and checks the pointer. An idle screen thus costs no capture, only a
    /// sleep in the display server's event queue. Gives the pipeline back with the result.
    pub async fn step(self: Box<Self>, wait: Duration) -> anyhow::Result<(Box<Self>, Step)> {
        let (pipeline, step) = tokio::task::spawn_blocking(move || {
            let mut pipeline = self;
            let step = pipeline.step_blocking(wait);
            (pipeline, step)
        })
        .await?;
        Ok((pipeline, step?))
    }

    fn step_blocking(&mut self, wait: Duration) -> Result<Step, CaptureError> {
        let encoded = if self.source.wait_for_change(wait)? {
            Some(self.capture_and_encode()?)
        } else {
            None
        };
        let cursor = self.cursor_update()?;
        Ok(Step { encoded, cursor })
    }

    fn capture_and_encode(&mut self) -> Result<Encoded, CaptureError> {
        let seq = self.captures;
        let captured_at = SystemTime::now();
        let started = Instant::now();
        let captured = self.source.capture_with_damage()?;
        let captured_in = started.elapsed();
        self.captures += 1;
        let frame = captured.frame;
        // Damage spans captures, and every capture is encoded, so it always describes the
        // change since the frame the encoder holds.
        let update = match captured.damage {
            Damage::Rects(damage) => self.encoder.encode_with_damage(frame, damage),
            Damage::Unknown => self.encoder.encode(frame),
        };
        let encoded_in = started.elapsed() - captured_in;
        Ok(Encoded {
            seq,
            width: frame.width(),
            height: frame.height(),
            update,
            timing: FrameTiming {
                seq,
                captured_at_us: micros_since_epoch(captured_at),
                capture_us: micros(captured_in),
                encode_us: micros(encoded_in),
            },
        })
    }

    /// The pointer, if it moved, appeared, vanished or changed shape since last reported.
    fn cursor_update(&mut self) -> Result<Option<CursorUpdate>, CaptureError> {
        let Some(CursorState { x, y, image }) = self.source.cursor()? else {
            return Ok(None);
        };
        let shape = image.and_then(cursor_shape);
        let now = (x, y, true);
        if self.cursor == Some(now) && shape.is_none() {
            return Ok(None);
        }
        self.cursor = Some(now);
        Ok(Some(CursorUpdate {
            x,
            y,
            visible: true,
            shape,
        }))
    }
}

/// The protocol's form of a cursor image; `None` for one too large to send.
fn cursor_shape(image: &CursorImage) -> Option<CursorShape> {
    let side = |n: u32| {
        u16::try_from(n)
            .ok()
            .filter(|&n| n <= CursorShape::MAX_SIDE)
    };
    let shape = CursorShape {
        width: side(image.width)?,
        height: side(image.height)?,
        hotspot_x: side(image.hotspot_x.min(image.width.saturating_sub(1)))?,
        hotspot_y: side(image.hotspot_y.min(image.height.saturating_sub(1)))?,
        pixels: image.pixels.clone(),
    };
    shape.check().ok()?;
    Some(shape)
}

fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

fn micros_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
    })
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
            let (next, encoded) = pipeline.capture_now().await.expect("step");
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
