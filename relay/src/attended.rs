//! An attended session after pairing, run by a task of its own that outlives the viewer
//! connections carrying it: when a technician's connection is lost (timed out or reset, not
//! closed), the session keeps the agent paired for the grace period while a new connection
//! may take the leg back with the technician's resume ticket ([`crate::resume`]).
//!
//! The session holds one agent leg and a list of technician legs (one, until sessions admit
//! several). Each technician leg's connection is forwarded by a task of the leg's own, which
//! gives the connection back when its viewer hangs up or breaks the protocol, or when the
//! session stops it. Every decision (when the session ends, who is told what, when a leg is
//! suspended and may come back) is [`Lifecycle`]'s; this module only wires it to the
//! connections, the resume book, the audit log and the agent's side.
//!
//! Connection tasks hand their viewer connection to the session's task as an [`Attachment`]
//! and wait for it back, with what to tell the viewer last ([`crate::session`]'s hand-overs);
//! so each connection's own task still owns its ending (and its slot and gauges).

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc, task::Poll, time::Instant};

use quinn::Connection;
use rand::rngs::OsRng;
use tether_proto::control::{RelayMessage, StreamHeader};
use tether_transport::TransportError;
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::{JoinError, JoinHandle},
};
use tracing::{debug, info, warn};

use crate::{
    audit::AuditEvent,
    control::CLOSE_OK,
    error::RelayError,
    forward::{SessionTally, Splice},
    session::{
        farewell, is_lost, resumable, Attachment, Decision, Ending, Event, Farewell, LegEnd, LegId,
        Lifecycle, Pairing, Peer, Presence, SessionEnd, SessionEnded, Timer,
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
        agent_leaving,
    } = pairing;
    info!(remote = %viewer.addr, session_id, viewer = %viewer.name, agent = %agent.name, "session started");
    let paired = RelayMessage::Paired {
        session_id,
        peer: agent.name.clone(),
    };
    shared.session_started(session_id, agent, viewer.clone());
    let grace = shared.config.resume_grace;
    let first = TechnicianLeg {
        id: LegId::FIRST,
        name: viewer.name,
        addr: viewer.addr,
        tally: SessionTally::new(&shared.metrics),
        carrier: Carrier::Finished,
    };
    let session = AttendedSession {
        shared: shared.clone(),
        session_id,
        agent: agent_connection,
        agent_gone: false,
        agent_leaving,
        technicians: vec![first],
        lifecycle: Lifecycle::new(grace),
        started: Instant::now(),
        presence: inbox.presence,
        attachments: inbox.attachments,
    };
    let ticket = (!grace.is_zero()).then(|| {
        shared
            .resume_book()
            .open(session_id, link, Instant::now(), &mut OsRng)
    });
    let greeted = async {
        control.send.send(&paired).await?;
        shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        if let Some(ticket) = ticket {
            control.send.send(&resumable(ticket, grace)).await?;
        }
        Ok::<_, TransportError>(())
    }
    .await;
    // A viewer gone before its greeting is handled like one gone right after: its leg's task
    // finds the connection closed.
    if let Err(e) = greeted {
        debug!(session_id, "could not greet the viewer: {e}");
    }
    let (detached_tx, detached) = oneshot::channel();
    let first = Attachment {
        leg: LegId::FIRST,
        connection: connection.clone(),
        control,
        resumed_with: None,
        detached: detached_tx,
    };
    tokio::spawn(session.run(first));
    match detached.await {
        Ok(detached) => farewell(connection, detached).await,
        Err(_) => Ok(()),
    }
}

/// An attended session, as its task runs it.
struct AttendedSession {
    shared: Arc<Shared>,
    session_id: u64,
    /// The agent leg: the agent's connection.
    agent: Connection,
    /// Whether the agent's connection ended (reported once).
    agent_gone: bool,
    /// The agent's claim, when it says it leaves.
    agent_leaving: mpsc::Receiver<SessionEnd>,
    technicians: Vec<TechnicianLeg>,
    lifecycle: Lifecycle,
    started: Instant,
    /// Where the agent's side follows the technicians.
    presence: watch::Sender<Presence>,
    /// Connections that resume a leg.
    attachments: mpsc::Receiver<Attachment>,
}

/// One technician's leg of the session.
struct TechnicianLeg {
    id: LegId,
    /// The technician's self-declared name, from its join.
    name: String,
    /// Where its latest connection comes from.
    addr: SocketAddr,
    /// The bytes forwarded for this technician.
    tally: SessionTally,
    carrier: Carrier,
}

impl TechnicianLeg {
    fn peer(&self) -> Peer {
        Peer {
            addr: self.addr,
            name: self.name.clone(),
        }
    }
}

/// What carries a technician leg now.
enum Carrier {
    /// A connection, whose streams the leg's own task forwards.
    Forwarding(Forwarding),
    /// No connection: the last one was lost, and the technician may come back (counted in
    /// `sessions_suspended` meanwhile).
    Suspended,
    /// No connection: its forwarding finished, or has not started yet.
    Finished,
}

/// A leg's forwarding task, and how to stop it.
struct Forwarding {
    stop: oneshot::Sender<()>,
    task: JoinHandle<LegDone>,
}

/// A leg's forwarding task, finished: the connection it carried, and why it finished
/// (`Ok(Some(end))`: the viewer said it leaves; when the session stopped it, `Ok(None)`: the
/// session decides the connection's farewell itself).
struct LegDone {
    attachment: Attachment,
    left: Result<Option<SessionEnd>, RelayError>,
}

impl AttendedSession {
    /// Runs the session until it ends, starting with the technician who joined.
    async fn run(mut self, first: Attachment) {
        self.carry(first);
        let (ending, leaving) = loop {
            let (event, mut held) = self.next_event().await;
            if self.shared.is_shutting_down() {
                self.lifecycle.relay_shutting_down();
            }
            let decision = self.lifecycle.handle(event, Instant::now());
            let news = decision.presence();
            match decision {
                Decision::KeepGoing => {}
                Decision::Resume { leg, replaces } => {
                    if let Some(arriving) = held.take() {
                        self.take_back(leg, replaces, arriving).await;
                    }
                }
                Decision::Suspend { leg, deadline, .. } => self.suspend(leg, deadline),
                Decision::TurnAway(reason) => {
                    if let Some(arriving) = held.take() {
                        arriving.detach(Farewell::Ended(reason));
                    }
                }
                Decision::End(ending) => break (ending, held),
            }
            // A finished leg's connection the decision did not keep goes on without the leg.
            if let Some(unused) = held {
                unused.detach(Farewell::Released);
            }
            if let Some(news) = news {
                self.presence.send_replace(news);
            }
        };
        self.end(ending, leaving).await;
    }

    /// Waits for the next thing to happen to the session, with the connection that came with
    /// it (a leg's, whose forwarding finished; or one that resumes a leg).
    async fn next_event(&mut self) -> (Event, Option<Attachment>) {
        let timer = self.lifecycle.next_deadline();
        let timer_fired = async move {
            match timer {
                Some((timer, deadline)) => {
                    tokio::time::sleep_until(deadline.into()).await;
                    timer
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            (leg, done) = finished_leg(&mut self.technicians) => match done {
                Ok(LegDone { attachment, left }) => {
                    let how = LegEnd::classify(left, attachment.connection.close_reason());
                    (Event::LegEnded { leg, how }, Some(attachment))
                }
                Err(e) => {
                    warn!(session_id = self.session_id, "a technician's forwarding failed: {e}");
                    (Event::LegEnded { leg, how: LegEnd::Closed }, None)
                }
            },
            Some(arriving) = self.attachments.recv() => {
                (Event::ResumeArrived { leg: arriving.leg }, Some(arriving))
            }
            Some(end) = self.agent_leaving.recv() => (Event::AgentLeaving(end), None),
            reason = self.agent.closed(), if !self.agent_gone => {
                self.agent_gone = true;
                (Event::AgentLeft { lost: is_lost(Some(&reason)) }, None)
            }
            _ = self.shared.shutdown_requested() => (Event::RelayShutdown, None),
            timer = timer_fired => match timer {
                Timer::Grace(leg) => {
                    let taken_back = self
                        .shared
                        .resume_book()
                        .resumed_in_time(self.session_id, Instant::now());
                    (Event::GraceOver { leg, taken_back }, None)
                }
                Timer::Claim => (Event::ClaimWindowOver, None),
            },
        }
    }

    /// Starts forwarding the streams of `attachment`'s connection for its leg.
    fn carry(&mut self, attachment: Attachment) {
        let forwarder = LegForwarder {
            shared: self.shared.clone(),
            agent: self.agent.clone(),
            session_id: self.session_id,
        };
        let Some(leg) = self.leg(attachment.leg) else {
            attachment.detach(Farewell::Released);
            return;
        };
        leg.addr = attachment.connection.remote_address();
        let tally = leg.tally.clone();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(forwarder.run(tally, attachment, stopped));
        leg.carrier = Carrier::Forwarding(Forwarding { stop, task });
    }

    /// Hands `leg` to a connection that presented its ticket, closing the one that still
    /// carried it if it `replaces` one.
    async fn take_back(&mut self, leg_id: LegId, replaces: bool, arriving: Attachment) {
        let shared = self.shared.clone();
        let session_id = self.session_id;
        let Some(leg) = self.leg(leg_id) else {
            arriving.detach(Farewell::Released);
            return;
        };
        if replaces {
            if let Carrier::Forwarding(forwarding) =
                std::mem::replace(&mut leg.carrier, Carrier::Finished)
            {
                if let Some(old) = stop(forwarding).await {
                    old.connection
                        .close(CLOSE_OK.into(), b"resumed on another connection");
                    old.detach(Farewell::Released);
                }
            }
        } else if let Carrier::Suspended = leg.carrier {
            shared.metrics.sessions_suspended.dec();
        }
        let viewer = Peer {
            addr: arriving.connection.remote_address(),
            name: leg.name.clone(),
        };
        info!(session_id, remote = %viewer.addr, "session resumed");
        shared.metrics.resumes.inc();
        shared
            .audit
            .record(AuditEvent::SessionResumed { session_id, viewer });
        shared.resume_book().attached(session_id);
        self.carry(arriving);
    }

    /// A leg's connection was lost: the session waits for the technician until `deadline`.
    fn suspend(&mut self, leg_id: LegId, deadline: Instant) {
        let shared = self.shared.clone();
        let session_id = self.session_id;
        let Some(leg) = self.leg(leg_id) else {
            return;
        };
        leg.carrier = Carrier::Suspended;
        let viewer = leg.peer();
        // The book judges resume attempts against the same deadline.
        shared.resume_book().suspend_until(session_id, deadline);
        info!(session_id, remote = %viewer.addr, grace_secs = shared.config.resume_grace.as_secs(), "viewer lost; session suspended");
        shared
            .audit
            .record(AuditEvent::SessionSuspended { session_id, viewer });
        shared.metrics.sessions_suspended.inc();
    }

    /// Records the end, tells the agent's side, and says goodbye to every connection still
    /// attached or waiting: `leaving` (the connection whose leg ended the session) as the
    /// ending says, the others with the reason.
    async fn end(mut self, ending: Ending, leaving: Option<Attachment>) {
        let Ending {
            end,
            reason,
            leaving: last_word,
        } = ending;
        self.shared.session_ended(SessionEnded {
            session_id: self.session_id,
            end,
            duration: self.started.elapsed(),
            bytes_to_agent: self
                .technicians
                .iter()
                .map(|leg| leg.tally.to_agent())
                .sum(),
            bytes_to_viewer: self
                .technicians
                .iter()
                .map(|leg| leg.tally.to_viewer())
                .sum(),
        });
        self.shared
            .resume_book()
            .close(self.session_id, reason, Instant::now());
        self.presence.send_replace(Presence::Ended(end));
        if let Some(leaving) = leaving {
            leaving.detach(last_word.map_or(Farewell::Ended(reason), |(_, said)| said));
        }
        for leg in &mut self.technicians {
            match std::mem::replace(&mut leg.carrier, Carrier::Finished) {
                Carrier::Forwarding(forwarding) => {
                    if let Some(attached) = stop(forwarding).await {
                        attached.detach(Farewell::Ended(reason));
                    }
                }
                Carrier::Suspended => {
                    self.shared.metrics.sessions_suspended.dec();
                }
                Carrier::Finished => {}
            }
        }
        // Connections already on their way are turned away, as the lifecycle turns away any
        // that arrives after the end.
        self.attachments.close();
        while let Ok(waiting) = self.attachments.try_recv() {
            waiting.detach(Farewell::Ended(reason));
        }
    }

    fn leg(&mut self, id: LegId) -> Option<&mut TechnicianLeg> {
        self.technicians.iter_mut().find(|leg| leg.id == id)
    }
}

/// Resolves when one of `legs`' forwarding tasks finishes, with its leg (whose carrier is
/// then [`Carrier::Finished`]); never while none runs.
fn finished_leg(
    legs: &mut [TechnicianLeg],
) -> impl Future<Output = (LegId, Result<LegDone, JoinError>)> + '_ {
    std::future::poll_fn(move |cx| {
        for leg in legs.iter_mut() {
            if let Carrier::Forwarding(forwarding) = &mut leg.carrier {
                if let Poll::Ready(done) = Pin::new(&mut forwarding.task).poll(cx) {
                    leg.carrier = Carrier::Finished;
                    return Poll::Ready((leg.id, done));
                }
            }
        }
        Poll::Pending
    })
}

/// Stops a leg's forwarding and takes its connection back (`None` if its task failed).
async fn stop(forwarding: Forwarding) -> Option<Attachment> {
    // The task may have finished on its own meanwhile; either way it gives the connection back.
    let _ = forwarding.stop.send(());
    forwarding.task.await.ok().map(|done| done.attachment)
}

/// What a leg's forwarding task needs of its session.
struct LegForwarder {
    shared: Arc<Shared>,
    agent: Connection,
    session_id: u64,
}

impl LegForwarder {
    /// Forwards `attachment`'s streams, counting them in `tally`, until its viewer hangs up
    /// or breaks the protocol, or the session says `stop`; gives the connection back.
    async fn run(
        self,
        tally: SessionTally,
        mut attachment: Attachment,
        stop: oneshot::Receiver<()>,
    ) -> LegDone {
        let left = tokio::select! {
            left = self.forward(&tally, &mut attachment) => left,
            // Stopped (or the session's task is gone): the session's farewell, not the
            // viewer's, ends the connection.
            _ = stop => Ok(None),
        };
        LegDone { attachment, left }
    }

    /// Greets a resuming connection with `Resumed` and its next ticket, then forwards.
    async fn forward(
        &self,
        tally: &SessionTally,
        attachment: &mut Attachment,
    ) -> Result<Option<SessionEnd>, RelayError> {
        if let Some(ticket) = attachment.resumed_with.take() {
            let control = &mut attachment.control;
            control.send.send(&RelayMessage::Resumed).await?;
            let grace = self.shared.config.resume_grace;
            control.send.send(&resumable(ticket, grace)).await?;
        }
        let splice = Splice {
            viewer: &attachment.connection,
            agent: &self.agent,
            header: StreamHeader {
                session_id: self.session_id,
                data_path: None,
            },
            tally,
            max_streams: self.shared.config.max_streams_per_session,
            metrics: &self.shared.metrics,
        };
        splice.run(&mut attachment.control).await
    }
}
