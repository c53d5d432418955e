//! The relay's side of a viewer outside its session: a join (within the rate limits, with a
//! code an agent waits under) pairs it with that agent, and a resume ticket hands its new
//! connection to the session it lost.

use std::{net::IpAddr, sync::atomic::Ordering, time::Instant};

use quinn::Connection;
use rand::rngs::OsRng;
use tether_proto::{
    control::{Refusal, RelayMessage, ResumeTicket},
    Nameplate,
};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::{
    audit::AuditEvent,
    control::Control,
    error::RelayError,
    limiter::{LimitScope, Limited},
    metrics::Limit,
    resume::Denied,
    session::{farewell, Attachment, LegId, Pairing, Peer, SessionLink, ViewerArrived},
    shared::Shared,
};

/// Pairs a viewer that asked (at `received`) to join the agent waiting under `code`, unless
/// the viewer's address or the relay as a whole is over its join rate, or no agent waits
/// under `code`: the viewer is then told why, and `None` returned.
pub(crate) async fn join(
    shared: &Shared,
    connection: &Connection,
    control: Control,
    code: Nameplate,
    name: String,
    received: Instant,
) -> Option<Pairing> {
    let viewer = Peer {
        addr: connection.remote_address(),
        name,
    };
    if let Err(limited) = within_rate(shared, viewer.addr.ip()) {
        let retry_after_secs = u32::try_from(limited.retry_after.as_secs() + 1).unwrap_or(u32::MAX);
        let (limit, over) = match limited.scope {
            LimitScope::Network => (Limit::JoinsPerNetwork, "its network's limit"),
            LimitScope::Relay => (Limit::Joins, "the relay's limit"),
        };
        shared.metrics.limit_refused(limit);
        warn!(remote = %viewer.addr, retry_after_secs, "join refused: rate limited ({over})");
        let reason = Refusal::RateLimited { retry_after_secs };
        refuse(shared, connection, control, code, viewer, reason).await;
        return None;
    }
    let claimed = shared.registry().claim(code, Instant::now());
    let agent = match claimed {
        Ok(agent) => agent,
        Err(reason) => {
            warn!(remote = %viewer.addr, "join refused: {reason}");
            refuse(shared, connection, control, code, viewer, reason).await;
            return None;
        }
    };
    let session_id = shared.next_session_id.fetch_add(1, Ordering::Relaxed);
    let (link, inbox) = SessionLink::new(LegId::FIRST);
    // One claim at most: the agent says it leaves once.
    let (leaving, agent_leaving) = mpsc::channel(1);
    let arrived = ViewerArrived {
        session_id,
        name: viewer.name.clone(),
        presence: link.presence.clone(),
        leaving,
    };
    if agent.pair.send(arrived).is_err() {
        // The agent left between registering and this claim.
        let reason = Refusal::UnknownCode;
        warn!(remote = %viewer.addr, "join refused: {reason}");
        refuse(shared, connection, control, code, viewer, reason).await;
        return None;
    }
    shared.audit.record(AuditEvent::JoinAccepted {
        nameplate: code,
        session_id,
        viewer: viewer.clone(),
    });
    Some(Pairing {
        session_id,
        agent: Peer {
            addr: agent.connection.remote_address(),
            name: agent.name,
        },
        agent_connection: agent.connection,
        viewer,
        control,
        received,
        link,
        inbox,
        agent_leaving,
    })
}

/// Whether a join from `ip` is within the rate limits now; if not, which limit refused it and
/// when it may try again.
fn within_rate(shared: &Shared, ip: IpAddr) -> Result<(), Limited> {
    shared.join_limiter().check(ip, Instant::now())
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
        leg: link.leg,
        connection: connection.clone(),
        control,
        resumed_with: Some(next),
        detached: detached_tx,
    };
    if let Err(mpsc::error::SendError(attachment)) = link.attach.send(attachment).await {
        // The session ended between the ticket's check and the hand-over.
        let reason = link.presence.borrow().too_late();
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

/// Tells a viewer its join is refused, and why (counted, audited and logged by the caller).
async fn refuse(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    nameplate: Nameplate,
    viewer: Peer,
    reason: Refusal,
) {
    shared.metrics.join_refused(&reason);
    shared.audit.record(AuditEvent::JoinRefused {
        nameplate,
        viewer,
        reason,
    });
    control
        .last_word(connection, RelayMessage::Refused { reason })
        .await;
}
