//! The relay's side of a viewer: claim the code, pair with the agent, forward streams.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Instant,
};

use quinn::Connection;
use tether_proto::{
    control::{EndReason, Refusal, RelayMessage},
    Nameplate,
};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::{
    agent_side::ViewerArrived,
    audit::{AuditEvent, Peer, SessionEnd},
    control::{Control, CLOSE_OK},
    forward::{forward_stream, SessionTally},
    server::Shared,
};

/// Serves a viewer that asked (at `received`) to join the agent waiting under `code`.
pub(crate) async fn serve(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    code: Nameplate,
    name: String,
    received: Instant,
) -> anyhow::Result<()> {
    let viewer = Peer {
        addr: connection.remote_address(),
        name,
    };
    let claimed = shared
        .registry
        .lock()
        .map_err(|_| anyhow::anyhow!("registry lock poisoned"))?
        .claim(code, Instant::now());
    let agent = match claimed {
        Ok(agent) => agent,
        Err(reason) => return refuse(shared, connection, control, code, viewer, reason).await,
    };
    let session_id = shared.next_session_id.fetch_add(1, Ordering::Relaxed);
    let arrived = ViewerArrived {
        session_id,
        name: viewer.name.clone(),
        connection: connection.clone(),
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
        viewer,
    });
    shared.metrics.sessions.inc();
    shared.metrics.sessions_active.inc();
    let started = Instant::now();
    let tally = SessionTally::new(&shared.metrics);

    let session = Session {
        shared,
        connection,
        agent_connection: &agent.connection,
        session_id,
        tally: &tally,
    };
    let paired = RelayMessage::Paired {
        session_id,
        peer: agent_peer.name,
    };
    let outcome = session.forward(&mut control, paired, received).await;
    session.record_end(&outcome, started);
    match outcome? {
        SessionEnd::AgentDisconnected => {
            let reason = EndReason::AgentDisconnected;
            control
                .last_word(connection, RelayMessage::Ended { reason })
                .await;
        }
        SessionEnd::RelayShutdown => {
            let reason = EndReason::RelayShutdown;
            control
                .last_word(connection, RelayMessage::Ended { reason })
                .await;
        }
        // The viewer hung up; the agent's task tells the agent.
        _ => connection.close(CLOSE_OK.into(), b"session ended"),
    }
    Ok(())
}

/// A paired session, from the viewer's side: an attended one, or a technician's with an
/// enrolled machine (the "agent").
pub(crate) struct Session<'a> {
    pub shared: &'a Shared,
    pub connection: &'a Connection,
    pub agent_connection: &'a Connection,
    pub session_id: u64,
    pub tally: &'a SessionTally,
}

impl Session<'_> {
    /// Records the session's end in the metrics and the audit log.
    pub fn record_end(&self, outcome: &anyhow::Result<SessionEnd>, started: Instant) {
        let shared = self.shared;
        shared.metrics.sessions_active.dec();
        let reason = if shared.is_shutting_down() {
            SessionEnd::RelayShutdown
        } else {
            match outcome {
                Ok(end) => *end,
                Err(e) if is_disconnect(e) => SessionEnd::ViewerDisconnected,
                Err(_) => SessionEnd::ProtocolError,
            }
        };
        info!(
            session_id = self.session_id,
            "session ended: {}",
            reason.label()
        );
        shared.audit.record(AuditEvent::SessionEnded {
            session_id: self.session_id,
            reason,
            duration: started.elapsed(),
            bytes_to_agent: self.tally.to_agent(),
            bytes_to_viewer: self.tally.to_viewer(),
        });
    }

    /// Tells the viewer it is paired (`paired`), then forwards every stream it opens until one
    /// side leaves or the relay shuts down; returns which.
    ///
    /// QUIC flow control bounds the bytes in flight per stream and quinn the streams a peer may
    /// open at once (100), but each forwarded stream also costs a task, a stream to the agent
    /// and up to one chunk of buffer. A session needs a handful (the viewer uses one), so the
    /// relay allows `max_streams_per_session` at once and disconnects a viewer opening more:
    /// waiting instead would let it pin that many of the agent's streams indefinitely.
    pub async fn forward(
        &self,
        control: &mut Control,
        paired: RelayMessage,
        received: Instant,
    ) -> anyhow::Result<SessionEnd> {
        let session_id = self.session_id;
        control.send.send(&paired).await?;
        self.shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        let max_streams = self.shared.config.max_streams_per_session;
        let streams = Arc::new(Semaphore::new(max_streams as usize));
        loop {
            tokio::select! {
                stream = self.connection.accept_bi() => {
                    let Ok(stream) = stream else {
                        return Ok(SessionEnd::ViewerDisconnected);
                    };
                    let Ok(permit) = streams.clone().try_acquire_owned() else {
                        anyhow::bail!("opened more than {max_streams} streams at once");
                    };
                    let agent_connection = self.agent_connection.clone();
                    let tally = self.tally.clone();
                    let open = self.shared.metrics.forwarded_streams_open.clone();
                    open.inc();
                    tokio::spawn(async move {
                        match forward_stream(stream, &agent_connection, session_id, &tally).await {
                            Ok((up, down)) => debug!(session_id, up, down, "stream done"),
                            Err(e) => debug!(session_id, "stream ended: {e:#}"),
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
                        Some(other) => anyhow::bail!("unexpected {other:?} during a session"),
                    }
                }
            }
        }
    }
}

fn is_disconnect(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<tether_transport::TransportError>()
        .is_some_and(|e| e.is_disconnect())
}

async fn refuse(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    nameplate: Nameplate,
    viewer: Peer,
    reason: Refusal,
) -> anyhow::Result<()> {
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
