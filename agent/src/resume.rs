//! A live session across the streams that carry it. When the viewer's connection is lost (its
//! stream breaks without the viewer's close record, and the relay has not ended the session),
//! the session is kept (the user's consent and grant, the screen pipeline) for as long as the
//! relay holds it, with the technician's input released. It goes on over the stream a returning
//! viewer opens once that viewer proves, end to end, that it holds the session's resumption
//! secret; the relay's word alone never brings anyone back.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use quinn::{Connection, RecvStream, SendStream};
use tether_e2e::AgentResumption;
use tether_proto::control::{EndReason, RelayMessage, StreamHeader};
use tether_transport::{agent_resume, MessageReceiver, SecureStream};
use tokio::sync::{mpsc, Notify};

use crate::{
    pipeline::Pipeline,
    session::{AgentEvent, HANDSHAKE_TIMEOUT},
    stream::{is_disconnect, stopped, stream_frames, SessionStream, SessionTerms, StreamEnd},
};

/// The longest a session waits for a lost viewer, whatever the relay says (the relay's own
/// longest grace period).
const MAX_SUSPENSION: Duration = Duration::from_secs(3600);
/// How much longer than the relay's grace period the agent waits, so that the relay's word
/// on how the session ended arrives first.
const RELAY_SLACK: Duration = Duration::from_secs(2);
/// How long a session the relay reports ended may still be closing because its user ended it.
const USER_CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Why a session ended when its user ended it, in words for the user.
pub(crate) const USER_ENDED: &str = "you ended the session";

/// A session that was secured and consented to, and how to take it back on a new stream.
pub(crate) struct LiveSession<'a> {
    /// The agent's connection to the relay.
    pub connection: &'a Connection,
    /// The relay's side of the control stream.
    pub control: &'a mut MessageReceiver<RelayMessage>,
    /// The relay's session id.
    pub session_id: u64,
    /// What a returning viewer must prove.
    pub resumption: AgentResumption,
    /// Where progress goes.
    pub events: &'a mpsc::UnboundedSender<AgentEvent>,
}

/// How waiting for a lost viewer ended.
enum Back {
    /// The viewer proved itself on a new stream (boxed: a stream's buffers are large).
    Resumed(Box<SessionStream>),
    /// The session is over, for this reason (in words for the user).
    Ended(String),
}

impl LiveSession<'_> {
    /// Serves the session from its first stream until it ends; returns why, in words for the
    /// user.
    pub async fn serve(
        mut self,
        terms: &SessionTerms,
        first: SessionStream,
        mut pipeline: Box<Pipeline>,
    ) -> anyhow::Result<String> {
        let mut stream = first;
        let mut greet = true;
        // Seconds the relay keeps the session for a lost viewer, once it has said.
        let mut grace = None;
        loop {
            let streaming = stream_frames(stream, pipeline, terms, greet);
            tokio::pin!(streaming);
            let (next, end) = tokio::select! {
                streamed = &mut streaming => streamed?,
                ended = relay_ends(self.control, &mut grace) => {
                    // A user who ended the session waits for the viewer to take the close; the
                    // relay's news of the hang-up that follows may come first. The user's end
                    // is the one to report.
                    let closing = tokio::time::timeout(USER_CLOSE_WAIT, &mut streaming).await;
                    if let Ok(Ok((_, StreamEnd::Stopped))) = closing {
                        return Ok(USER_ENDED.to_owned());
                    }
                    return ended;
                }
            };
            pipeline = next;
            match end {
                StreamEnd::ViewerLeft => return Ok(EndReason::ViewerDisconnected.to_string()),
                StreamEnd::Stopped => return Ok(USER_ENDED.to_owned()),
                StreamEnd::Lost => {}
            }
            tracing::info!(
                session_id = self.session_id,
                "the viewer's stream broke; waiting for it to come back"
            );
            let _ = self.events.send(AgentEvent::ViewerLost);
            match self
                .wait_for_viewer(terms.stop.as_deref(), &mut grace)
                .await?
            {
                Back::Resumed(resumed) => {
                    let _ = self.events.send(AgentEvent::SessionResumed);
                    stream = *resumed;
                    greet = false;
                }
                Back::Ended(reason) => return Ok(reason),
            }
        }
    }

    /// Waits until a viewer takes the session back, the relay ends it, the grace period is
    /// over, or the user ends it here.
    async fn wait_for_viewer(
        &mut self,
        stop: Option<&Notify>,
        grace: &mut Option<u32>,
    ) -> anyhow::Result<Back> {
        let lost_at = Instant::now();
        loop {
            let kept = grace
                .map_or(MAX_SUSPENSION, |secs| Duration::from_secs(secs.into()))
                .min(MAX_SUSPENSION);
            let deadline = lost_at + kept + RELAY_SLACK;
            tokio::select! {
                message = self.control.recv() => match message {
                    Ok(Some(RelayMessage::Suspended { grace_secs })) => *grace = Some(grace_secs),
                    Ok(Some(RelayMessage::Ended { reason })) => {
                        return Ok(Back::Ended(reason.to_string()))
                    }
                    Ok(None) => bail!("the relay went away while the session waited for its viewer"),
                    Ok(other) => bail!("unexpected message from the relay: {other:?}"),
                    Err(e) => bail!("lost the relay: {e}"),
                },
                stream = self.connection.accept_bi() => {
                    let stream = stream.context("lost the relay")?;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.resume(stream)).await {
                        Ok(Ok(resumed)) => return Ok(Back::Resumed(Box::new(resumed))),
                        Ok(Err(e)) if !is_disconnect(&e) => {
                            return Err(e.context(
                                "a viewer's attempt to resume the session failed end-to-end \
                                 verification, so the session is over",
                            ))
                        }
                        Ok(Err(e)) => tracing::info!("a resume attempt broke off: {e:#}"),
                        Err(_) => tracing::info!("a resume attempt did not finish in time"),
                    }
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    return Ok(Back::Ended("the viewer did not come back in time".to_owned()))
                }
                () = stopped(stop) => return Ok(Back::Ended(USER_ENDED.to_owned())),
            }
        }
    }

    /// Runs the resume exchange on a stream the relay forwarded.
    async fn resume(
        &mut self,
        (send, recv): (SendStream, RecvStream),
    ) -> anyhow::Result<SessionStream> {
        let mut recv = MessageReceiver::<StreamHeader>::new(recv);
        match recv.recv().await? {
            Some(header) if header.session_id == self.session_id => {}
            other => bail!("forwarded stream has a bad header: {other:?}"),
        }
        let SecureStream {
            send,
            recv,
            resumption,
            ..
        } = agent_resume(send, recv.retype(), &mut self.resumption, self.session_id).await?;
        self.resumption = AgentResumption::new(resumption);
        Ok((send, recv))
    }
}

/// Reads the relay's control stream until it ends the session, noting on the way how long it
/// keeps the session for a lost viewer; returns why it ended, in words for the user.
pub(crate) async fn relay_ends(
    control: &mut MessageReceiver<RelayMessage>,
    grace: &mut Option<u32>,
) -> anyhow::Result<String> {
    loop {
        match control.recv().await {
            Ok(Some(RelayMessage::Suspended { grace_secs })) => *grace = Some(grace_secs),
            Ok(Some(RelayMessage::Ended { reason })) => return Ok(reason.to_string()),
            Ok(other) => bail!("unexpected message from the relay: {other:?}"),
            Err(e) => bail!("lost the relay: {e}"),
        }
    }
}
