//! `tether-viewer shell MACHINE [-- CMD...]`: a shell on an enrolled machine, like ssh.

use std::io::IsTerminal;

use anyhow::{bail, Context};
use rustls::pki_types::CertificateDer;
use tether_proto::{
    control::{ClientMessage, MachineIdentity, RelayMessage},
    shell::{ExitStatus, ShellRequest, ShellResponse},
};
use tether_transport::{identity::TechnicianCredential, technician_handshake, SecureStream};

use super::{tls_refusal::explain, TechnicianArgs};

/// How a shell ended.
#[derive(Debug)]
pub enum ShellOutcome {
    /// The remote program exited.
    Exited(ExitStatus),
    /// The technician dropped the session with the `~.` escape.
    Disconnected,
}

/// Opens a shell on `machine` (its login shell, or `command`) and runs it to the end: on this
/// terminal when `command` is `None`, else like `ssh host command` (pipes, no terminal needed).
pub async fn open_shell(
    args: &TechnicianArgs,
    machine: &str,
    command: Option<Vec<String>>,
) -> anyhow::Result<ShellOutcome> {
    if command.is_none() && !std::io::stdin().is_terminal() {
        bail!(
            "an interactive shell needs a terminal on standard input; to run a command from a \
             script, give it after `--`"
        );
    }
    let mut relay = args.connect().await?;
    relay
        .send
        .send(&ClientMessage::Open {
            machine: machine.to_owned(),
        })
        .await?;
    let answer = relay
        .recv
        .recv()
        .await
        .map_err(|e| anyhow::anyhow!(explain(&e.to_string())))?;
    let (session_id, identity) = match answer {
        Some(RelayMessage::Opened {
            session_id,
            machine,
        }) => (session_id, machine),
        Some(RelayMessage::Refused { reason }) => bail!(super::RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    };
    check_identity(&relay.trust, machine, &identity)?;
    let stream = relay.connection.open_bi().await?;
    let secured: SecureStream<ShellRequest, ShellResponse> = technician_handshake(
        stream,
        &TechnicianCredential(&relay.credential),
        identity.machine_key,
        session_id,
    )
    .await
    .with_context(|| format!("cannot secure the session with {machine}"))?;
    let SecureStream {
        mut send, mut recv, ..
    } = secured;
    let outcome = match command {
        Some(command) => tether_shell::client::run_command(command, &mut send, &mut recv).await,
        None => tether_shell::client::run_interactive(None, &mut send, &mut recv).await,
    };
    let outcome = match outcome {
        Ok(status) => ShellOutcome::Exited(status),
        Err(tether_shell::ShellError::EscapeDisconnect) => ShellOutcome::Disconnected,
        Err(e) => return Err(e.into()),
    };
    let _ = send.close().await;
    relay.close().await;
    Ok(outcome)
}

/// The machine the relay put us through to must be the one asked for, with the key its
/// enrollment credential (issued by the organisation's CA) endorsed.
fn check_identity(
    trust: &tether_certs::OrgTrust,
    machine: &str,
    identity: &MachineIdentity,
) -> anyhow::Result<()> {
    if identity.name != machine {
        bail!(
            "the relay answered for {:?} when asked for {machine:?}",
            identity.name
        );
    }
    trust
        .verify_endorsement(
            &CertificateDer::from(identity.enrollment_cert.as_slice()),
            &identity.name,
            &identity.machine_key,
            &identity.endorsement,
        )
        .with_context(|| {
            format!("the relay presented a key for {machine} that the organisation never endorsed")
        })?;
    Ok(())
}
