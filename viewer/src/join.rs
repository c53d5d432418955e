//! Joining a session by code and receiving the agent's screen into a framebuffer.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use quinn::Connection;
use tether_codec::{Decoder, DecoderLimits, Frame};
use tether_proto::{
    control::{ClientMessage, RelayMessage},
    session::{AgentMessage, ViewerMessage},
    SessionCode, UpdateAssembler, PROTOCOL_VERSION,
};
use tether_transport::{
    connect_to_relay, open_control, MessageReceiver, MessageSender, RelayTarget,
};
use tokio::sync::Notify;

use crate::ViewerError;

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
    /// Stop after this many frame updates (`None`: until the session ends or `stop`).
    pub frames: Option<u64>,
    /// Shown every applied update (e.g. by a window).
    pub observer: Option<FrameObserver>,
    /// Notified to end the viewing early with what has been received.
    pub stop: Option<Arc<Notify>>,
}

/// Called with the framebuffer after every applied update.
#[derive(Clone)]
pub struct FrameObserver(Arc<dyn Fn(&Frame) + Send + Sync>);

impl FrameObserver {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&Frame) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
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
    control_send
        .send(&ClientMessage::Join {
            code: options.code,
            name: options.name.clone(),
        })
        .await
        .map_err(anyhow::Error::from)?;
    let agent = loop {
        match control.recv().await.context("lost the relay")? {
            Some(RelayMessage::Welcome { .. }) => {}
            Some(RelayMessage::Paired { peer, .. }) => break peer,
            Some(RelayMessage::Refused { reason }) => return Err(ViewerError::Refused(reason)),
            Some(RelayMessage::Ended { reason }) => return Err(ViewerError::Ended(reason)),
            other => return Err(anyhow!("unexpected message from the relay: {other:?}").into()),
        }
    };
    tracing::info!(%agent, "joined the session");

    let (send, recv) = connection.open_bi().await.map_err(anyhow::Error::from)?;
    let mut send = MessageSender::<ViewerMessage>::new(send);
    let mut recv = MessageReceiver::<AgentMessage>::new(recv);
    send.send(&ViewerMessage::Hello {
        version: PROTOCOL_VERSION,
        window: WINDOW,
    })
    .await
    .map_err(anyhow::Error::from)?;

    let mut stream = FrameStream::new();
    loop {
        tokio::select! {
            () = stopped(options.stop.as_deref()) => return stream.finish(agent).map_err(Into::into),
            message = control.recv() => match message {
                Ok(Some(RelayMessage::Ended { reason })) => return Err(ViewerError::Ended(reason)),
                Ok(other) => return Err(anyhow!("unexpected message from the relay: {other:?}").into()),
                Err(e) => return Err(anyhow!("lost the relay: {e}").into()),
            },
            message = recv.recv() => {
                let message = match message {
                    Ok(Some(message)) => message,
                    Ok(None) => return Err(explain_end(&mut control, anyhow!("the agent closed the session stream")).await),
                    Err(e) => return Err(explain_end(&mut control, anyhow!("session stream failed: {e}")).await),
                };
                if let Some(seq) = stream.handle(message)? {
                    if let (Some(observer), Some(frame)) = (&options.observer, stream.decoder.framebuffer()) {
                        (observer.0)(frame);
                    }
                    send.send(&ViewerMessage::Ack { seq }).await.map_err(anyhow::Error::from)?;
                    if options.frames.is_some_and(|n| stream.frames >= n) {
                        return stream.finish(agent).map_err(Into::into);
                    }
                }
            }
        }
    }
}

/// Resolves when `stop` is notified; never without one.
async fn stopped(stop: Option<&Notify>) {
    match stop {
        Some(stop) => stop.notified().await,
        None => std::future::pending().await,
    }
}

/// The session stream broke: the relay usually says why on the control stream at the same
/// moment (e.g. the agent vanished), and that reason is the one worth reporting.
async fn explain_end(
    control: &mut MessageReceiver<RelayMessage>,
    error: anyhow::Error,
) -> ViewerError {
    match tokio::time::timeout(Duration::from_secs(2), control.recv()).await {
        Ok(Ok(Some(RelayMessage::Ended { reason }))) => ViewerError::Ended(reason),
        _ => error.into(),
    }
}

/// The viewer's side of the session stream, without IO: hello, chunks, decoding, counters.
struct FrameStream {
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
    fn new() -> Self {
        let max_update = LIMITS.max_width as usize * LIMITS.max_height as usize * 4 + (1 << 20);
        Self {
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
            AgentMessage::Hello {
                version,
                screen,
                width,
                height,
            } => {
                if version != PROTOCOL_VERSION {
                    bail!(
                        "agent speaks protocol version {version}, this viewer {PROTOCOL_VERSION}"
                    );
                }
                if self.screen.is_some() {
                    bail!("agent said hello twice");
                }
                tracing::info!(%screen, width, height, "agent screen");
                self.screen = Some(screen);
                Ok(None)
            }
            AgentMessage::Frame(chunk) => {
                if self.screen.is_none() {
                    bail!("frame update before the agent's hello");
                }
                let Some((seq, update)) = self.assembler.push(chunk)? else {
                    return Ok(None);
                };
                self.decoder
                    .apply(&update)
                    .with_context(|| format!("frame update {seq} is invalid"))?;
                let now = Instant::now();
                self.first_at.get_or_insert(now);
                self.last_at = Some(now);
                self.last_seq = Some(seq);
                self.frames += 1;
                self.bytes += update.len() as u64;
                Ok(Some(seq))
            }
        }
    }

    fn finish(self, agent: String) -> anyhow::Result<ViewOutcome> {
        let (Some(screen), Some(last_seq), Some(framebuffer)) =
            (self.screen, self.last_seq, self.decoder.framebuffer())
        else {
            bail!("no frame received");
        };
        let elapsed = match (self.first_at, self.last_at) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        };
        Ok(ViewOutcome {
            agent,
            screen,
            framebuffer: framebuffer.clone(),
            last_seq,
            frames: self.frames,
            bytes: self.bytes,
            elapsed,
        })
    }
}
