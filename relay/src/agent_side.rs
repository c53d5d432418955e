//! The relay's side of an agent: issue codes, wait for a viewer, and report the session's end.

use std::time::Instant;

use quinn::Connection;
use rand::rngs::OsRng;
use tether_proto::control::{ClientMessage, EndReason, Refusal, RelayMessage};
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::{
    audit::AuditEvent,
    control::Control,
    error::RelayError,
    metrics::Limit,
    network::Network,
    session::{AgentNotice, Party, Peer, Presence, SessionEnd, ViewerArrived, WaitingAgent},
    shared::Shared,
};

/// Serves an agent: one code and at most one session at a time, for as long as it keeps asking.
pub(crate) async fn serve(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    name: String,
    auto_accept: bool,
) -> Result<(), RelayError> {
    let remote = connection.remote_address();
    let agent = Peer {
        addr: remote,
        name: name.clone(),
    };
    loop {
        let (pair, arrived) = oneshot::channel();
        let waiting = WaitingAgent {
            name: name.clone(),
            connection: connection.clone(),
            pair,
        };
        let network = Network::of(remote.ip());
        let issued = shared
            .registry()
            .issue(&mut OsRng, Instant::now(), network, waiting);
        let (code, expires_at) = match issued {
            Ok(issued) => issued,
            Err(reason) => {
                warn!(%remote, %network, "registration refused: {reason}");
                shared.metrics.limit_refused(match reason {
                    Refusal::NetworkBusy => Limit::RegistrationsPerNetwork,
                    _ => Limit::Registrations,
                });
                shared.audit.record(AuditEvent::RegistrationRefused {
                    agent: agent.clone(),
                    reason,
                });
                control
                    .last_word(connection, RelayMessage::Refused { reason })
                    .await;
                return Ok(());
            }
        };
        info!(%remote, %name, nameplate = %code, "issued a nameplate");
        if auto_accept {
            warn!(%remote, %name, nameplate = %code, "this agent admits technicians without asking its user (auto-accept)");
        }
        shared.audit.record(AuditEvent::NameplateIssued {
            nameplate: code,
            agent: agent.clone(),
            auto_accept,
        });
        let expires_in_secs = shared
            .config
            .code_ttl
            .as_secs()
            .try_into()
            .unwrap_or(u32::MAX);
        control
            .send
            .send(&RelayMessage::Registered {
                nameplate: code,
                expires_in_secs,
            })
            .await?;

        let viewer = tokio::select! {
            arrived = arrived => arrived.ok(),
            _ = tokio::time::sleep_until(expires_at.into()) => None,
            _ = shared.shutdown_requested() => {
                withdraw(shared, code);
                shared.audit.record(AuditEvent::NameplateWithdrawn {
                    nameplate: code,
                    agent: agent.clone(),
                });
                relay_shutting_down(connection, &mut control).await;
                return Ok(());
            }
            message = control.next() => {
                withdraw(shared, code);
                shared.audit.record(AuditEvent::NameplateWithdrawn {
                    nameplate: code,
                    agent: agent.clone(),
                });
                return match message? {
                    None => Ok(()),
                    // An agent stopped before anyone joined: it hangs up next.
                    Some(ClientMessage::Leaving { reason }) => Party::Agent.claim(reason).map(drop),
                    Some(other) => Err(RelayError::unexpected(&other, "while waiting for a viewer")),
                };
            }
        };
        let Some(viewer) = viewer else {
            let expired = shared.registry().expire(code, Instant::now());
            if expired {
                info!(%remote, "session code expired unused");
                shared.audit.record(AuditEvent::NameplateExpired {
                    nameplate: code,
                    agent: agent.clone(),
                });
                let reason = EndReason::CodeExpired;
                control.send.send(&RelayMessage::Ended { reason }).await?;
                if !wants_another_code(shared, connection, &mut control).await? {
                    return Ok(());
                }
            }
            continue;
        };

        control
            .send
            .send(&RelayMessage::Paired {
                session_id: viewer.session_id,
                peer: viewer.name.clone(),
            })
            .await?;
        match follow_viewer(shared, connection, &mut control, viewer).await? {
            Followed::Ended => {
                if !wants_another_code(shared, connection, &mut control).await? {
                    return Ok(());
                }
            }
            Followed::Done => return Ok(()),
        }
    }
}

/// How following a session's viewer ended for the agent's connection.
enum Followed {
    /// The session ended and the agent was told: it may ask for another code.
    Ended,
    /// The agent hung up, or the relay is shutting down (and the agent was told).
    Done,
}

/// Tells the agent when a technician was lost (it may come back) and when the session is over,
/// and passes on the agent's claim when it says it leaves.
async fn follow_viewer(
    shared: &Shared,
    connection: &Connection,
    control: &mut Control,
    viewer: ViewerArrived,
) -> Result<Followed, RelayError> {
    let ViewerArrived {
        session_id,
        mut presence,
        leaving,
        ..
    } = viewer;
    loop {
        tokio::select! {
            changed = presence.changed() => {
                let now = match changed {
                    Ok(()) => *presence.borrow_and_update(),
                    // The session's task is gone without a word: its viewer is.
                    Err(_) => Presence::Ended(SessionEnd::ViewerDisconnected),
                };
                match now.agent_notice() {
                    AgentNotice::Nothing => {}
                    AgentNotice::Suspended { grace_secs } => {
                        control.send.send(&RelayMessage::Suspended { grace_secs }).await?;
                    }
                    AgentNotice::RelayShutdown => {
                        relay_shutting_down(connection, control).await;
                        return Ok(Followed::Done);
                    }
                    AgentNotice::Ended(reason) => {
                        info!(session_id, "session ended: {reason}");
                        control.send.send(&RelayMessage::Ended { reason }).await?;
                        return Ok(Followed::Ended);
                    }
                }
            }
            _ = shared.shutdown_requested() => {
                relay_shutting_down(connection, control).await;
                return Ok(Followed::Done);
            }
            message = control.next() => match message? {
                None => return Ok(Followed::Done),
                Some(ClientMessage::Leaving { reason }) => {
                    // The session's task ends the session for it, and says so here.
                    let _ = leaving.try_send(Party::Agent.claim(reason)?);
                }
                Some(other) => return Err(RelayError::unexpected(&other, "during a session")),
            },
        }
    }
}

fn withdraw(shared: &Shared, code: tether_proto::Nameplate) {
    shared.registry().withdraw(code);
}

/// Tells the agent the relay is shutting down and gives it a moment to hang up.
async fn relay_shutting_down(connection: &Connection, control: &mut Control) {
    let reason = EndReason::RelayShutdown;
    control
        .last_word(connection, RelayMessage::Ended { reason })
        .await;
}

/// After a session or an expired code, the agent either registers again or hangs up (or the
/// relay shuts down meanwhile, which it is told).
async fn wants_another_code(
    shared: &Shared,
    connection: &Connection,
    control: &mut Control,
) -> Result<bool, RelayError> {
    let message = tokio::select! {
        message = control.next() => message?,
        _ = shared.shutdown_requested() => {
            relay_shutting_down(connection, control).await;
            return Ok(false);
        }
    };
    match message {
        Some(ClientMessage::Register { .. }) => Ok(true),
        None => Ok(false),
        // Its user ended the session as it ended otherwise: it hangs up next.
        Some(ClientMessage::Leaving { reason }) => Party::Agent.claim(reason).map(|_| false),
        Some(other) => Err(RelayError::expected("register", &other)),
    }
}
