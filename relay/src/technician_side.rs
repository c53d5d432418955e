//! The relay's side of a technician (a viewer with a client certificate from the organisation's
//! CA): listing the machines it may reach, and opening sessions with them.

use std::time::{Instant, SystemTime};

use quinn::Connection;
use tether_proto::control::{MachineIdentity, MachineSummary, Refusal, RelayMessage, StreamHeader};
use tracing::{info, warn};

use crate::{
    audit::AuditEvent,
    connection_limit::ConnectionSlot,
    control::{Control, CLOSE_OK},
    directory::{DirectoryError, MachineRecord},
    error::RelayError,
    forward::{SessionTally, Splice},
    org,
    session::{end_reason, Peer, SessionEnd, SessionEnded},
    shared::Shared,
};

/// A technician as its verified certificate names it.
struct Technician {
    peer: Peer,
    role: String,
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
    shared
        .technician_sessions()
        .insert(id, (chain, connection.clone()));
    let outcome = async {
        control.send.send(&opened).await?;
        shared
            .metrics
            .pairing_latency
            .observe(received.elapsed().as_secs_f64());
        tokio::select! {
            left = splice.run(&mut control) => left.map(|()| SessionEnd::ViewerDisconnected),
            _ = machine_connection.closed() => Ok(SessionEnd::AgentDisconnected),
            _ = shared.shutdown_requested() => Ok(SessionEnd::RelayShutdown),
        }
    }
    .await;
    shared.technician_sessions().remove(&id);
    shared.session_ended(SessionEnded {
        session_id,
        end: SessionEnd::of(&outcome).recorded(shared.is_shutting_down()),
        duration: started.elapsed(),
        bytes_to_agent: tally.to_agent(),
        bytes_to_viewer: tally.to_viewer(),
    });
    match outcome? {
        end @ (SessionEnd::RelayShutdown | SessionEnd::AgentDisconnected) => {
            let reason = end_reason(end);
            control
                .last_word(connection, RelayMessage::Ended { reason })
                .await;
        }
        _ => connection.close(CLOSE_OK.into(), b"session ended"),
    }
    Ok(())
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
    let Some((name, role)) = org::technician(connection) else {
        return Err(refuse(
            Refusal::TechnicianCertificateRequired,
            String::new(),
        ));
    };
    let serial = org::client_certificate(connection)
        .map(|(info, _)| info.serial)
        .unwrap_or_default();
    if let Err(e) = shared
        .directory()
        .technician_seen(&name, &role, &serial, SystemTime::now())
    {
        warn!("directory: {e}");
    }
    Ok(Technician {
        peer: Peer {
            addr: connection.remote_address(),
            name: format!("{name} ({role})"),
        },
        role,
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
