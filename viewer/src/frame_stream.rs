//! The viewer's side of the session stream, without IO: the agent's hello, update chunks,
//! decoding, the remote pointer and counters, and what the viewing came to ([`ViewOutcome`]).
//! It outlives the stream that carries it: a session taken back on a new stream goes on from
//! the same framebuffer. Time comes from a [`Clock`], so tests run it on one of their own.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tether_codec::{Decoder, DecoderLimits, Frame, Rect};
use tether_e2e::ShortAuthString;
use tether_proto::{
    session::{AgentMessage, Capabilities, FrameTiming},
    UpdateAssembler, PROTOCOL_VERSION,
};

use crate::{cursor::RemoteCursor, latency::LatencyLog};

/// Largest screen the viewer accepts (8K UHD).
const LIMITS: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// What a viewing received, however it ended.
#[derive(Debug, Default)]
pub struct ViewOutcome {
    /// The agent's name, once paired.
    pub agent: Option<String>,
    /// The digits both sides showed, once the session was secured.
    pub sas: Option<ShortAuthString>,
    /// What the user allowed, once the user admitted the session.
    pub granted: Option<Capabilities>,
    /// What the agent showed (e.g. "demo desktop 1280x720"), once it said hello.
    pub screen: Option<String>,
    /// The final framebuffer, once an update arrived.
    pub framebuffer: Option<Frame>,
    /// Sequence number (the agent's capture counter) of the last update applied.
    pub last_seq: Option<u64>,
    /// Frame updates applied.
    pub frames: u64,
    /// Encoded update bytes received.
    pub bytes: u64,
    /// Time from the first update to the last.
    pub elapsed: Duration,
    /// Latency per stage of the updates the agent timed.
    pub latency: LatencyLog,
    /// How many times the session was taken back after a lost connection.
    pub resumes: u32,
}

impl ViewOutcome {
    /// Updates per second from the first to the last (0 with fewer than two).
    pub fn fps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if self.frames < 2 || secs <= 0.0 {
            return 0.0;
        }
        (self.frames - 1) as f64 / secs
    }
}

/// Where a [`FrameStream`] reads the time.
pub(crate) trait Clock {
    /// A monotonic instant, for durations.
    fn now(&mut self) -> Instant;
    /// Wall-clock microseconds since the Unix epoch, to compare with the agent's timings.
    fn unix_micros(&mut self) -> u64;
}

/// The system's clocks.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> Instant {
        Instant::now()
    }

    /// 0 if the clock is before the epoch.
    fn unix_micros(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
            })
    }
}

/// The viewer's side of the session stream, without IO: hello, chunks, decoding, counters.
pub(crate) struct FrameStream<C: Clock = SystemClock> {
    clock: C,
    agent: String,
    sas: ShortAuthString,
    /// What the user allowed, once the agent said hello.
    pub granted: Option<Capabilities>,
    /// The remote pointer.
    pub cursor: RemoteCursor,
    timing: Option<FrameTiming>,
    latency: LatencyLog,
    /// The areas the last applied update rewrote.
    pub changed: Vec<Rect>,
    /// The last applied update's size.
    pub last_bytes: usize,
    /// The last applied update's total latency, when timed.
    pub last_latency: Option<Duration>,
    screen: Option<String>,
    assembler: UpdateAssembler,
    /// The framebuffer's owner.
    pub decoder: Decoder,
    last_seq: Option<u64>,
    /// Updates applied.
    pub frames: u64,
    bytes: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
}

impl FrameStream {
    /// A session with `agent`, secured with digits `sas`, before the agent's hello.
    pub fn new(agent: String, sas: ShortAuthString) -> Self {
        Self::with_clock(agent, sas, SystemClock)
    }
}

impl<C: Clock> FrameStream<C> {
    /// A session as [`FrameStream::new`] makes it, reading the time from `clock`.
    pub fn with_clock(agent: String, sas: ShortAuthString, clock: C) -> Self {
        Self {
            clock,
            agent,
            sas,
            granted: None,
            cursor: RemoteCursor::default(),
            timing: None,
            latency: LatencyLog::default(),
            changed: Vec::new(),
            last_bytes: 0,
            last_latency: None,
            screen: None,
            assembler: UpdateAssembler::new(max_update()),
            decoder: Decoder::new(LIMITS),
            last_seq: None,
            frames: 0,
            bytes: 0,
            first_at: None,
            last_at: None,
        }
    }

    /// The session goes on over a new stream: an update cut off with the old one is dropped
    /// (the agent starts the new stream with a key update).
    pub fn resumed(&mut self) {
        self.assembler = UpdateAssembler::new(max_update());
        self.timing = None;
    }

    /// Handles one message; returns the sequence number of an update it completed and applied,
    /// for the viewer to acknowledge.
    pub fn handle(&mut self, message: AgentMessage) -> anyhow::Result<Option<u64>> {
        match message {
            AgentMessage::Declined => bail!("the user declined the session"),
            AgentMessage::Timing(timing) => {
                self.timing = Some(timing);
                Ok(None)
            }
            AgentMessage::Cursor(update) => {
                if self.screen.is_none() {
                    bail!("cursor update before the agent's hello");
                }
                self.cursor
                    .apply(update)
                    .context("the agent sent a bad cursor")?;
                Ok(None)
            }
            AgentMessage::Hello {
                version,
                screen,
                width,
                height,
                granted,
            } => {
                if version != PROTOCOL_VERSION {
                    bail!(
                        "agent speaks protocol version {version}, this viewer {PROTOCOL_VERSION}"
                    );
                }
                if self.screen.is_some() {
                    bail!("agent said hello twice");
                }
                if !granted.view {
                    bail!("the agent admitted the session without granting view");
                }
                tracing::info!(%screen, width, height, %granted, "admitted");
                self.screen = Some(screen);
                self.granted = Some(granted);
                Ok(None)
            }
            AgentMessage::Frame(chunk) => {
                if self.screen.is_none() {
                    bail!("frame update before the agent's hello");
                }
                let Some((seq, update)) = self.assembler.push(chunk)? else {
                    return Ok(None);
                };
                let decode_start = self.clock.now();
                self.changed = self
                    .decoder
                    .apply(&update)
                    .with_context(|| format!("frame update {seq} is invalid"))?
                    .changed;
                let now = self.clock.now();
                let decoded_at_us = self.clock.unix_micros();
                self.last_latency =
                    self.timing
                        .take()
                        .filter(|timing| timing.seq == seq)
                        .map(|timing| {
                            self.latency
                                .record(&timing, decoded_at_us, now - decode_start)
                        });
                self.last_bytes = update.len();
                self.first_at.get_or_insert(now);
                self.last_at = Some(now);
                self.last_seq = Some(seq);
                self.frames += 1;
                self.bytes += update.len() as u64;
                Ok(Some(seq))
            }
        }
    }

    /// What the session came to, however far it got.
    pub fn finish(self, resumes: u32) -> ViewOutcome {
        let elapsed = match (self.first_at, self.last_at) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        };
        ViewOutcome {
            agent: Some(self.agent),
            sas: Some(self.sas),
            granted: self.granted,
            screen: self.screen,
            framebuffer: self.decoder.framebuffer().cloned(),
            last_seq: self.last_seq,
            frames: self.frames,
            bytes: self.bytes,
            elapsed,
            latency: self.latency,
            resumes,
        }
    }
}

/// The largest update the viewer assembles: a raw picture of the largest screen, and slack.
fn max_update() -> usize {
    LIMITS.max_width as usize * LIMITS.max_height as usize * 4 + (1 << 20)
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;
    use tether_codec::{Encoder, EncoderConfig};
    use tether_e2e::{AgentHandshake, ViewerHandshake};
    use tether_proto::{
        session::{CursorUpdate, FrameChunk},
        split_update, SessionCode,
    };

    use super::*;

    const WIDTH: u32 = 96;
    const HEIGHT: u32 = 64;
    /// Small chunks, so that every update arrives in pieces.
    const CHUNK: usize = 700;
    const MS: Duration = Duration::from_millis(1);
    /// How far the clock moves at each reading, where the test does not care.
    const STEP: Duration = MS;

    /// A test's clock: every reading of the monotonic clock is one `step` after the last.
    struct SteppedClock {
        now: Instant,
        step: Duration,
        unix_us: u64,
    }

    impl SteppedClock {
        fn new(step: Duration) -> Self {
            Self {
                now: Instant::now(),
                step,
                unix_us: 1_700_000_000_000_000,
            }
        }
    }

    impl Clock for SteppedClock {
        fn now(&mut self) -> Instant {
            self.now += self.step;
            self.now
        }

        fn unix_micros(&mut self) -> u64 {
            self.unix_us
        }
    }

    /// The digits of a real handshake, as a session's stream would have them.
    fn digits() -> ShortAuthString {
        let code: SessionCode = "123-456-789-012".parse().expect("a code");
        let (viewer, start) = ViewerHandshake::start(code, 7, &mut OsRng);
        let (agent, reply) = AgentHandshake::respond(code, 7, start, &mut OsRng).expect("reply");
        let (viewer, confirm) = viewer.on_reply(reply).expect("viewer confirms");
        let (_, confirmed) = agent.on_confirm(confirm).expect("agent confirms");
        viewer.on_confirm(confirmed).expect("established").sas
    }

    /// A stream whose clock steps `step` at every reading.
    fn stream(step: Duration) -> FrameStream<SteppedClock> {
        FrameStream::with_clock("agent".to_owned(), digits(), SteppedClock::new(step))
    }

    fn hello(version: u16, granted: Capabilities) -> AgentMessage {
        AgentMessage::Hello {
            version,
            screen: "a test pattern".to_owned(),
            width: WIDTH,
            height: HEIGHT,
            granted,
        }
    }

    /// A picture that differs with `shade` in its left half only.
    fn picture(shade: u8) -> Frame {
        let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 4) as usize);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let left = if x < WIDTH / 2 { shade } else { 0 };
                pixels.extend_from_slice(&[x as u8 ^ left, y as u8, left, 0xff]);
            }
        }
        Frame::new(WIDTH, HEIGHT, pixels).expect("a frame")
    }

    /// The messages of update `seq`, in pieces.
    fn chunks(seq: u64, update: &[u8]) -> Vec<AgentMessage> {
        split_update(seq, update, CHUNK)
            .map(AgentMessage::Frame)
            .collect()
    }

    /// Feeds `messages`; returns what each said to acknowledge.
    fn feed(
        frames: &mut FrameStream<SteppedClock>,
        messages: Vec<AgentMessage>,
    ) -> Vec<Option<u64>> {
        messages
            .into_iter()
            .map(|message| frames.handle(message).expect("a valid message"))
            .collect()
    }

    #[test]
    fn updates_rebuild_the_agents_picture_and_each_is_acknowledged_once_complete() {
        let mut frames = stream(3 * MS);
        let mut encoder = Encoder::new(EncoderConfig::default());
        assert_eq!(
            feed(
                &mut frames,
                vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)]
            ),
            vec![None]
        );
        assert_eq!(frames.granted, Some(Capabilities::VIEW_ONLY));

        let mut total = 0;
        for (seq, shade) in [(1, 0), (2, 0x40), (5, 0x80)] {
            let update = encoder.encode(&picture(shade)).expect("a changed picture");
            total += update.len() as u64;
            let pieces = chunks(seq, &update);
            let mut expected = vec![None; pieces.len() - 1];
            expected.push(Some(seq));
            assert_eq!(feed(&mut frames, pieces), expected);
            assert_eq!(frames.decoder.framebuffer(), Some(&picture(shade)));
            assert_eq!(frames.last_bytes, update.len());
            assert!(!frames.changed.is_empty());
        }
        let outcome = frames.finish(1);
        assert_eq!(outcome.agent.as_deref(), Some("agent"));
        assert_eq!(outcome.screen.as_deref(), Some("a test pattern"));
        assert_eq!(outcome.framebuffer, Some(picture(0x80)));
        assert_eq!((outcome.last_seq, outcome.frames), (Some(5), 3));
        assert_eq!((outcome.bytes, outcome.resumes), (total, 1));
        // Two readings per decode, 3 ms apart: the first update decoded 6 ms before the second,
        // the second 6 ms before the third.
        assert_eq!(outcome.elapsed, Duration::from_millis(12));
        // Two updates in 12 ms after the first.
        assert!(
            (outcome.fps() - 2.0 / 0.012).abs() < 1e-6,
            "{}",
            outcome.fps()
        );
    }

    #[test]
    fn a_timed_update_records_its_latency_by_stage() {
        let mut frames = stream(4 * MS);
        let mut encoder = Encoder::new(EncoderConfig::default());
        let update = encoder.encode(&picture(1)).expect("a picture");
        let timing = FrameTiming {
            seq: 1,
            captured_at_us: frames.clock.unix_us - 50_000,
            capture_us: 2_000,
            encode_us: 8_000,
        };
        let mut messages = vec![
            hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY),
            AgentMessage::Timing(timing),
        ];
        messages.extend(chunks(1, &update));
        feed(&mut frames, messages);
        // Capture and encode as the agent says, 40 ms in transit, 4 ms to decode.
        assert_eq!(frames.last_latency, Some(Duration::from_millis(54)));
        // A timing for another update is not this one's.
        let timing = FrameTiming { seq: 9, ..timing };
        let mut messages = vec![AgentMessage::Timing(timing)];
        messages.extend(chunks(2, &encoder.encode(&picture(2)).expect("a change")));
        feed(&mut frames, messages);
        assert_eq!(frames.last_latency, None);
        assert_eq!(frames.finish(0).latency.len(), 1);
    }

    #[test]
    fn the_pointer_follows_its_updates() {
        let mut frames = stream(STEP);
        let moved = AgentMessage::Cursor(CursorUpdate {
            x: 12,
            y: 34,
            visible: true,
            shape: None,
        });
        let hello = hello(PROTOCOL_VERSION, Capabilities::VIEW_AND_CONTROL);
        assert_eq!(feed(&mut frames, vec![hello, moved]), vec![None, None]);
        assert_eq!((frames.cursor.x, frames.cursor.y), (12, 34));
        assert!(frames.cursor.visible);
    }

    #[test]
    fn nothing_but_a_hello_is_accepted_first() {
        let update = Encoder::new(EncoderConfig::default())
            .encode(&picture(0))
            .expect("a picture");
        let early_frame = chunks(1, &update).remove(0);
        let early_cursor = AgentMessage::Cursor(CursorUpdate {
            x: 0,
            y: 0,
            visible: true,
            shape: None,
        });
        for (early, error) in [
            (early_frame, "frame update before the agent's hello"),
            (early_cursor, "cursor update before the agent's hello"),
        ] {
            let refused = stream(STEP).handle(early).unwrap_err();
            assert_eq!(refused.to_string(), error);
        }
    }

    #[test]
    fn a_bad_hello_is_refused() {
        let other_version = hello(PROTOCOL_VERSION + 1, Capabilities::VIEW_ONLY);
        let refused = stream(STEP).handle(other_version).unwrap_err();
        assert!(
            refused.to_string().contains("protocol version"),
            "{refused}"
        );
        let no_view = hello(PROTOCOL_VERSION, Capabilities::SHELL_ONLY);
        let refused = stream(STEP).handle(no_view).unwrap_err();
        assert!(
            refused.to_string().contains("without granting view"),
            "{refused}"
        );
        let mut frames = stream(STEP);
        feed(
            &mut frames,
            vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)],
        );
        let twice = hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY);
        let refused = frames.handle(twice).unwrap_err();
        assert_eq!(refused.to_string(), "agent said hello twice");
        let declined = frames.handle(AgentMessage::Declined).unwrap_err();
        assert_eq!(declined.to_string(), "the user declined the session");
    }

    #[test]
    fn garbage_updates_and_reordered_chunks_are_errors_not_panics() {
        let mut frames = stream(STEP);
        feed(
            &mut frames,
            vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)],
        );
        let garbage = AgentMessage::Frame(FrameChunk {
            seq: 1,
            data: vec![0xa5; 300],
            last: true,
        });
        let invalid = frames.handle(garbage).unwrap_err();
        assert_eq!(invalid.to_string(), "frame update 1 is invalid");
        assert_eq!(frames.frames, 0);

        let update = Encoder::new(EncoderConfig::default())
            .encode(&picture(0))
            .expect("a picture");
        let mut frames = stream(STEP);
        feed(
            &mut frames,
            vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)],
        );
        feed(&mut frames, chunks(4, &update));
        let stale = chunks(3, &update).remove(0);
        assert!(frames.handle(stale).is_err());
    }

    #[test]
    fn a_resumed_stream_drops_the_update_the_old_one_cut_off() {
        let mut frames = stream(STEP);
        let mut encoder = Encoder::new(EncoderConfig::default());
        let mut messages = vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)];
        messages.extend(chunks(1, &encoder.encode(&picture(0)).expect("a picture")));
        feed(&mut frames, messages);
        // Update 2 is cut off by the lost stream, half way.
        let cut_off = chunks(2, &encoder.encode(&picture(0x20)).expect("a change"));
        assert!(cut_off.len() > 1, "the update needs several chunks");
        feed(&mut frames, cut_off.into_iter().take(1).collect());
        frames.resumed();
        // The agent starts the new stream with a key update.
        encoder.reset();
        let key = encoder.encode(&picture(0x30)).expect("a key update");
        let acks = feed(&mut frames, chunks(3, &key));
        assert_eq!(acks.last(), Some(&Some(3)));
        assert_eq!(frames.decoder.framebuffer(), Some(&picture(0x30)));
        assert_eq!(frames.frames, 2);
    }

    #[test]
    fn a_viewing_without_a_frame_says_so() {
        let declined = stream(STEP).finish(0);
        assert_eq!(declined.agent.as_deref(), Some("agent"));
        assert_eq!(declined.fps(), 0.0);
        assert_eq!((declined.frames, declined.bytes), (0, 0));
        assert_eq!((declined.granted, declined.screen), (None, None));
        assert_eq!((declined.framebuffer, declined.last_seq), (None, None));

        let mut admitted = stream(STEP);
        feed(
            &mut admitted,
            vec![hello(PROTOCOL_VERSION, Capabilities::VIEW_ONLY)],
        );
        let admitted = admitted.finish(0);
        assert_eq!(admitted.granted, Some(Capabilities::VIEW_ONLY));
        assert_eq!(admitted.frames, 0);
        assert!(admitted.framebuffer.is_none());
    }
}
