//! Joining a session by code, securing it end to end, and receiving the agent's screen into a
//! framebuffer; taking the session back when the connection to the relay is lost.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, Context};
use tether_codec::{Frame, Rect};
use tether_e2e::ShortAuthString;
use tether_proto::{
    control::{ClientMessage, EndReason, RelayMessage},
    session::{AgentMessage, Capabilities, ViewerMessage},
    SessionCode, PROTOCOL_VERSION,
};
use tether_transport::{
    race, stopped, viewer_handshake, RelayTarget, SecureSender, SecureStream, Trailing,
    TransportError, CLOSE_LINGER,
};
use tokio::sync::{mpsc, Notify};

use crate::{
    cursor::RemoteCursor,
    ending::{handshake_or_news, Interrupted, RelaySpoke, StreamBroke},
    frame_stream::{FrameStream, ViewOutcome},
    input::InputFeed,
    relay_link::{LinkError, RelayLink, Ticket},
    resume::{resume, Resumption, SessionStream},
    viewing::{Finished, Viewing},
    ViewerError,
};

/// Updates the viewer lets the agent send ahead of its acknowledgements.
const WINDOW: u8 = 2;

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
    /// The connection to the relay was lost mid-session; the viewer is taking the session
    /// back on a new one (the framebuffer stays as it was).
    ConnectionLost,
    /// The session was taken back: no new code, no new consent.
    Resumed {
        /// From noticing the loss to the re-keyed stream.
        after: Duration,
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

/// Joins the session behind `options.code` and receives frame updates until `options.frames`
/// have been applied or `options.stop` is notified (the technician's end: the relay and the
/// agent are told so), or the session ends otherwise. If the connection to the relay is lost
/// mid-session, takes the session back on a new one, for as long as the relay keeps it.
/// Returns what was received and how it ended, whatever the ending.
pub async fn join(options: &JoinOptions) -> Viewing {
    let mut link = match RelayLink::open(&options.target).await {
        Ok(link) => link,
        Err(e) => {
            let error = match e {
                LinkError::Connect(e) => ViewerError::Connect(e),
                LinkError::Transport(e) => ViewerError::Other(e.into()),
            };
            return Viewing {
                outcome: ViewOutcome::default(),
                ended: Err(error),
            };
        }
    };
    let viewing = view(options, &mut link).await;
    link.close().await;
    viewing
}

/// A session stream keyed end to end with the agent behind a code.
pub(crate) struct Secured {
    /// The agent's name.
    pub agent: String,
    /// The relay's session id.
    pub session_id: u64,
    /// The stream, keyed; the technician has been told its digits.
    pub stream: SecureStream<ViewerMessage, AgentMessage>,
}

/// Asks the relay to pair `link` with the agent behind `code`, then keys a session stream with
/// it, telling `report` how that goes (paired, then secured with the digits both sides show).
pub(crate) async fn pair_and_secure(
    code: SessionCode,
    name: &str,
    link: &mut RelayLink,
    ticket: &mut Option<Ticket>,
    report: &mut (dyn FnMut(JoinEvent) + Send),
) -> Result<Secured, ViewerError> {
    // Only the nameplate goes to the relay; the whole code keys the handshake below.
    link.say(&ClientMessage::Join {
        nameplate: code.nameplate(),
        name: name.to_owned(),
    })
    .await
    .map_err(anyhow::Error::from)?;
    let (agent, session_id) = match link.next(ticket).await.context("lost the relay")? {
        Some(RelayMessage::Paired { peer, session_id }) => (peer, session_id),
        Some(RelayMessage::Refused { reason }) => return Err(ViewerError::Refused(reason)),
        Some(RelayMessage::Ended { reason }) => return Err(ViewerError::Ended(reason)),
        other => return Err(anyhow!("unexpected message from the relay: {other:?}").into()),
    };
    tracing::info!(%agent, "joined the session");
    report(JoinEvent::Paired {
        agent: agent.clone(),
    });

    let stream = link
        .connection
        .open_bi()
        .await
        .map_err(anyhow::Error::from)?;
    let handshake = viewer_handshake(stream, code, session_id);
    let raced = race(handshake, link.next(ticket), |_| Some(Trailing::Outcome)).await;
    let stream = match handshake_or_news(raced)? {
        Ok(secured) => secured,
        Err(e @ (TransportError::E2e(_) | TransportError::HandshakeTimeout(_))) => {
            return Err(ViewerError::HandshakeFailed(e))
        }
        Err(e) => {
            return Err(link
                .explain(ticket, StreamBroke::unexplained(e.into()))
                .await)
        }
    };
    report(JoinEvent::Secured { sas: stream.sas });
    Ok(Secured {
        agent,
        session_id,
        stream,
    })
}

/// The viewer's hello: who the technician is and what it asks to do.
pub(crate) fn hello(name: &str, wants: Capabilities) -> ViewerMessage {
    ViewerMessage::Hello {
        version: PROTOCOL_VERSION,
        window: WINDOW,
        technician: name.to_owned(),
        wants,
    }
}

async fn view(options: &JoinOptions, link: &mut RelayLink) -> Viewing {
    let mut ticket = None;
    let mut agent = None;
    let mut report = |event: JoinEvent| {
        if let JoinEvent::Paired { agent: name } = &event {
            agent = Some(name.clone());
        }
        notify(options, event);
    };
    let securing = pair_and_secure(options.code, &options.name, link, &mut ticket, &mut report);
    let secured = tokio::select! {
        secured = securing => Some(secured),
        () = stopped(options.stop.as_deref()) => None,
    };
    let before = |agent, ended| Viewing {
        outcome: ViewOutcome {
            agent,
            ..ViewOutcome::default()
        },
        ended,
    };
    let secured = match secured {
        Some(Ok(secured)) => secured,
        Some(Err(e)) => return before(agent, Err(e)),
        None => {
            // Stopped while joining: once paired, the agent hears the technician ended it.
            if agent.is_some() {
                say_technician_ended(link).await;
            }
            return before(agent, Ok(Finished::Stopped));
        }
    };
    let Secured {
        agent,
        session_id,
        stream,
    } = secured;
    let SecureStream {
        mut send,
        recv,
        sas,
        resumption: secret,
    } = stream;
    let mut frames = FrameStream::new(agent, sas);
    if let Err(e) = send.send(&hello(&options.name, options.wants)).await {
        return Viewing {
            outcome: frames.finish(0),
            ended: Err(e.into()),
        };
    }
    let mut stream = (send, recv);
    let mut resumption = Resumption {
        session_id,
        ticket,
        secret,
    };
    let mut resumes = 0;
    let ended = loop {
        let received = receive(
            options,
            link,
            &mut frames,
            &mut stream,
            &mut resumption.ticket,
        );
        let interrupted = match received.await {
            Ok(finished) => break Ok(finished),
            Err(interrupted) => interrupted,
        };
        let admitted = frames.granted.is_some();
        let error = match interrupted.resumable(admitted, resumption.ticket.is_some()) {
            Ok(error) => error,
            Err(error) => break Err(error),
        };
        tracing::warn!("lost the connection to the relay ({error}); taking the session back");
        notify(options, JoinEvent::ConnectionLost);
        let lost_at = Instant::now();
        let resumed = tokio::select! {
            resumed = resume(&options.target, &mut resumption) => resumed,
            () = stopped(options.stop.as_deref()) => break Ok(Finished::Stopped),
        };
        let (resumed_link, resumed_stream) = match resumed {
            Ok(resumed) => resumed,
            Err(error) => break Err(error),
        };
        *link = resumed_link;
        stream = resumed_stream;
        frames.resumed();
        resumes += 1;
        let after = lost_at.elapsed();
        tracing::info!(after_ms = after.as_millis() as u64, "session resumed");
        notify(options, JoinEvent::Resumed { after });
    };
    Viewing {
        outcome: frames.finish(resumes),
        ended,
    }
}

/// Ends the session as the technician's choice: tells the relay (which tells the agent and
/// records it), then closes the session stream end to end, which the agent reads the same way.
async fn technician_ends(link: &mut RelayLink, send: &mut SecureSender<ViewerMessage>) {
    say_technician_ended(link).await;
    // Lingers until the relay has read it.
    if let Err(e) = send.close().await {
        tracing::debug!("the session stream's close failed: {e}");
    }
}

/// Tells the relay the technician ends the session (`Leaving { TechnicianEnded }`). A relay
/// that does not take it at once is not waited for: the close end to end says the same.
async fn say_technician_ended(link: &mut RelayLink) {
    let leaving = ClientMessage::Leaving {
        reason: EndReason::TechnicianEnded,
    };
    if let Ok(Err(e)) = tokio::time::timeout(CLOSE_LINGER, link.say(&leaving)).await {
        tracing::debug!("could not tell the relay the technician ends the session: {e}");
    }
}

/// Receives updates on one session stream until the viewing is done (`Ok`: the technician's
/// side ended it, and said so) or the stream is interrupted.
async fn receive(
    options: &JoinOptions,
    link: &mut RelayLink,
    frames: &mut FrameStream,
    (send, recv): &mut SessionStream,
    ticket: &mut Option<Ticket>,
) -> Result<Finished, Interrupted> {
    loop {
        tokio::select! {
            () = stopped(options.stop.as_deref()) => {
                technician_ends(link, send).await;
                return Ok(Finished::Stopped);
            }
            Some(event) = next_input(options.input.as_ref()), if frames.granted.is_some_and(|g| g.control) => {
                send.send(&ViewerMessage::Input(event))
                    .await
                    .map_err(|e| Interrupted::broken(e, link.lost()))?;
            }
            message = link.next(ticket) => {
                let spoke = RelaySpoke::heard(message, link.lost())?;
                let answer = RelaySpoke::TRAILING.wait(recv.recv()).await;
                return Err(spoke.settle(answer));
            }
            message = recv.recv() => {
                let message = match message {
                    Ok(Some(message)) => message,
                    Ok(None) => return Err(stream_ended(link, ticket, Ok(())).await),
                    Err(e) => return Err(stream_ended(link, ticket, Err(e)).await),
                };
                if message == AgentMessage::Declined {
                    return Err(Interrupted::Failed(ViewerError::Declined));
                }
                let moved_cursor = matches!(message, AgentMessage::Cursor(_));
                let admitted_before = frames.granted.is_some();
                let applied = frames
                    .handle(message)
                    .map_err(|e| Interrupted::Failed(e.into()))?;
                if let (true, Some(observer)) = (moved_cursor, &options.cursor) {
                    (observer.0)(&frames.cursor);
                }
                if let (false, Some(granted)) = (admitted_before, frames.granted) {
                    notify(options, JoinEvent::Admitted { granted });
                }
                if let Some(seq) = applied {
                    if let (Some(observer), Some(frame)) = (&options.observer, frames.decoder.framebuffer()) {
                        let applied = AppliedUpdate {
                            changed: &frames.changed,
                            bytes: frames.last_bytes,
                            latency: frames.last_latency,
                        };
                        (observer.0)(frame, &applied);
                    }
                    send.send(&ViewerMessage::Ack { seq })
                        .await
                        .map_err(|e| Interrupted::broken(e, link.lost()))?;
                    if options.frames.is_some_and(|n| frames.frames >= n) {
                        technician_ends(link, send).await;
                        return Ok(Finished::FramesReceived);
                    }
                }
            }
        }
    }
}

/// The session stream ended with `end` (`Ok`: the agent's close): what that means, asking
/// the relay why when only it can say.
async fn stream_ended(
    link: &mut RelayLink,
    ticket: &mut Option<Ticket>,
    end: Result<(), TransportError>,
) -> Interrupted {
    match StreamBroke::heard(end, link.lost()) {
        Ok(broke) => Interrupted::Failed(link.explain(ticket, broke).await),
        Err(interrupted) => interrupted,
    }
}

/// The next input event to forward; never without a feed.
async fn next_input(feed: Option<&InputFeed>) -> Option<tether_input::InputEvent> {
    match feed {
        Some(feed) => feed.next().await,
        None => std::future::pending().await,
    }
}

fn notify(options: &JoinOptions, event: JoinEvent) {
    if let Some(events) = &options.events {
        // Nobody listening is fine.
        let _ = events.send(event);
    }
}
