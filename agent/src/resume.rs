//! A live session across the streams that carry it. When the viewer's connection is lost (its
//! stream breaks without the viewer's close record, and the relay has not ended the session),
//! the session is kept (the user's consent and grant, the screen pipeline) for as long as the
//! relay holds it, with the technician's input released. It goes on over the stream a returning
//! viewer opens once that viewer proves, end to end, that it holds the session's resumption
//! secret; the relay's word alone never brings anyone back. What happens next at each turn is
//! the [`Lifecycle`]'s decision; this module does the waiting.
//!
//! When the user ends the session, the agent tells the relay first (`Leaving`), then closes
//! the stream end to end, so that the relay, the technician and the audit log all hear it
//! as the user's end, whichever of the two reaches the technician first.

use std::time::Instant;

use anyhow::bail;
use quinn::{Connection, RecvStream, SendStream};
use tether_e2e::AgentResumption;
use tether_proto::control::{ClientMessage, RelayMessage, StreamHeader};
use tether_transport::{
    agent_resume, race, stopped, MessageReceiver, MessageSender, Raced, SecureStream, Trailing,
    HANDSHAKE_TIMEOUT,
};
use tokio::sync::{mpsc, Notify};

use crate::{
    control::{relay_ends, say_user_ended},
    events::AgentEvent,
    lifecycle::{Lifecycle, StreamEnd},
    pipeline::Pipeline,
    stream::{stream_frames, SessionStream, SessionTerms},
};

/// A session that was secured and consented to, and how to take it back on a new stream.
pub(crate) struct LiveSession<'a> {
    /// The agent's connection to the relay.
    pub connection: &'a Connection,
    /// The relay's side of the control stream.
    pub control: &'a mut MessageReceiver<RelayMessage>,
    /// The agent's side of the control stream.
    pub to_relay: &'a mut MessageSender<ClientMessage>,
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
        let mut lifecycle = Lifecycle::new();
        loop {
            let (mut send, recv) = stream;
            let raced = race(
                stream_frames(&mut send, recv, pipeline, terms, greet),
                relay_ends(self.control, &mut lifecycle),
                |_| Some(Trailing::PeerLeaving),
            )
            .await;
            let (next, end) = match raced {
                Raced::Word(streamed) => streamed?,
                Raced::News { news, trailing } => {
                    let trailing = trailing.and_then(Result::ok).map(|(_, end)| end);
                    return lifecycle.news_overtook(news, trailing);
                }
            };
            pipeline = next;
            if end == StreamEnd::Stopped {
                say_user_ended(self.to_relay).await;
                // Lingers until the relay has read it. The user ended the session whether or
                // not the close got through.
                if let Err(e) = send.close().await {
                    tracing::debug!("the session stream's close failed: {e}");
                }
                return Ok(lifecycle.stopped());
            }
            if let Some(reason) = lifecycle.stream_ended(end, Instant::now()) {
                return Ok(reason);
            }
            tracing::info!(
                session_id = self.session_id,
                "the viewer's stream broke; waiting for it to come back"
            );
            let _ = self.events.send(AgentEvent::ViewerLost);
            match self
                .wait_for_viewer(terms.stop.as_deref(), &mut lifecycle)
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
        lifecycle: &mut Lifecycle,
    ) -> anyhow::Result<Back> {
        loop {
            tokio::select! {
                message = self.control.recv() => {
                    if let Some(reason) = lifecycle.relay_said(message)? {
                        return Ok(Back::Ended(reason));
                    }
                }
                stream = self.connection.accept_bi() => {
                    let stream = match stream {
                        Ok(stream) => stream,
                        Err(e) => return lifecycle.relay_failed(e.into()).map(Back::Ended),
                    };
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.resume(stream)).await {
                        Ok(Ok(resumed)) => {
                            lifecycle.resumed();
                            return Ok(Back::Resumed(Box::new(resumed)));
                        }
                        Ok(Err(e)) => {
                            let why = format!("{e:#}");
                            lifecycle.attempt_failed(e)?;
                            tracing::info!("a resume attempt broke off: {why}");
                        }
                        Err(_) => tracing::info!("a resume attempt did not finish in time"),
                    }
                }
                () = until(lifecycle.deadline()) => {
                    if let Some(reason) = lifecycle.tick(Instant::now()) {
                        return Ok(Back::Ended(reason));
                    }
                }
                () = stopped(stop) => {
                    say_user_ended(self.to_relay).await;
                    return Ok(Back::Ended(lifecycle.stopped()));
                }
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

/// Resolves at `deadline`; never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
