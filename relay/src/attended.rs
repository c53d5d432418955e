//! An attended session after pairing, run by a task of its own: it forwards the attached
//! viewer's streams to the agent and, when that viewer's connection is lost (timed out or
//! reset, not closed), keeps the agent paired for the grace period while a new connection may
//! take the session back with the viewer's resume ticket ([`crate::resume`]).
//!
//! Connection tasks hand their viewer connection to the session's task as an [`Attachment`]
//! and wait for it back as [`Detached`], with what to tell the viewer last; so each
//! connection's own task still owns its ending (and its slot and gauges), while the session
//! outlives the connections that carry it.

use std::{sync::Arc, time::Instant};

use quinn::{Connection, ConnectionError};
use tether_proto::control::{EndReason, RelayMessage, ResumeTicket};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::info;

use crate::{
    audit::{AuditEvent, Peer, SessionEnd},
    control::{Control, CLOSE_OK},
    error::RelayError,
    forward::SessionTally,
    shared::Shared,
    viewer_side::{record_end, Session},
};

/// A viewer connection handed to a session's task.
pub(crate) struct Attachment {
    /// The viewer's connection.
    pub connection: Connection,
    /// Its control stream.
    pub control: Control,
    /// For a resuming connection, the next ticket: the task says `Resumed` and hands it over
    /// when it takes the connection. (A joining viewer was greeted by its own task.)
    pub resumed_with: Option<ResumeTicket>,
    /// Where the task gives the connection back.
    pub detached: oneshot::Sender<Detached>,
}

/// A connection the session's task is done with, and what its own task should do with it.
pub(crate) struct Detached {
    /// The control stream, handed back.
    pub control: Control,
    /// What to do.
    pub farewell: Farewell,
}

/// How a connection leaves its session.
pub(crate) enum Farewell {
    /// The session ended: say this, then close.
    Say(RelayMessage),
    /// The session ended by the viewer's choice: close.
    Close,
    /// The viewer broke the protocol: close the connection with this error.
    Error(RelayError),
    /// The session goes on without this connection (lost, or replaced by a resume).
    Released,
}

/// The viewer, as the agent's side of the relay follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// A viewer connection is attached.
    Attached,
    /// The viewer's connection was lost; it may come back within `grace_secs`.
    Suspended { grace_secs: u32 },
    /// The session is over.
    Ended(SessionEnd),
}

/// How a resuming connection reaches a session's task: what the resume book holds.
#[derive(Clone)]
pub(crate) struct SessionLink {
    /// Where to hand the connection.
    pub attach: mpsc::Sender<Attachment>,
    /// How the session is, to explain a session that ended just before the hand-over.
    pub presence: watch::Receiver<Presence>,
}

impl SessionLink {
    /// A link and the ends its session's task keeps.
    pub fn new() -> (Self, mpsc::Receiver<Attachment>, watch::Sender<Presence>) {
        // One hand-over at a time: a resuming connection waits for the task to take it.
        let (attach, attachments) = mpsc::channel(1);
        let (presence_tx, presence) = watch::channel(Presence::Attached);
        (Self { attach, presence }, attachments, presence_tx)
    }
}

/// The session's state that outlives its viewer connections.
pub(crate) struct AttendedSession {
    pub shared: Arc<Shared>,
    pub agent_connection: Connection,
    pub session_id: u64,
    /// The viewer's self-declared name, from its join.
    pub viewer_name: String,
    pub tally: SessionTally,
    pub started: Instant,
    pub presence: watch::Sender<Presence>,
    pub attachments: mpsc::Receiver<Attachment>,
}

/// What serving one attached connection came to.
enum Served {
    /// The session is over.
    Over(Result<SessionEnd, RelayError>),
    /// The connection was lost: the viewer may come back.
    Lost,
    /// A resuming connection took over (the viewer noticed the loss before the relay did).
    Superseded(Attachment),
}

impl AttendedSession {
    /// Runs the session until it ends, starting with the viewer that joined.
    pub async fn run(mut self, first: Attachment) {
        let mut attached = first;
        let (outcome, last) = loop {
            match self.serve(&mut attached).await {
                Served::Over(outcome) => break (outcome, Some(attached)),
                Served::Superseded(next) => {
                    let old = std::mem::replace(&mut attached, next);
                    old.connection
                        .close(CLOSE_OK.into(), b"resumed on another connection");
                    detach(old, Farewell::Released);
                }
                Served::Lost => {
                    let peer = self.peer(&attached.connection);
                    detach(attached, Farewell::Released);
                    match self.wait_for_viewer(peer).await {
                        Ok(next) => attached = next,
                        Err(end) => break (Ok(end), None),
                    }
                }
            }
        };
        self.end(outcome, last);
    }

    /// Greets a resuming connection, then forwards its streams until the session ends, the
    /// connection is lost, or another one takes over.
    async fn serve(&mut self, attached: &mut Attachment) -> Served {
        if let Some(ticket) = attached.resumed_with.take() {
            let viewer = self.peer(&attached.connection);
            info!(session_id = self.session_id, remote = %viewer.addr, "session resumed");
            self.shared.metrics.resumes.inc();
            self.shared.audit.record(AuditEvent::SessionResumed {
                session_id: self.session_id,
                viewer,
            });
            let greeted = async {
                attached.control.send.send(&RelayMessage::Resumed).await?;
                attached
                    .control
                    .send
                    .send(&resumable(&self.shared, ticket))
                    .await
            };
            if let Err(e) = greeted.await {
                return self.served(Err(e.into()), &attached.connection);
            }
        }
        self.shared.resume_book().attached(self.session_id);
        self.presence.send_replace(Presence::Attached);
        let session = Session {
            shared: &self.shared,
            connection: &attached.connection,
            agent_connection: &self.agent_connection,
            session_id: self.session_id,
            tally: &self.tally,
            data_path: None,
        };
        tokio::select! {
            outcome = session.forward_streams(&mut attached.control) => {
                self.served(outcome, &attached.connection)
            }
            Some(next) = self.attachments.recv() => Served::Superseded(next),
        }
    }

    /// Whether forwarding ended because the connection was lost, with resumption on.
    fn served(&self, outcome: Result<SessionEnd, RelayError>, connection: &Connection) -> Served {
        let viewer_gone = match &outcome {
            Ok(end) => *end == SessionEnd::ViewerDisconnected,
            Err(e) => e.is_disconnect(),
        };
        let lost = matches!(
            connection.close_reason(),
            Some(ConnectionError::TimedOut | ConnectionError::Reset)
        );
        let resumable = !self.shared.config.resume_grace.is_zero();
        if viewer_gone && lost && resumable && !self.shared.is_shutting_down() {
            Served::Lost
        } else {
            Served::Over(outcome)
        }
    }

    /// The viewer's connection was lost: keeps the agent paired until a connection takes the
    /// session back or the grace period ends (or the agent leaves, or the relay shuts down).
    async fn wait_for_viewer(&mut self, viewer: Peer) -> Result<Attachment, SessionEnd> {
        let shared = self.shared.clone();
        let session_id = self.session_id;
        let Some(deadline) = shared.resume_book().suspend(session_id, Instant::now()) else {
            return Err(SessionEnd::ViewerLost);
        };
        let grace = shared.config.resume_grace;
        info!(session_id, remote = %viewer.addr, grace_secs = grace.as_secs(), "viewer lost; session suspended");
        shared
            .audit
            .record(AuditEvent::SessionSuspended { session_id, viewer });
        shared.metrics.sessions_suspended.inc();
        let grace_secs = u32::try_from(grace.as_secs()).unwrap_or(u32::MAX);
        self.presence
            .send_replace(Presence::Suspended { grace_secs });
        // Once the deadline passed with the session taken back, a resume won the race and its
        // connection is on its way.
        let mut timing = true;
        let back = loop {
            tokio::select! {
                Some(next) = self.attachments.recv() => break Ok(next),
                _ = tokio::time::sleep_until(deadline.into()), if timing => {
                    if !shared.resume_book().resumed_in_time(session_id, Instant::now()) {
                        break Err(SessionEnd::ViewerLost);
                    }
                    timing = false;
                }
                _ = self.agent_connection.closed() => break Err(SessionEnd::AgentDisconnected),
                _ = shared.shutdown_requested() => break Err(SessionEnd::RelayShutdown),
            }
        };
        shared.metrics.sessions_suspended.dec();
        back
    }

    /// Records the end, tells the agent's side, and says goodbye to whichever connections are
    /// still attached or waiting.
    fn end(mut self, outcome: Result<SessionEnd, RelayError>, last: Option<Attachment>) {
        let end = record_end(
            &self.shared,
            self.session_id,
            &self.tally,
            &outcome,
            self.started,
        );
        let reason = end_reason(end);
        self.shared
            .resume_book()
            .close(self.session_id, reason, Instant::now());
        self.presence.send_replace(Presence::Ended(end));
        if let Some(last) = last {
            let farewell = match outcome {
                Ok(SessionEnd::AgentDisconnected | SessionEnd::RelayShutdown) => {
                    Farewell::Say(RelayMessage::Ended { reason })
                }
                Ok(_) => Farewell::Close,
                Err(e) if e.is_disconnect() => Farewell::Close,
                Err(e) => Farewell::Error(e),
            };
            detach(last, farewell);
        }
        self.attachments.close();
        while let Ok(waiting) = self.attachments.try_recv() {
            detach(waiting, Farewell::Say(RelayMessage::Ended { reason }));
        }
    }

    fn peer(&self, connection: &Connection) -> Peer {
        Peer {
            addr: connection.remote_address(),
            name: self.viewer_name.clone(),
        }
    }
}

/// The message that gives the viewer its next ticket.
pub(crate) fn resumable(shared: &Shared, ticket: ResumeTicket) -> RelayMessage {
    RelayMessage::Resumable {
        ticket,
        grace_secs: u32::try_from(shared.config.resume_grace.as_secs()).unwrap_or(u32::MAX),
    }
}

/// What the viewer (or the agent) is told about a session that ended this way.
pub(crate) fn end_reason(end: SessionEnd) -> EndReason {
    match end {
        SessionEnd::AgentDisconnected => EndReason::AgentDisconnected,
        SessionEnd::RelayShutdown => EndReason::RelayShutdown,
        SessionEnd::ViewerDisconnected | SessionEnd::ViewerLost | SessionEnd::ProtocolError => {
            EndReason::ViewerDisconnected
        }
    }
}

fn detach(attachment: Attachment, farewell: Farewell) {
    let detached = Detached {
        control: attachment.control,
        farewell,
    };
    // Its task may be gone (e.g. its connection task was cancelled at shutdown).
    let _ = attachment.detached.send(detached);
}

/// Ends a connection the way its session said.
pub(crate) async fn farewell(
    connection: &Connection,
    detached: Detached,
) -> Result<(), RelayError> {
    let Detached {
        mut control,
        farewell,
    } = detached;
    match farewell {
        Farewell::Say(message) => control.last_word(connection, message).await,
        Farewell::Close => connection.close(CLOSE_OK.into(), b"session ended"),
        // The connection's task closes it with the error as the reason.
        Farewell::Error(e) => return Err(e),
        Farewell::Released => {}
    }
    Ok(())
}
