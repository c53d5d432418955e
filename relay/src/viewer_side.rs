//! The relay's side of a viewer: claim the code (or present a resume ticket), pair with the
//! agent, forward streams.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Instant,
};

use quinn::Connection;
use rand::rngs::OsRng;
use tether_proto::{
    control::{EndReason, Refusal, RelayMessage, ResumeTicket, StreamHeader},
    data_path::DataPathTicket,
    Nameplate,
};
use tether_transport::TransportError;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::{debug, info, warn};

use crate::{
    agent_side::ViewerArrived,
    attended::{
        end_reason, farewell, resumable, Attachment, AttendedSession, Presence, SessionLink,
    },
    audit::{AuditEvent, Peer, SessionEnd},
    control::Control,
    error::RelayError,
    forward::{forward_stream, SessionTally},
    resume::Denied,
    shared::Shared,
};

/// Serves a viewer that asked (at `received`) to join the agent waiting under `code`: pairs
/// them, then hands the connection to the session's own task for as long as it carries the
/// session.
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    connection: &Connection,
    mut control: Control,
    code: Nameplate,
    name: String,
    received: Instant,
) -> Result<(), RelayError> {
    let viewer = Peer {
        addr: connection.remote_address(),
        name,
    };
    let claimed = shared.registry().claim(code, Instant::now());
    let agent = match claimed {
        Ok(agent) => agent,
        Err(reason) => return refuse(shared, connection, control, code, viewer, reason).await,
    };
    let session_id = shared.next_session_id.fetch_add(1, Ordering::Relaxed);
    let (link, attachments, presence) = SessionLink::new();
    let arrived = ViewerArrived {
        session_id,
        name: viewer.name.clone(),
        presence: link.presence.clone(),
    };
    if agent.pair.send(arrived).is_err() {
        // The agent left between registering and this claim.
        return refuse(
            shared,
            connection,
            control,
            code,
            viewer,
            Refusal::UnknownCode,
        )
        .await;
    }
    let agent_peer = Peer {
        addr: agent.connection.remote_address(),
        name: agent.name,
    };
    info!(remote = %viewer.addr, session_id, viewer = %viewer.name, agent = %agent_peer.name, "session started");
    shared.audit.record(AuditEvent::JoinAccepted {
        nameplate: code,
        session_id,
        viewer: viewer.clone(),
    });
    shared.audit.record(AuditEvent::SessionStarted {
        session_id,
        agent: agent_peer.clone(),
        viewer: viewer.clone(),
    });
    shared.metrics.sessions.inc();
    shared.metrics.sessions_active.inc();
    let session = AttendedSession {
        shared: shared.clone(),
        agent_connection: agent.connection,
        session_id,
        viewer_name: viewer.name,
        tally: SessionTally::new(&shared.metrics),
        started: Instant::now(),
        presence,
        attachments,
    };
    let ticket = (!shared.config.resume_grace.is_zero()).then(|| {
        shared
            .resume_book()
            .open(session_id, link, Instant::now(), &mut OsRng)
    });
    let greeted = async {
        let paired = RelayMessage::Paired {
            session_id,
            peer: agent_peer.name,
        };
        control.send.send(&paired).await?;
        shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        if let Some(ticket) = ticket {
            control.send.send(&resumable(shared, ticket)).await?;
        }
        Ok::<_, TransportError>(())
    }
    .await;
    let (detached_tx, detached) = oneshot::channel();
    let first = Attachment {
        connection: connection.clone(),
        control,
        resumed_with: None,
        detached: detached_tx,
    };
    // A viewer gone before its greeting is handled like one gone right after: the session's
    // task finds the connection closed.
    if let Err(e) = greeted {
        debug!(session_id, "could not greet the viewer: {e}");
    }
    tokio::spawn(session.run(first));
    match detached.await {
        Ok(detached) => farewell(connection, detached).await,
        Err(_) => Ok(()),
    }
}

/// Serves a connection that asks to take session `session_id` back with `ticket` after the
/// viewer's last connection was lost.
pub(crate) async fn resume(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    session_id: u64,
    ticket: ResumeTicket,
) -> Result<(), RelayError> {
    let remote = connection.remote_address();
    let resumed = shared
        .resume_book()
        .resume(session_id, &ticket, Instant::now(), &mut OsRng);
    let (link, next) = match resumed {
        Ok(resumed) => resumed,
        Err(denied) => {
            warn!(%remote, session_id, "resume refused: {}", denied.label());
            shared.metrics.resumes_refused.inc();
            shared.audit.record(AuditEvent::ResumeRefused {
                session_id,
                viewer: Peer {
                    addr: remote,
                    name: String::new(),
                },
                reason: denied.label(),
            });
            let answer = match denied {
                Denied::Invalid => RelayMessage::Refused {
                    reason: Refusal::ResumeInvalid,
                },
                Denied::Expired => RelayMessage::Refused {
                    reason: Refusal::ResumeExpired,
                },
                Denied::Ended(reason) => RelayMessage::Ended { reason },
            };
            control.last_word(connection, answer).await;
            return Ok(());
        }
    };
    let (detached_tx, detached) = oneshot::channel();
    let attachment = Attachment {
        connection: connection.clone(),
        control,
        resumed_with: Some(next),
        detached: detached_tx,
    };
    if let Err(mpsc::error::SendError(attachment)) = link.attach.send(attachment).await {
        // The session ended between the ticket's check and the hand-over.
        let reason = match *link.presence.borrow() {
            Presence::Ended(end) => end_reason(end),
            _ => EndReason::ViewerDisconnected,
        };
        let mut control = attachment.control;
        control
            .last_word(connection, RelayMessage::Ended { reason })
            .await;
        return Ok(());
    }
    match detached.await {
        Ok(detached) => farewell(connection, detached).await,
        Err(_) => Ok(()),
    }
}

/// A paired session, from the viewer's side: an attended one, or a technician's with an
/// enrolled machine (the "agent").
pub(crate) struct Session<'a> {
    pub shared: &'a Shared,
    pub connection: &'a Connection,
    pub agent_connection: &'a Connection,
    pub session_id: u64,
    pub tally: &'a SessionTally,
    /// The agent's half of the session's data path, told in each stream's header.
    pub data_path: Option<DataPathTicket>,
}

impl Session<'_> {
    /// Records the session's end in the metrics and the audit log; returns the end recorded.
    pub fn record_end(
        &self,
        outcome: &Result<SessionEnd, RelayError>,
        started: Instant,
    ) -> SessionEnd {
        record_end(self.shared, self.session_id, self.tally, outcome, started)
    }

    /// Tells the viewer it is paired (`paired`), then forwards its streams (see
    /// [`Session::forward_streams`]).
    pub async fn forward(
        &self,
        control: &mut Control,
        paired: RelayMessage,
        received: Instant,
    ) -> Result<SessionEnd, RelayError> {
        control.send.send(&paired).await?;
        self.shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        self.forward_streams(control).await
    }

    /// Forwards every stream the viewer opens until one side leaves or the relay shuts down;
    /// returns which.
    ///
    /// QUIC flow control bounds the bytes in flight per stream and quinn the streams a peer may
    /// open at once (100), but each forwarded stream also costs a task, a stream to the agent
    /// and up to one chunk of buffer. A session needs a handful (the viewer uses one), so the
    /// relay allows `max_streams_per_session` at once and disconnects a viewer opening more:
    /// waiting instead would let it pin that many of the agent's streams indefinitely.
    pub async fn forward_streams(&self, control: &mut Control) -> Result<SessionEnd, RelayError> {
        let session_id = self.session_id;
        let max_streams = self.shared.config.max_streams_per_session;
        let streams = Arc::new(Semaphore::new(max_streams as usize));
        loop {
            tokio::select! {
                stream = self.connection.accept_bi() => {
                    let Ok(stream) = stream else {
                        return Ok(SessionEnd::ViewerDisconnected);
                    };
                    let Ok(permit) = streams.clone().try_acquire_owned() else {
                        return Err(RelayError::TooManyStreams(max_streams));
                    };
                    let agent_connection = self.agent_connection.clone();
                    let header = StreamHeader { session_id, data_path: self.data_path };
                    let tally = self.tally.clone();
                    let open = self.shared.metrics.forwarded_streams_open.clone();
                    open.inc();
                    tokio::spawn(async move {
                        match forward_stream(stream, &agent_connection, header, &tally).await {
                            Ok((up, down)) => debug!(session_id, up, down, "stream done"),
                            Err(e) => debug!(session_id, "stream ended: {e}"),
                        }
                        open.dec();
                        drop(permit);
                    });
                }
                _ = self.shared.shutdown_requested() => return Ok(SessionEnd::RelayShutdown),
                _ = self.agent_connection.closed() => return Ok(SessionEnd::AgentDisconnected),
                message = control.next() => {
                    match message? {
                        None => return Ok(SessionEnd::ViewerDisconnected),
                        Some(other) => return Err(RelayError::unexpected(&other, "during a session")),
                    }
                }
            }
        }
    }
}

/// Records the end of session `session_id` (which began at `started`) in the metrics and the
/// audit log; returns the end recorded.
pub(crate) fn record_end(
    shared: &Shared,
    session_id: u64,
    tally: &SessionTally,
    outcome: &Result<SessionEnd, RelayError>,
    started: Instant,
) -> SessionEnd {
    shared.metrics.sessions_active.dec();
    let reason = if shared.is_shutting_down() {
        SessionEnd::RelayShutdown
    } else {
        match outcome {
            Ok(end) => *end,
            Err(e) if e.is_disconnect() => SessionEnd::ViewerDisconnected,
            Err(_) => SessionEnd::ProtocolError,
        }
    };
    info!(session_id, "session ended: {}", reason.label());
    shared.audit.record(AuditEvent::SessionEnded {
        session_id,
        reason,
        duration: started.elapsed(),
        bytes_to_agent: tally.to_agent(),
        bytes_to_viewer: tally.to_viewer(),
    });
    reason
}

async fn refuse(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    nameplate: Nameplate,
    viewer: Peer,
    reason: Refusal,
) -> Result<(), RelayError> {
    warn!(remote = %viewer.addr, "join refused: {reason}");
    shared.metrics.join_refused(&reason);
    shared.audit.record(AuditEvent::JoinRefused {
        nameplate,
        viewer,
        reason,
    });
    control
        .last_word(connection, RelayMessage::Refused { reason })
        .await;
    Ok(())
}
