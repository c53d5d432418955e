//! The viewer's side of the session stream, without IO: the agent's hello, update chunks,
//! decoding, the remote pointer and counters. It outlives the stream that carries it: a
//! session taken back on a new stream goes on from the same framebuffer.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tether_codec::{Decoder, DecoderLimits, Rect};
use tether_e2e::ShortAuthString;
use tether_proto::{
    session::{AgentMessage, Capabilities, FrameTiming},
    UpdateAssembler, PROTOCOL_VERSION,
};

use crate::{cursor::RemoteCursor, join::ViewOutcome, latency::LatencyLog};

/// Largest screen the viewer accepts (8K UHD).
const LIMITS: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// The viewer's side of the session stream, without IO: hello, chunks, decoding, counters.
pub(crate) struct FrameStream {
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
        Self {
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

    /// Handles one message; returns the sequence number of an update it completed and applied.
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
                let decode_start = Instant::now();
                self.changed = self
                    .decoder
                    .apply(&update)
                    .with_context(|| format!("frame update {seq} is invalid"))?
                    .changed;
                let now = Instant::now();
                self.last_latency =
                    self.timing
                        .take()
                        .filter(|timing| timing.seq == seq)
                        .map(|timing| {
                            self.latency
                                .record(&timing, unix_micros(), now - decode_start)
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

    /// What the session came to.
    pub fn finish(self, resumes: u32) -> anyhow::Result<ViewOutcome> {
        let (Some(screen), Some(granted), Some(last_seq), Some(framebuffer)) = (
            self.screen,
            self.granted,
            self.last_seq,
            self.decoder.framebuffer(),
        ) else {
            bail!("no frame received");
        };
        let elapsed = match (self.first_at, self.last_at) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        };
        Ok(ViewOutcome {
            agent: self.agent,
            sas: self.sas,
            granted,
            screen,
            framebuffer: framebuffer.clone(),
            last_seq,
            frames: self.frames,
            bytes: self.bytes,
            elapsed,
            latency: self.latency,
            resumes,
        })
    }
}

/// The largest update the viewer assembles: a raw picture of the largest screen, and slack.
fn max_update() -> usize {
    LIMITS.max_width as usize * LIMITS.max_height as usize * 4 + (1 << 20)
}

/// Now, in microseconds since the Unix epoch (0 if the clock is before it).
fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}
