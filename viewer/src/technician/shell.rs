//! `tether-viewer shell MACHINE [-t] [-- CMD...]`: a shell on an enrolled machine, like ssh.

use std::{
    io::IsTerminal,
    time::{Duration, SystemTime},
};

use anyhow::{bail, Context};
use rustls::pki_types::CertificateDer;
use tether_e2e::E2eError;
use tether_proto::{
    control::{ClientMessage, MachineIdentity, RelayMessage},
    secure::AbortReason,
    shell::{ExitStatus, ShellRequest, ShellResponse},
};
use tether_shell::{MessageIn, MessageOut};
use tether_transport::{
    direct::{viewer_direct, Negotiation},
    identity::TechnicianCredential,
    technician_handshake, MessageReceiver, MessageSender, SecureStream, TransportError,
};

use super::{connect::TechnicianArgs, refused::RelayRefused, tls_refusal::explain};

/// How a shell ended.
#[derive(Debug)]
pub enum ShellOutcome {
    /// The remote program exited.
    Exited(ExitStatus),
    /// The technician dropped the session with the `~.` escape.
    Disconnected,
}

/// What to run on the machine, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProgram {
    /// The program and its arguments; `None` runs the account's login shell.
    pub command: Option<Vec<String>>,
    /// Whether it runs on a remote terminal driven by this one (`ssh host`, `ssh -t host
    /// CMD`), which needs a terminal here, rather than on pipes (`ssh host CMD`, `ssh host
    /// < script`).
    pub on_terminal: bool,
}

/// Opens a shell on `machine` and runs `program` to the end.
pub async fn open_shell(
    args: &TechnicianArgs,
    machine: &str,
    program: RemoteProgram,
) -> anyhow::Result<ShellOutcome> {
    if program.on_terminal && !std::io::stdin().is_terminal() {
        bail!("-t needs a terminal on standard input; without -t the command runs on pipes");
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
    let (session_id, identity, ticket) = match answer {
        Some(RelayMessage::Opened {
            session_id,
            machine,
            data_path,
        }) => (session_id, machine, data_path),
        Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    };
    check_identity(&relay.trust, machine, &identity)?;
    let expires_at = relay.credential.info()?.not_after;
    let stream = relay.connection.open_bi().await?;
    let mut negotiation: Negotiation = technician_handshake(
        stream,
        &TechnicianCredential(&relay.credential),
        identity.machine_key,
        session_id,
    )
    .await
    .map_err(|e| handshake_failure(e, machine))?;
    let direct = viewer_direct(&mut negotiation, relay.connection.remote_address(), ticket)
        .await
        .with_context(|| format!("cannot agree on a data path with {machine}"))?;
    let SecureStream { send, recv, .. } = negotiation;
    let (mut session_stream, outcome) = match direct {
        Some(link) => {
            let (to_agent, from_agent) = link.connection.open_bi().await?;
            let mut out = MessageSender::new(to_agent);
            let mut input = MessageReceiver::new(from_agent);
            let mut session_stream = recv;
            // The session stream stays quiet until the end; it ends early only when the relay
            // ends the session (a revoked certificate, a shutdown) or the agent is gone.
            let outcome = tokio::select! {
                outcome = run_program(program, &mut out, &mut input) => outcome,
                ended = session_stream.recv() => Err(match ended {
                    Err(e) => e.into(),
                    Ok(_) => tether_shell::ShellError::Closed,
                }),
            };
            link.close();
            (send, outcome)
        }
        None => {
            let (mut out, mut input) = (send.retype(), recv.retype());
            let outcome = run_program(program, &mut out, &mut input).await;
            (out.retype(), outcome)
        }
    };
    let outcome = outcome.map_err(|e| explain_end(e.into(), expires_at, SystemTime::now()))?;
    let _ = session_stream.close().await;
    relay.close().await;
    Ok(outcome)
}

/// How far the machine's clock may be ahead of this one's when it ends a session for the
/// certificate's expiry.
const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// Why a shell broke, in terms a technician can act on: a certificate that has expired (at
/// `now`, give or take [`CLOCK_SKEW`]) is why, since machines (and the relay) end a session
/// when the certificate that opened it expires.
fn explain_end(error: anyhow::Error, expires_at: SystemTime, now: SystemTime) -> anyhow::Error {
    if now + CLOCK_SKEW < expires_at {
        return error;
    }
    error.context(format!(
        "the session ended because your technician certificate expired at {}: a session lasts \
         no longer than the certificate that opened it; ask the organisation's admin for a new \
         one",
        tether_certs::pki::format_time(expires_at)
    ))
}

/// Runs `program` over a shell stream.
pub(crate) async fn run_program(
    program: RemoteProgram,
    out: &mut impl MessageOut<ShellRequest>,
    input: &mut impl MessageIn<ShellResponse>,
) -> Result<ShellOutcome, tether_shell::ShellError> {
    let RemoteProgram {
        command,
        on_terminal,
    } = program;
    let ran = if on_terminal {
        tether_shell::client::run_interactive(command, out, input).await
    } else {
        tether_shell::client::run_command(command, out, input).await
    };
    match ran {
        Ok(status) => Ok(ShellOutcome::Exited(status)),
        Err(tether_shell::ShellError::EscapeDisconnect) => Ok(ShellOutcome::Disconnected),
        Err(e) => Err(e),
    }
}

/// Why the session with `machine` could not be secured, in terms a technician can act on.
fn handshake_failure(error: TransportError, machine: &str) -> anyhow::Error {
    match error {
        TransportError::E2e(E2eError::Aborted(AbortReason::IdentityRejected)) => anyhow::anyhow!(
            "{machine} refused your certificate: machines check it against the organisation's \
             CA and revocation list themselves (their `tether-agent run` output says why)"
        ),
        TransportError::E2e(E2eError::Aborted(AbortReason::RoleNotAccepted)) => anyhow::anyhow!(
            "{machine} does not accept technicians of your role: its enrollment names the roles \
             it serves (`tether-certs enroll --accept-role`), and it checks them itself whatever \
             the relay allows"
        ),
        error => {
            anyhow::Error::new(error).context(format!("cannot secure the session with {machine}"))
        }
    }
}

/// The machine the relay put us through to must be the one asked for, with the key its
/// enrollment credential (issued by the organisation's CA) endorsed, and the organisation's
/// revocation list must not have withdrawn that credential (revoked or superseded).
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
        .verify_standing_endorsement(
            &CertificateDer::from(identity.enrollment_cert.as_slice()),
            &identity.name,
            &identity.machine_key,
            &identity.endorsement,
        )
        .with_context(|| {
            format!(
                "the relay presented a key for {machine} that the organisation does not endorse"
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_that_breaks_once_the_certificate_expired_says_why() {
        let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let broke = || anyhow::anyhow!("the stream ended without the peer's close record");
        let early = explain_end(broke(), expires_at, expires_at - Duration::from_secs(60));
        assert_eq!(
            format!("{early:#}"),
            "the stream ended without the peer's close record"
        );
        // The machine's clock may run a little ahead of this one.
        for now in [expires_at - CLOCK_SKEW, expires_at + Duration::from_secs(1)] {
            let expired = format!("{:#}", explain_end(broke(), expires_at, now));
            assert!(
                expired.starts_with(
                    "the session ended because your technician certificate expired at \
                     2033-05-18T03:33:20Z"
                ),
                "{expired}"
            );
            assert!(expired.ends_with("close record"), "{expired}");
        }
    }
}
