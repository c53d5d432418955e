//! The relay's side of a technician (a viewer with a client certificate from the organisation's
//! CA): listing the machines it may reach, and opening sessions with them. A session lasts no
//! longer than the certificate: the relay ends it when the certificate expires, as when it is
//! revoked.

use std::time::{Duration, Instant, SystemTime};

use quinn::Connection;
use tether_certs::{CertError, CertInfo, CertKind};
use tether_proto::control::{MachineIdentity, MachineSummary, Refusal, RelayMessage, StreamHeader};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{
    audit::AuditEvent,
    connection_limit::ConnectionSlot,
    control::{Control, CLOSE_EXPIRED, CLOSE_OK, CLOSE_REVOKED},
    directory::{DirectoryError, MachineRecord},
    error::RelayError,
    forward::{SessionTally, Splice},
    metrics::Cut,
    org,
    session::{end_reason, is_lost, Peer, SessionEnd, SessionEnded},
    shared::{Shared, TechnicianSession},
};

/// A technician as its verified certificate names it.
struct Technician {
    peer: Peer,
    /// The certificate's name.
    name: String,
    role: String,
    /// When the certificate (or the CA that issued it) stops being valid.
    valid_until: SystemTime,
}

/// When, on the monotonic clock that read `now` while the wall clock read `wall_now`, a
/// certificate valid until `not_after` stops being valid: at once if it already has.
fn expires_at(not_after: SystemTime, wall_now: SystemTime, now: Instant) -> Instant {
    now + not_after.duration_since(wall_now).unwrap_or(Duration::ZERO)
}

/// Answers a technician's request for the machines it may reach.
pub(crate) async fn list_machines(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
) -> Result<(), RelayError> {
    let reply = match technician(shared, connection, "") {
        Ok(technician) => match reachable(shared, &technician.role) {
            Ok(machines) => RelayMessage::Machines {
                machines: machines.iter().map(|m| summary(shared, m)).collect(),
            },
            Err(e) => {
                warn!("directory: {e}");
                RelayMessage::Refused {
                    reason: Refusal::Busy,
                }
            }
        },
        Err(reason) => RelayMessage::Refused { reason },
    };
    control.last_word(connection, reply).await;
    Ok(())
}

/// Opens a session between a technician and an enrolled machine, if the policy lets the
/// technician's role reach it and it is online, then forwards the technician's streams to it.
pub(crate) async fn open(
    shared: &Shared,
    connection: &Connection,
    slot: &mut ConnectionSlot,
    mut control: Control,
    machine: String,
    received: Instant,
) -> Result<(), RelayError> {
    let opened = technician(shared, connection, &machine)
        .and_then(|technician| reach(shared, technician, &machine));
    let (technician, record, machine_connection) = match opened {
        Ok(opened) => opened,
        Err(reason) => {
            control
                .last_word(connection, RelayMessage::Refused { reason })
                .await;
            return Ok(());
        }
    };
    // A technician with a certificate no longer counts against its network's connections.
    slot.authenticate();
    let session_id = shared
        .next_session_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let machine_peer = Peer {
        addr: machine_connection.remote_address(),
        name: record.name.clone(),
    };
    info!(
        session_id,
        technician = %technician.peer.name,
        role = %technician.role,
        machine = %record.name,
        "technician session started"
    );
    let expired = CertError::Expired {
        name: technician.name.clone(),
        not_after: technician.valid_until,
    };
    let deadline = expires_at(technician.valid_until, SystemTime::now(), Instant::now());
    shared.session_started(session_id, machine_peer, technician.peer);
    let started = Instant::now();
    let tally = SessionTally::new(&shared.metrics);
    // Released (its datagrams dropped) when the session ends.
    let allocation = shared
        .data_port
        .as_ref()
        .and_then(|port| port.allocate(tally.clone()));
    let splice = Splice {
        viewer: connection,
        agent: &machine_connection,
        header: StreamHeader {
            session_id,
            data_path: allocation.as_ref().map(|a| a.agent),
        },
        tally: &tally,
        max_streams: shared.config.max_streams_per_session,
        metrics: &shared.metrics,
    };
    let opened = RelayMessage::Opened {
        session_id,
        machine: MachineIdentity {
            name: record.name,
            group: record.group,
            machine_key: record.machine_key,
            enrollment_cert: record.enrollment_cert,
            endorsement: record.endorsement,
        },
        data_path: allocation.as_ref().map(|a| a.viewer),
    };
    let chain = org::peer_chain(connection).unwrap_or_default();
    let id = connection.stable_id();
    let (invalid, mut invalidated) = watch::channel(None);
    shared.technician_sessions().insert(
        id,
        TechnicianSession {
            chain,
            connection: connection.clone(),
            invalid,
        },
    );
    let outcome = async {
        control.send.send(&opened).await?;
        shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        tokio::select! {
            left = splice.run(&mut control) => {
                left.map(|claim| claim.unwrap_or(SessionEnd::ViewerDisconnected))
            }
            reason = machine_connection.closed() => Ok(if is_lost(Some(&reason)) {
                SessionEnd::AgentLost
            } else {
                SessionEnd::AgentDisconnected
            }),
            _ = shared.shutdown_requested() => Ok(SessionEnd::RelayShutdown),
            _ = tokio::time::sleep_until(deadline.into()) => Ok(SessionEnd::TechnicianExpired),
            Ok(_) = invalidated.wait_for(Option::is_some) => Ok(SessionEnd::TechnicianRevoked),
        }
    }
    .await;
    // A revocation closes the connection as it signals the session, so the forwarding may
    // have ended first: the revocation is why all the same.
    let outcome = if invalidated.borrow().is_some() {
        Ok(SessionEnd::TechnicianRevoked)
    } else {
        outcome
    };
    shared.technician_sessions().remove(&id);
    shared.session_ended(SessionEnded {
        session_id,
        end: SessionEnd::of(&outcome).recorded(shared.is_shutting_down()),
        duration: started.elapsed(),
        bytes_to_agent: tally.to_agent(),
        bytes_to_viewer: tally.to_viewer(),
    });
    match outcome? {
        // A technician that said it leaves is told so too, and hangs up itself, so that its
        // close still reaches the machine.
        end @ (SessionEnd::RelayShutdown
        | SessionEnd::AgentDisconnected
        | SessionEnd::AgentLost
        | SessionEnd::TechnicianEnded) => {
            let reason = end_reason(end);
            control
                .last_word(connection, RelayMessage::Ended { reason })
                .await;
        }
        SessionEnd::TechnicianExpired => {
            cut_off(shared, connection, Cut::Expired, &expired.to_string());
        }
        SessionEnd::TechnicianRevoked => {
            let reason = invalidated.borrow().clone().unwrap_or_default();
            cut_off(shared, connection, Cut::Revoked, &reason);
        }
        _ => connection.close(CLOSE_OK.into(), b"session ended"),
    }
    Ok(())
}

/// Closes a technician's connection whose certificate stopped being valid (if a revocation
/// did not already), telling it why.
fn cut_off(shared: &Shared, connection: &Connection, cut: Cut, reason: &str) {
    warn!(remote = %connection.remote_address(), "ending a technician's session: {reason}");
    shared.metrics.technician_session_cut(cut);
    let code = match cut {
        Cut::Revoked => CLOSE_REVOKED,
        Cut::Expired => CLOSE_EXPIRED,
    };
    connection.close(code.into(), reason.as_bytes());
}

/// The technician a connection's certificate names; refusals are logged and audited.
fn technician(
    shared: &Shared,
    connection: &Connection,
    machine: &str,
) -> Result<Technician, Refusal> {
    let refuse = |reason: Refusal, name: String| {
        warn!(remote = %connection.remote_address(), %name, machine, "technician refused: {reason}");
        shared.audit.record(AuditEvent::AccessRefused {
            technician: Peer {
                addr: connection.remote_address(),
                name,
            },
            machine: machine.to_owned(),
            reason,
        });
        reason
    };
    if shared.organisation.is_none() {
        return Err(refuse(Refusal::UnattendedDisabled, String::new()));
    }
    let Some((
        CertInfo {
            kind: CertKind::Technician { role },
            name,
            serial,
            not_after,
            ..
        },
        _,
    )) = org::client_certificate(connection)
    else {
        return Err(refuse(
            Refusal::TechnicianCertificateRequired,
            String::new(),
        ));
    };
    if let Err(e) = shared
        .directory()
        .technician_seen(&name, &role, &serial, SystemTime::now())
    {
        warn!("directory: {e}");
    }
    let ca_valid_until = shared
        .organisation
        .as_ref()
        .and_then(|organisation| tether_certs::describe(organisation.trust().ca_certificate()).ok())
        .map_or(not_after, |ca| ca.not_after);
    Ok(Technician {
        peer: Peer {
            addr: connection.remote_address(),
            name: format!("{name} ({role})"),
        },
        name,
        role,
        valid_until: not_after.min(ca_valid_until),
    })
}

/// The machine, if the technician may reach it and it is online.
fn reach(
    shared: &Shared,
    technician: Technician,
    machine: &str,
) -> Result<(Technician, MachineRecord, Connection), Refusal> {
    let refuse = |reason: Refusal, technician: &Technician| {
        warn!(technician = %technician.peer.name, machine, "access refused: {reason}");
        shared.audit.record(AuditEvent::AccessRefused {
            technician: technician.peer.clone(),
            machine: machine.to_owned(),
            reason,
        });
        reason
    };
    let directory = shared.directory();
    let Ok(Some(record)) = directory.machine(machine) else {
        drop(directory);
        return Err(refuse(Refusal::NotEnrolled, &technician));
    };
    let permitted = directory
        .may_reach(&technician.role, &record)
        .unwrap_or(false);
    drop(directory);
    if !permitted {
        return Err(refuse(Refusal::NotPermitted, &technician));
    }
    let Some(connection) = shared.online().get(machine).cloned() else {
        return Err(refuse(Refusal::MachineOffline, &technician));
    };
    Ok((technician, record, connection))
}

fn reachable(shared: &Shared, role: &str) -> Result<Vec<MachineRecord>, DirectoryError> {
    shared.directory().reachable(role)
}

fn summary(shared: &Shared, machine: &MachineRecord) -> MachineSummary {
    MachineSummary {
        name: machine.name.clone(),
        group: machine.group.clone(),
        online: shared.online().contains_key(&machine.name),
        last_seen_secs_ago: machine
            .last_seen
            .and_then(|seen| SystemTime::now().duration_since(seen).ok())
            .map(|ago| ago.as_secs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_expires_on_the_monotonic_clock_when_the_wall_clock_says() {
        let (wall_now, now) = (SystemTime::now(), Instant::now());
        let in_an_hour = wall_now + Duration::from_secs(3600);
        assert_eq!(
            expires_at(in_an_hour, wall_now, now),
            now + Duration::from_secs(3600)
        );
        let an_hour_ago = wall_now - Duration::from_secs(3600);
        assert_eq!(expires_at(an_hour_ago, wall_now, now), now, "at once");
    }
}
