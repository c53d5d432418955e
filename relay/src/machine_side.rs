//! The relay's side of an enrolled machine's agent: enrollment with a one-time credential, then
//! staying online for technicians' sessions.

use std::time::SystemTime;

use quinn::Connection;
use tether_certs::{CertInfo, CertKind};
use tether_proto::control::{
    online_proof_message, Refusal, RelayMessage, ONLINE_EXPORTER_LABEL, ONLINE_EXPORTER_LEN,
};
use tether_transport::TransportError;
use tracing::{info, warn};

use crate::{
    audit::AuditEvent,
    connection_limit::ConnectionSlot,
    control::{Control, CLOSE_OK},
    directory::{DirectoryError, Enrolled, NewMachine},
    error::RelayError,
    org::{client_certificate, Organisation},
    session::Peer,
    shared::Shared,
};

/// What an agent sent to enroll.
pub(crate) struct EnrollRequest {
    pub machine: String,
    pub machine_key: [u8; 32],
    pub endorsement: Vec<u8>,
}

/// Enrolls the machine if the connection carries the enrollment credential issued for it, that
/// credential endorsed the machine key, and it was never used before.
pub(crate) async fn enroll(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    request: EnrollRequest,
) -> Result<(), RelayError> {
    let peer = Peer {
        addr: connection.remote_address(),
        name: request.machine.clone(),
    };
    let outcome = check_enrollment(shared, connection, request);
    let reply = match outcome {
        Ok((group, replaced)) => {
            info!(machine = %peer.name, %group, replaced, "machine enrolled");
            shared.audit.record(AuditEvent::MachineEnrolled {
                machine: peer.clone(),
                group: group.clone(),
                replaced,
            });
            RelayMessage::Enrolled {
                machine: peer.name,
                group,
            }
        }
        Err(reason) => {
            warn!(remote = %peer.addr, machine = %peer.name, "enrollment refused: {reason}");
            shared.audit.record(AuditEvent::MachineRefused {
                machine: peer,
                reason,
            });
            RelayMessage::Refused { reason }
        }
    };
    control.last_word(connection, reply).await;
    Ok(())
}

/// The group the credential puts the machine in and whether it replaced an enrollment.
fn check_enrollment(
    shared: &Shared,
    connection: &Connection,
    request: EnrollRequest,
) -> Result<(String, bool), Refusal> {
    let organisation = shared
        .organisation
        .as_ref()
        .ok_or(Refusal::UnattendedDisabled)?;
    let (info, leaf) =
        client_certificate(connection).ok_or(Refusal::EnrollmentCredentialRequired)?;
    let CertInfo {
        kind: CertKind::Enrollment { group },
        name,
        serial,
        ..
    } = info
    else {
        return Err(Refusal::EnrollmentCredentialRequired);
    };
    if name != request.machine {
        return Err(Refusal::EnrollmentCredentialRequired);
    }
    organisation
        .trust()
        .verify_endorsement(&leaf, &name, &request.machine_key, &request.endorsement)
        .map_err(|e| {
            warn!(machine = %name, "endorsement does not verify: {e}");
            Refusal::EnrollmentCredentialRequired
        })?;
    let enrolled = shared.directory().enroll(
        NewMachine {
            name,
            group: group.clone(),
            machine_key: request.machine_key,
            enrollment_cert: leaf.to_vec(),
            endorsement: request.endorsement,
            enrollment_serial: serial,
        },
        SystemTime::now(),
    );
    match enrolled {
        Ok(enrolled) => Ok((group, matches!(enrolled, Enrolled::Replaced { .. }))),
        Err(DirectoryError::CredentialUsed { .. }) => Err(Refusal::CredentialUsed),
        Err(e) => {
            warn!("directory: {e}");
            Err(Refusal::Busy)
        }
    }
}

/// Keeps an enrolled machine online until its agent leaves (or another connection of the same
/// machine replaces this one, or the relay shuts down), once it proved it holds the machine key.
pub(crate) async fn online(
    shared: &Shared,
    connection: &Connection,
    slot: &mut ConnectionSlot,
    mut control: Control,
    machine: String,
    proof: Vec<u8>,
) -> Result<(), RelayError> {
    let peer = Peer {
        addr: connection.remote_address(),
        name: machine.clone(),
    };
    if let Err(reason) = check_online(shared, connection, &machine, &proof) {
        warn!(remote = %peer.addr, %machine, "online refused: {reason}");
        shared.audit.record(AuditEvent::MachineRefused {
            machine: peer,
            reason,
        });
        control
            .last_word(connection, RelayMessage::Refused { reason })
            .await;
        return Ok(());
    }
    // A machine that proved its key no longer counts against its network's connections: a
    // fleet in one subnet, or behind one address, fits.
    slot.authenticate();
    let replaced = shared.online().insert(machine.clone(), connection.clone());
    if let Some(old) = replaced {
        old.close(
            CLOSE_OK.into(),
            b"replaced by a newer connection of the same machine",
        );
    }
    shared.metrics.machines_online.inc();
    let _ = shared.directory().machine_seen(&machine, SystemTime::now());
    info!(remote = %peer.addr, %machine, "machine online");
    shared
        .audit
        .record(AuditEvent::MachineOnline { machine: peer });
    let result = async {
        control.send.send(&RelayMessage::Online).await?;
        // Online implies an organisation (`check_online`).
        let Some(organisation) = shared.organisation.as_ref() else {
            return Ok(());
        };
        let mut reloads = organisation.watch_reloads();
        send_revocations(&mut control, organisation).await?;
        loop {
            tokio::select! {
                _ = connection.closed() => return Ok(()),
                _ = shared.shutdown_requested() => {
                    let reason = tether_proto::control::EndReason::RelayShutdown;
                    control.last_word(connection, RelayMessage::Ended { reason }).await;
                    return Ok(());
                }
                Ok(()) = reloads.changed() => send_revocations(&mut control, organisation).await?,
                message = control.next() => match message? {
                    None => return Ok(()),
                    Some(other) => return Err(RelayError::unexpected(&other, "from an online machine")),
                },
            }
        }
    }
    .await;
    {
        let mut online = shared.online();
        if online
            .get(&machine)
            .is_some_and(|current| current.stable_id() == connection.stable_id())
        {
            online.remove(&machine);
        }
    }
    shared.metrics.machines_online.dec();
    let _ = shared.directory().machine_seen(&machine, SystemTime::now());
    info!(%machine, "machine offline");
    result
}

/// Passes the organisation's revocation list on to a machine, which checks it against the CA
/// and refuses the technicians it revokes by itself.
async fn send_revocations(
    control: &mut Control,
    organisation: &Organisation,
) -> Result<(), TransportError> {
    if let Some(crl) = organisation.trust().crl_der() {
        let crl = crl.to_vec();
        control
            .send
            .send(&RelayMessage::Revocations { crl })
            .await?;
    }
    Ok(())
}

fn check_online(
    shared: &Shared,
    connection: &Connection,
    machine: &str,
    proof: &[u8],
) -> Result<(), Refusal> {
    shared
        .organisation
        .as_ref()
        .ok_or(Refusal::UnattendedDisabled)?;
    let record = shared
        .directory()
        .machine(machine)
        .ok()
        .flatten()
        .ok_or(Refusal::NotEnrolled)?;
    let mut exported = [0u8; ONLINE_EXPORTER_LEN];
    connection
        .export_keying_material(&mut exported, ONLINE_EXPORTER_LABEL, b"")
        .map_err(|_| Refusal::NotEnrolled)?;
    let message = online_proof_message(machine, &exported);
    if tether_e2e::verify_machine_signature(&record.machine_key, &message, proof) {
        Ok(())
    } else {
        Err(Refusal::NotEnrolled)
    }
}
