//! `tether-agent enroll`: trades a one-time enrollment credential for a lasting machine identity.

use std::{path::Path, time::Duration};

use anyhow::{bail, Context};
use nix::unistd::{access, AccessFlags};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use tether_certs::{endorsement_message, AcceptedRoles, CertKind, Credential, OrgTrust};
use tether_e2e::MachineKey;
use tether_proto::control::{ClientMessage, RelayMessage};
use tether_transport::{close_and_wait, connect_to_org_relay, open_control};

use super::{
    refused::RelayRefused,
    state::{MachineRecord, MachineState},
};

/// How long hanging up after the enrollment waits for the relay to hear of it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A completed enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// The machine's name, as the credential gave it.
    pub machine: String,
    /// Its group.
    pub group: String,
    /// The new machine key's fingerprint.
    pub key_fingerprint: String,
    /// The technicians' roles the machine serves, as the credential named them.
    pub accepted_roles: AcceptedRoles,
    /// Whether the credential file (its private key with it) is gone; `Err` says why not.
    pub credential_deleted: Result<(), String>,
}

/// Enrolls this machine with `relay` using the credential in `credential_file` (the bundle
/// `tether-certs enroll` wrote: certificate, CA and key), keeps the new identity in
/// `state_dir`, and deletes the credential: it works once, and whoever copied its key could
/// endorse a machine key of their own for this machine until the organisation retires it.
/// Refuses to start when the credential could not be deleted afterwards.
pub async fn enroll(
    relay: &str,
    credential_file: &Path,
    state_dir: &Path,
) -> anyhow::Result<Enrollment> {
    if MachineState::exists(state_dir) {
        bail!(
            "{} already holds an enrollment; remove it to enroll this machine again",
            state_dir.display()
        );
    }
    let credential = Credential::load(credential_file, None)?;
    ensure_deletable(credential_file)?;
    let info = credential.info()?;
    let CertKind::Enrollment { group } = info.kind else {
        bail!(
            "{} is not an enrollment credential (make one with `tether-certs enroll`)",
            credential_file.display()
        );
    };
    let machine = info.name;
    let ca_pem = ca_certificate_pem(credential_file)?;
    let trust = OrgTrust::from_pem(ca_pem.as_bytes(), None)?;

    let (key, pkcs8) = MachineKey::generate()?;
    let machine_key = key.public_key();
    let (_, endorsement) = credential.sign(&endorsement_message(&machine, &machine_key))?;
    let accepted_roles = info.accepted_roles;
    let record = MachineRecord {
        relay: relay.to_owned(),
        machine: machine.clone(),
        group: group.clone(),
        accept_roles: accepted_roles.names().map(<[String]>::to_vec),
    };
    // Saved first, so a machine enrolled at the relay never lacks its key here.
    MachineState::save(state_dir, &record, &pkcs8, &ca_pem)?;
    let answer = async {
        let client_auth = (credential.chain().to_vec(), credential.private_key());
        let relay_connection =
            connect_to_org_relay(relay, trust.server_verifier()?, Some(client_auth)).await?;
        let connection = relay_connection.connection;
        let software = concat!("tether-agent ", env!("CARGO_PKG_VERSION"));
        let (mut send, mut recv) = open_control(&connection, software).await?;
        match recv.recv().await? {
            Some(RelayMessage::Welcome { .. }) => {}
            Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
            other => bail!("unexpected answer from the relay: {other:?}"),
        }
        send.send(&ClientMessage::Enroll {
            machine: machine.clone(),
            machine_key,
            endorsement,
        })
        .await?;
        let answer = recv.recv().await?;
        // So the relay hears of the close before this process exits.
        let endpoint = &relay_connection.endpoint;
        close_and_wait(&connection, endpoint, b"enrolled", CLOSE_WAIT).await;
        anyhow::Ok(answer)
    }
    .await;
    match answer {
        Ok(Some(RelayMessage::Enrolled { machine, group })) => Ok(Enrollment {
            machine,
            group,
            key_fingerprint: tether_e2e::machine_key_fingerprint(&machine_key),
            accepted_roles,
            credential_deleted: std::fs::remove_file(credential_file).map_err(|e| e.to_string()),
        }),
        other => {
            MachineState::discard(state_dir);
            match other {
                Ok(Some(RelayMessage::Refused { reason })) => Err(RelayRefused(reason).into()),
                Ok(other) => bail!("unexpected answer from the relay: {other:?}"),
                Err(e) => Err(e.context(format!("cannot enroll with {relay}"))),
            }
        }
    }
}

/// Fails unless this account may delete `file` (write access to its directory), so that an
/// enrollment never leaves its credential behind.
fn ensure_deletable(file: &Path) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    access(dir, AccessFlags::W_OK).with_context(|| {
        format!(
            "{} could not be deleted after enrolling (no write access to {}): the credential \
             works once and must not stay behind; move it where this account may delete it",
            file.display(),
            dir.display()
        )
    })
}

/// The organisation's CA certificate from a credential bundle, as PEM.
fn ca_certificate_pem(bundle: &Path) -> anyhow::Result<String> {
    let certs = CertificateDer::pem_file_iter(bundle)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from {}", bundle.display()))?;
    let ca = certs
        .iter()
        .find(|cert| {
            tether_certs::describe(cert).is_ok_and(|info| matches!(info.kind, CertKind::Ca))
        })
        .with_context(|| format!("{} holds no CA certificate", bundle.display()))?;
    Ok(pem::encode(&pem::Pem::new("CERTIFICATE", ca.to_vec())))
}
