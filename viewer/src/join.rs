//! Joining a session by code, securing it end to end, and receiving the agent's screen into a
//! framebuffer.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use quinn::Connection;
use tether_codec::{Decoder, DecoderLimits, Frame, Rect};
use tether_e2e::ShortAuthString;
use tether_proto::{
    control::{ClientMessage, RelayMessage},
    session::{AgentMessage, Capabilities, FrameTiming, ViewerMessage},
    SessionCode, UpdateAssembler, PROTOCOL_VERSION,
};
use tether_transport::{
    connect_to_relay, open_control, viewer_handshake, MessageReceiver, RelayTarget, SecureStream,
};
use tokio::sync::{mpsc, Notify};

use crate::{cursor::RemoteCursor, input::InputFeed, latency::LatencyLog, ViewerError};

/// Updates the viewer lets the agent send ahead of its acknowledgements.
const WINDOW: u8 = 2;
/// Largest screen the viewer accepts (8K UHD).
const LIMITS: DecoderLimits = DecoderLimits {
    max_width: 7680,
    max_height: 4320,
};

/// What to join and when to stop.
#[derive(Debug, Clone)]
pub struct JoinOptions {
    /// The relay and how to trust it.
    pub target: RelayTarget,
    /// The code the user read out.
    pub code: SessionCode,
    /// How the technician presents itself to the user.
    pub name: String,
    /// What the technician asks to do.
    pub wants: Capabilities,
    /// Stop after this many frame updates (`None`: until the session ends or `stop`).
    pub frames: Option<u64>,
    /// Shown every applied update (e.g. by a window).
    pub observer: Option<FrameObserver>,
    /// Told every time the remote pointer moves or changes shape.
    pub cursor: Option<CursorObserver>,
    /// Notified to end the viewing early with what has been received.
    pub stop: Option<Arc<Notify>>,
    /// Told how the session is going, as it goes.
    pub events: Option<mpsc::UnboundedSender<JoinEvent>>,
    /// The technician's input to forward (e.g. from the window), when control is granted.
    pub input: Option<InputFeed>,
}

/// Milestones of a session, for whoever shows them to the technician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinEvent {
    /// Paired with the agent; now waiting for the secure handshake and the user's consent.
    Paired {
        /// The agent's name.
        agent: String,
    },
    /// The session stream is keyed end to end; the user sees the same digits.
    Secured {
        /// The short authentication string.
        sas: ShortAuthString,
    },
    /// The user admitted the session.
    Admitted {
        /// What the session may do.
        granted: Capabilities,
    },
}

/// What one applied update did, besides the new framebuffer.
#[derive(Debug, Clone, Copy)]
pub struct AppliedUpdate<'a> {
    /// The areas it rewrote.
    pub changed: &'a [Rect],
    /// Its encoded size.
    pub bytes: usize,
    /// From the agent's capture to the decoded framebuffer, when the agent timed it.
    pub latency: Option<Duration>,
}

/// The callback of a [`FrameObserver`].
type FrameCallback = dyn Fn(&Frame, &AppliedUpdate<'_>) + Send + Sync;

/// Called with the framebuffer and what the update did, after every applied update.
#[derive(Clone)]
pub struct FrameObserver(Arc<FrameCallback>);

impl FrameObserver {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&Frame, &AppliedUpdate<'_>) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }
}

/// Called with the remote pointer after every change.
#[derive(Clone)]
pub struct CursorObserver(Arc<dyn Fn(&RemoteCursor) + Send + Sync>);

impl CursorObserver {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&RemoteCursor) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }
}

impl fmt::Debug for CursorObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorObserver")
    }
}

impl fmt::Debug for FrameObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FrameObserver")
    }
}

/// The result of a completed viewing.
#[derive(Debug)]
pub struct ViewOutcome {
    /// The agent's name.
    pub agent: String,
    /// The digits both sides showed.
    pub sas: ShortAuthString,
    /// What the user allowed.
    pub granted: Capabilities,
    /// What the agent showed (e.g. "demo desktop 1280x720").
    pub screen: String,
    /// The final framebuffer.
    pub framebuffer: Frame,
    /// Sequence number (the agent's capture counter) of the last update applied.
    pub last_seq: u64,
    /// Frame updates applied.
    pub frames: u64,
    /// Encoded update bytes received.
    pub bytes: u64,
    /// Time from the first update to the last.
    pub elapsed: Duration,
    /// Latency per stage of the updates the agent timed.
    pub latency: LatencyLog,
}

/// Joins the session behind `options.code` and receives frame updates until `options.frames`
/// have been applied or `options.stop` is notified.
pub async fn join(options: &JoinOptions) -> Result<ViewOutcome, ViewerError> {
    let relay = connect_to_relay(&options.target).await?;
    let connection = relay.connection;
    let result = view(options, &connection).await;
    connection.close(0u32.into(), b"viewer done");
    let _ = tokio::time::timeout(Duration::from_secs(1), relay.endpoint.wait_idle()).await;
    result
}

async fn view(options: &JoinOptions, connection: &Connection) -> Result<ViewOutcome, ViewerError> {
    let software = concat!("tether-viewer ", env!("CARGO_PKG_VERSION"));
    let (mut control_send, mut control) = open_control(connection, software)
        .await
        .map_err(anyhow::Error::from)?;
    // Only the nameplate goes to the relay; the whole code keys the handshake below.
    control_send
        .send(&ClientMessage::Join {
            nameplate: options.code.nameplate(),
            name: options.name.clone(),
        })
        .await
        .map_err(anyhow::Error::from)?;
    let (agent, session_id) = loop {
        match control.recv().await.context("lost the relay")? {
            Some(RelayMessage::Welcome { .. }) => {}
            Some(RelayMessage::Paired { peer, session_id }) => break (peer, session_id),
            Some(RelayMessage::Refused { reason }) => return Err(ViewerError::Refused(reason)),
            Some(RelayMessage::Ended { reason }) => return Err(ViewerError::Ended(reason)),
            other => return Err(anyhow!("unexpected message from the relay: {other:?}").into()),
        }
    };
    tracing::info!(%agent, "joined the session");
    notify(
        options,
        JoinEvent::Paired {
            agent: agent.clone(),
        },
    );

    let stream = connection.open_bi().await.map_err(anyhow::Error::from)?;
    let handshake = viewer_handshake(stream, options.code, session_id);
    tokio::pin!(handshake);
    let secured = tokio::select! {
        secured = &mut handshake => secured,
        message = control.recv() => {
            // An agent that rejects the key aborts the handshake and hangs up at once; its
            // reason, racing the relay's news, is the one worth reporting.
            match tokio::time::timeout(Duration::from_secs(2), &mut handshake).await {
                Ok(secured @ Err(tether_transport::TransportError::E2e(_))) => secured,
                _ => return Err(relay_ended(message)),
            }
        }
    };
    let SecureStream {
        mut send,
        mut recv,
        sas,
    } = match secured {
        Ok(secured) => secured,
        Err(e) if matches!(e, tether_transport::TransportError::E2e(_)) => return Err(e.into()),
        Err(e) => return Err(explain_end(&mut control, e.into()).await),
    };
    notify(options, JoinEvent::Secured { sas });
    send.send(&ViewerMessage::Hello {
        version: PROTOCOL_VERSION,
        window: WINDOW,
        technician: options.name.clone(),
        wants: options.wants,
    })
    .await?;

    let mut stream = FrameStream::new(agent, sas);
    loop {
        tokio::select! {
            () = stopped(options.stop.as_deref()) => {
                let _ = send.close().await;
                return stream.finish().map_err(Into::into);
            }
            Some(event) = next_input(options.input.as_ref()), if stream.granted.is_some_and(|g| g.control) => {
                send.send(&ViewerMessage::Input(event)).await?;
            }
            message = control.recv() => {
                // A user who declines is answered and the agent hangs up at once; that answer
                // may still be on its way when the relay reports the hang-up.
                if let Ok(Ok(Some(AgentMessage::Declined))) =
                    tokio::time::timeout(Duration::from_secs(1), recv.recv()).await
                {
                    return Err(ViewerError::Declined);
                }
                return Err(relay_ended(message));
            }
            message = recv.recv() => {
                let message = match message {
                    Ok(Some(message)) => message,
                    Ok(None) => return Err(anyhow!("the agent ended the session").into()),
                    Err(e @ tether_transport::TransportError::E2e(_)) => return Err(e.into()),
                    Err(e) => return Err(explain_end(&mut control, e.into()).await),
                };
                if message == AgentMessage::Declined {
                    return Err(ViewerError::Declined);
                }
                let moved_cursor = matches!(message, AgentMessage::Cursor(_));
                let admitted_before = stream.granted.is_some();
                let applied = stream.handle(message)?;
                if let (true, Some(observer)) = (moved_cursor, &options.cursor) {
                    (observer.0)(&stream.cursor);
                }
                if let (false, Some(granted)) = (admitted_before, stream.granted) {
                    notify(options, JoinEvent::Admitted { granted });
                }
                if let Some(seq) = applied {
                    if let (Some(observer), Some(frame)) = (&options.observer, stream.decoder.framebuffer()) {
                        let applied = AppliedUpdate {
                            changed: &stream.changed,
                            bytes: stream.last_bytes,
                            latency: stream.last_latency,
                        };
                        (observer.0)(frame, &applied);
                    }
                    send.send(&ViewerMessage::Ack { seq }).await?;
                    if options.frames.is_some_and(|n| stream.frames >= n) {
                        let _ = send.close().await;
                        return stream.finish().map_err(Into::into);
                    }
                }
            }
        }
    }
}

/// Now, in microseconds since the Unix epoch (0 if the clock is before it).
fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// The next input event to forward; never without a feed.
async fn next_input(feed: Option<&InputFeed>) -> Option<tether_input::InputEvent> {
    match feed {
        Some(feed) => feed.next().await,
        None => std::future::pending().await,
    }
}

/// Resolves when `stop` is notified; never without one.
async fn stopped(stop: Option<&Notify>) {
    match stop {
        Some(stop) => stop.notified().await,
        None => std::future::pending().await,
    }
}

fn notify(options: &JoinOptions, event: JoinEvent) {
    if let Some(events) = &options.events {
        // Nobody listening is fine.
        let _ = events.send(event);
    }
}

/// The relay spoke (or vanished) on the control stream during the session.
fn relay_ended(
    message: Result<Option<RelayMessage>, tether_transport::TransportError>,
) -> ViewerError {
    match message {
        Ok(Some(RelayMessage::Ended { reason })) => ViewerError::Ended(reason),
        Ok(other) => anyhow!("unexpected message from the relay: {other:?}").into(),
        Err(e) => anyhow!("lost the relay: {e}").into(),
    }
}

/// The session stream broke: the relay usually says why on the control stream at the same
/// moment (e.g. the agent vanished), and that reason is the one worth reporting.
async fn explain_end(
    control: &mut MessageReceiver<RelayMessage>,
    error: ViewerError,
) -> ViewerError {
    match tokio::time::timeout(Duration::from_secs(2), control.recv()).await {
        Ok(Ok(Some(RelayMessage::Ended { reason }))) => ViewerError::Ended(reason),
        _ => error,
    }
}

/// The viewer's side of the session stream, without IO: hello, chunks, decoding, counters.
struct FrameStream {
    agent: String,
    sas: ShortAuthString,
    granted: Option<Capabilities>,
    cursor: RemoteCursor,
    timing: Option<FrameTiming>,
    latency: LatencyLog,
    /// The areas the last applied update rewrote.
    changed: Vec<Rect>,
    /// The last applied update's size.
    last_bytes: usize,
    /// The last applied update's total latency, when timed.
    last_latency: Option<Duration>,
    screen: Option<String>,
    assembler: UpdateAssembler,
    decoder: Decoder,
    last_seq: Option<u64>,
    frames: u64,
    bytes: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
}

impl FrameStream {
    fn new(agent: String, sas: ShortAuthString) -> Self {
        let max_update = LIMITS.max_width as usize * LIMITS.max_height as usize * 4 + (1 << 20);
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
            assembler: UpdateAssembler::new(max_update),
            decoder: Decoder::new(LIMITS),
            last_seq: None,
            frames: 0,
            bytes: 0,
            first_at: None,
            last_at: None,
        }
    }

    /// Handles one message; returns the sequence number of an update it completed and applied.
    fn handle(&mut self, message: AgentMessage) -> anyhow::Result<Option<u64>> {
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

    fn finish(self) -> anyhow::Result<ViewOutcome> {
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
        })
    }
}
