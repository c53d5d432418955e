//! An attended session after pairing, run by a task of its own: it forwards the attached
//! viewer's streams to the agent and, when that viewer's connection is lost (timed out or
//! reset, not closed), keeps the agent paired for the grace period while a new connection may
//! take the session back with the viewer's resume ticket ([`crate::resume`]).
//!
//! Connection tasks hand their viewer connection to the session's task as an [`Attachment`]
//! and wait for it back, with what to tell the viewer last ([`crate::session`]'s hand-overs);
//! so each connection's own task still owns its ending (and its slot and gauges), while the
//! session outlives the connections that carry it.

use std::{sync::Arc, time::Instant};

use quinn::Connection;
use rand::rngs::OsRng;
use tether_proto::control::{RelayMessage, StreamHeader};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info};

use crate::{
    audit::AuditEvent,
    control::CLOSE_OK,
    error::RelayError,
    forward::{SessionTally, Splice},
    session::{
        end_reason, farewell, grace_secs, resumable, Attachment, Farewell, LegEnd, LegId, Pairing,
        Peer, Presence, SessionEnd, SessionEnded,
    },
    shared::Shared,
};

/// Starts the attended session a viewer's join paired, on the viewer's `connection`: greets
/// the viewer, then hands the connection to the session's own task for as long as it carries
/// the session, and ends it as the session says.
pub(crate) async fn serve(
    shared: &Arc<Shared>,
    connection: &Connection,
    pairing: Pairing,
) -> Result<(), RelayError> {
    let Pairing {
        session_id,
        agent,
        agent_connection,
        viewer,
        mut control,
        received,
        link,
        inbox,
    } = pairing;
    info!(remote = %viewer.addr, session_id, viewer = %viewer.name, agent = %agent.name, "session started");
    let agent_name = agent.name.clone();
    shared.session_started(session_id, agent, viewer.clone());
    let session = AttendedSession {
        shared: shared.clone(),
        agent_connection,
        session_id,
        viewer_name: viewer.name,
        tally: SessionTally::new(&shared.metrics),
        started: Instant::now(),
        presence: inbox.presence,
        attachments: inbox.attachments,
    };
    let ticket = (!shared.config.resume_grace.is_zero()).then(|| {
        shared
            .resume_book()
            .open(session_id, link, Instant::now(), &mut OsRng)
    });
    let greeted = async {
        let paired = RelayMessage::Paired {
            session_id,
            peer: agent_name,
        };
        control.send.send(&paired).await?;
        shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        if let Some(ticket) = ticket {
            let grace = shared.config.resume_grace;
            control.send.send(&resumable(ticket, grace)).await?;
        }
        Ok::<_, tether_transport::TransportError>(())
    }
    .await;
    let (detached_tx, detached) = oneshot::channel();
    let first = Attachment {
        leg: LegId::FIRST,
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

/// The session's state that outlives its viewer connections.
struct AttendedSession {
    shared: Arc<Shared>,
    agent_connection: Connection,
    session_id: u64,
    /// The viewer's self-declared name, from its join.
    viewer_name: String,
    tally: SessionTally,
    started: Instant,
    presence: watch::Sender<Presence>,
    attachments: mpsc::Receiver<Attachment>,
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
    async fn run(mut self, first: Attachment) {
        let mut attached = first;
        let (outcome, last) = loop {
            match self.serve(&mut attached).await {
                Served::Over(outcome) => break (outcome, Some(attached)),
                Served::Superseded(next) => {
                    let old = std::mem::replace(&mut attached, next);
                    old.connection
                        .close(CLOSE_OK.into(), b"resumed on another connection");
                    old.detach(Farewell::Released);
                }
                Served::Lost => {
                    let peer = self.peer(&attached.connection);
                    attached.detach(Farewell::Released);
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
                    .send(&resumable(ticket, self.shared.config.resume_grace))
                    .await
            };
            if let Err(e) = greeted.await {
                return self.served(Err(e.into()), &attached.connection);
            }
        }
        self.shared.resume_book().attached(self.session_id);
        self.presence.send_replace(Presence::Attached(attached.leg));
        let splice = Splice {
            viewer: &attached.connection,
            agent: &self.agent_connection,
            header: StreamHeader {
                session_id: self.session_id,
                data_path: None,
            },
            tally: &self.tally,
            max_streams: self.shared.config.max_streams_per_session,
            metrics: &self.shared.metrics,
        };
        tokio::select! {
            left = splice.run(&mut attached.control) => self.served(left, &attached.connection),
            _ = self.shared.shutdown_requested() => Served::Over(Ok(SessionEnd::RelayShutdown)),
            _ = self.agent_connection.closed() => Served::Over(Ok(SessionEnd::AgentDisconnected)),
            Some(next) = self.attachments.recv() => Served::Superseded(next),
        }
    }

    /// Whether forwarding ended because the connection was lost, with resumption on.
    fn served(&self, left: Result<(), RelayError>, connection: &Connection) -> Served {
        let resumable = !self.shared.config.resume_grace.is_zero();
        match LegEnd::classify(left, connection.close_reason()) {
            LegEnd::Lost if resumable && !self.shared.is_shutting_down() => Served::Lost,
            LegEnd::Lost | LegEnd::Closed => Served::Over(Ok(SessionEnd::ViewerDisconnected)),
            LegEnd::Violation(e) => Served::Over(Err(e)),
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
        self.presence.send_replace(Presence::Suspended {
            leg: LegId::FIRST,
            grace_secs: grace_secs(grace),
        });
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
        let end = SessionEnd::of(&outcome).recorded(self.shared.is_shutting_down());
        self.shared.session_ended(SessionEnded {
            session_id: self.session_id,
            end,
            duration: self.started.elapsed(),
            bytes_to_agent: self.tally.to_agent(),
            bytes_to_viewer: self.tally.to_viewer(),
        });
        let reason = end_reason(end);
        self.shared
            .resume_book()
            .close(self.session_id, reason, Instant::now());
        self.presence.send_replace(Presence::Ended(end));
        if let Some(last) = last {
            let farewell = match outcome {
                Ok(SessionEnd::AgentDisconnected | SessionEnd::RelayShutdown) => {
                    Farewell::Ended(reason)
                }
                Ok(_) => Farewell::Close,
                Err(e) if e.is_disconnect() => Farewell::Close,
                Err(e) => Farewell::Error(e),
            };
            last.detach(farewell);
        }
        self.attachments.close();
        while let Ok(waiting) = self.attachments.try_recv() {
            waiting.detach(Farewell::Ended(reason));
        }
    }

    fn peer(&self, connection: &Connection) -> Peer {
        Peer {
            addr: connection.remote_address(),
            name: self.viewer_name.clone(),
        }
    }
}
