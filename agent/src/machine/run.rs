//! `tether-agent run`: keeps an enrolled machine online and serves technicians' shells.

use std::{
    future::Future,
    net::SocketAddr,
    pin::pin,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::{bail, Context};
use quinn::{Connection, RecvStream, SendStream};
use tether_proto::{
    control::{
        online_proof_message, ClientMessage, EndReason, RelayMessage, StreamHeader,
        ONLINE_EXPORTER_LABEL, ONLINE_EXPORTER_LEN,
    },
    data_path::DirectPath,
    shell::{ExitStatus, ShellRequest, ShellResponse},
};
use tether_shell::{MessageIn, MessageOut, ShellConfig};
use tether_transport::{
    close_and_wait, connect_to_org_relay,
    direct::{agent_direct, DirectLink, Negotiation},
    identity::OrgAuthority,
    machine_handshake, open_control, race, Backoff, MessageReceiver, MessageSender,
    RelayConnection, SecureStream, Trailing, HANDSHAKE_TIMEOUT,
};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::{refused::RelayRefused, state::MachineState};
use crate::shell_end;

/// How long one attempt to reach the relay may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first and the longest wait between attempts to reach the relay.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long a finished shell waits for the viewer to close the session stream.
const SESSION_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long a stopping agent waits for the relay to acknowledge its goodbye.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// How an enrolled machine runs.
pub struct MachineConfig {
    /// Its enrollment.
    pub state: MachineState,
    /// The relay to use instead of the one it enrolled with, if any.
    pub relay: Option<String>,
    /// What shells run.
    pub shell: ShellConfig,
}

/// What the machine reports to whoever runs it (a terminal, a journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineEvent {
    /// Online at the relay: technicians can reach it.
    Online {
        /// The relay.
        relay: String,
    },
    /// The relay is unreachable or went away; the next attempt follows after `retry_in`.
    RelayLost {
        /// Why.
        reason: String,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// A verified technician opened a shell.
    ShellOpened {
        /// The relay's session id.
        session_id: u64,
        /// The technician's certificate name.
        technician: String,
        /// Its role.
        role: String,
        /// Whether it runs on the session's own connection through the relay's data port
        /// (else on the stream the relay forwards).
        data_path: bool,
    },
    /// A shell ended (its program exited, the session broke, or the technician's certificate
    /// expired).
    ShellEnded {
        /// The relay's session id.
        session_id: u64,
        /// How: the exit code, or the error that ended it.
        outcome: String,
    },
    /// A newer revocation list of the organisation's came, and technicians it revokes are
    /// refused from now on.
    Revocations {
        /// How many certificates it revokes.
        revoked: usize,
    },
    /// A stream was refused before a shell started (a technician the CA does not vouch for,
    /// one of a role the machine does not accept, a tampered handshake, or a malformed
    /// request).
    ShellRefused {
        /// The relay's session id.
        session_id: u64,
        /// Why.
        reason: String,
    },
}

/// Keeps the machine online until `stop` completes (or the relay says it is not enrolled):
/// connects, proves the machine key, serves streams, and reconnects with jittered exponential
/// backoff whenever the relay goes away. Stopping closes the relay connection, so the
/// machine is offline at once and its open sessions end, rather than when the relay's idle
/// timeout notices; the shells themselves are hung up when the caller drops the runtime.
pub async fn run_machine(
    config: MachineConfig,
    events: mpsc::UnboundedSender<MachineEvent>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let relay = config
        .relay
        .clone()
        .unwrap_or_else(|| config.state.record.relay.clone());
    let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
    let mut stop = pin!(stop);
    loop {
        let attempt = tokio::select! {
            attempt = connect(&config, &relay) => attempt,
            () = &mut stop => return Ok(()),
        };
        let reason = match attempt {
            Ok(connected) => {
                let served = tokio::select! {
                    served = serve(&config, &connected.connection, &relay, &events, &mut backoff) => served,
                    () = &mut stop => {
                        say_goodbye(&connected).await;
                        return Ok(());
                    }
                };
                match served {
                    Ok(reason) => reason,
                    Err(e) if is_fatal(&e) => return Err(e),
                    Err(e) => format!("{e:#}"),
                }
            }
            Err(e) => format!("{e:#}"),
        };
        let retry_in = backoff.next_delay(rand::random());
        let _ = events.send(MachineEvent::RelayLost { reason, retry_in });
        tokio::select! {
            () = tokio::time::sleep(retry_in) => {}
            () = &mut stop => return Ok(()),
        }
    }
}

/// One attempt to reach the relay, verified against the organisation's CA.
async fn connect(config: &MachineConfig, relay: &str) -> anyhow::Result<RelayConnection> {
    let verifier = config.state.trust.current().server_verifier()?;
    let connected =
        tokio::time::timeout(CONNECT_TIMEOUT, connect_to_org_relay(relay, verifier, None))
            .await
            .context("the relay did not answer in time")??;
    Ok(connected)
}

/// Closes the relay connection and waits (briefly) until the relay has acknowledged it.
async fn say_goodbye(connected: &RelayConnection) {
    let (connection, endpoint) = (&connected.connection, &connected.endpoint);
    if !close_and_wait(connection, endpoint, b"the agent is stopping", GOODBYE_WAIT).await {
        warn!("the relay did not acknowledge the goodbye in time");
    }
}

fn is_fatal(error: &anyhow::Error) -> bool {
    error.downcast_ref::<RelayRefused>().is_some()
}

/// Goes online on `connection` and serves technicians' streams until the relay goes away;
/// returns why it did.
async fn serve(
    config: &Arc<MachineConfig>,
    connection: &Connection,
    relay: &str,
    events: &mpsc::UnboundedSender<MachineEvent>,
    backoff: &mut Backoff,
) -> anyhow::Result<String> {
    let software = concat!("tether-agent ", env!("CARGO_PKG_VERSION"));
    let (mut send, mut recv) = open_control(connection, software).await?;
    match recv.recv().await? {
        Some(RelayMessage::Welcome { .. }) => {}
        Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
    let machine = config.state.record.machine.clone();
    let mut exported = [0u8; ONLINE_EXPORTER_LEN];
    connection
        .export_keying_material(&mut exported, ONLINE_EXPORTER_LABEL, b"")
        .map_err(|_| anyhow::anyhow!("cannot export TLS keying material"))?;
    let proof = config
        .state
        .key
        .sign(&online_proof_message(&machine, &exported));
    send.send(&ClientMessage::Online { machine, proof }).await?;
    match recv.recv().await? {
        Some(RelayMessage::Online) => {}
        Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
    backoff.reset();
    let _ = events.send(MachineEvent::Online {
        relay: relay.to_owned(),
    });
    loop {
        tokio::select! {
            stream = connection.accept_bi() => {
                let (send, recv) = stream.context("the relay connection closed")?;
                let config = config.clone();
                let events = events.clone();
                let relay = connection.remote_address();
                tokio::spawn(async move { serve_stream(&config, relay, send, recv, &events).await });
            }
            message = recv.recv() => match message? {
                Some(RelayMessage::Ended { reason: EndReason::RelayShutdown }) => {
                    return Ok("the relay shut down".to_owned());
                }
                Some(RelayMessage::Revocations { crl }) => {
                    if let Some(revoked) = config.state.trust.take_crl(&crl)? {
                        let _ = events.send(MachineEvent::Revocations { revoked });
                    }
                }
                None => return Ok("the relay closed the connection".to_owned()),
                Some(other) => bail!("unexpected message from the relay: {other:?}"),
            },
        }
    }
}

/// Serves one forwarded stream: the unattended handshake, then one shell.
async fn serve_stream(
    config: &MachineConfig,
    relay: SocketAddr,
    send: SendStream,
    recv: RecvStream,
    events: &mpsc::UnboundedSender<MachineEvent>,
) {
    let mut recv = MessageReceiver::<StreamHeader>::new(recv);
    let header = match recv.recv().await {
        Ok(Some(header)) => header,
        other => {
            warn!("a forwarded stream without its header: {other:?}");
            return;
        }
    };
    let trust = config.state.trust.current();
    let authority = OrgAuthority {
        trust: &trust,
        now: SystemTime::now(),
        accepted_roles: &config.state.accepted_roles,
    };
    let session_id = header.session_id;
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        machine_handshake::<DirectPath, DirectPath, _>(
            send,
            recv.retype(),
            &config.state.key,
            &authority,
            session_id,
        ),
    )
    .await;
    let (stream, technician) = match handshake {
        Ok(Ok(secured)) => secured,
        Ok(Err(e)) => {
            let reason = e.to_string();
            let _ = events.send(MachineEvent::ShellRefused { session_id, reason });
            return;
        }
        Err(_) => {
            let reason = "the technician did not finish the handshake in time".to_owned();
            let _ = events.send(MachineEvent::ShellRefused { session_id, reason });
            return;
        }
    };
    info!(session_id, technician = %technician.name, role = %technician.role, "technician verified");
    let mut negotiation = stream;
    let direct = match agent_direct(&mut negotiation, relay, header.data_path).await {
        Ok(direct) => direct,
        Err(e) => {
            let reason = e.to_string();
            let _ = events.send(MachineEvent::ShellRefused { session_id, reason });
            return;
        }
    };
    let _ = events.send(MachineEvent::ShellOpened {
        session_id,
        technician: technician.name,
        role: technician.role,
        data_path: direct.is_some(),
    });
    // A session lasts no longer than the certificate that opened it: when it expires or is
    // revoked, the shell is dropped, which kills its process group and hangs up its streams.
    let mut revoked = std::pin::pin!(config.state.trust.revoked(&technician.chain));
    let ended = tokio::select! {
        ended = shell(config, negotiation, direct) => {
            ended.map(|status| format!("exit code {}", status.code))
        }
        () = tokio::time::sleep(until(technician.expires_at, SystemTime::now())) => {
            Ok(CERTIFICATE_EXPIRED.to_owned())
        }
        () = &mut revoked => Ok(CERTIFICATE_REVOKED.to_owned()),
    };
    let outcome = match ended {
        Ok(outcome) => outcome,
        // The relay cuts a revoked technician off as it passes the new list on, so the list
        // can come just after the break it caused, and says why.
        Err(e) => match tokio::time::timeout(Trailing::RelayReason.window(), &mut revoked).await {
            Ok(()) => CERTIFICATE_REVOKED.to_owned(),
            Err(_) => format!("{e:#}"),
        },
    };
    let _ = events.send(MachineEvent::ShellEnded {
        session_id,
        outcome,
    });
}

/// Why a shell ended when its technician's certificate expired, in words for the log.
const CERTIFICATE_EXPIRED: &str = "the technician's certificate expired";
/// Why a shell ended when its technician's certificate was revoked, in words for the log.
const CERTIFICATE_REVOKED: &str = "the technician's certificate was revoked";

/// How long from `now` until `deadline` (nothing once it has passed).
fn until(deadline: SystemTime, now: SystemTime) -> Duration {
    deadline.duration_since(now).unwrap_or(Duration::ZERO)
}

/// Serves one shell on the data path (`direct`) or on the session stream.
async fn shell(
    config: &MachineConfig,
    negotiation: Negotiation,
    direct: Option<DirectLink>,
) -> anyhow::Result<ExitStatus> {
    let SecureStream { send, recv, .. } = negotiation;
    let Some(link) = direct else {
        return run_shell(config, &mut send.retype(), &mut recv.retype()).await;
    };
    let (to_viewer, from_viewer) = link.connection.accept_bi().await?;
    let (mut to_viewer, mut from_viewer) = (
        MessageSender::new(to_viewer),
        MessageReceiver::new(from_viewer),
    );
    let mut session_stream = recv;
    // The session stream stays quiet while the shell runs on the data path; it ends early only
    // when the relay ends the session (the viewer vanished, a revocation, a shutdown).
    let shell = run_shell(config, &mut to_viewer, &mut from_viewer);
    let raced = race(shell, session_stream.recv(), shell_end::enrolled_trailing).await;
    let status = shell_end::enrolled(raced)?;
    // The viewer closes the session stream once it has the exit status.
    let _ = tokio::time::timeout(SESSION_CLOSE_WAIT, session_stream.recv()).await;
    link.close();
    Ok(status)
}

async fn run_shell(
    config: &MachineConfig,
    send: &mut impl MessageOut<ShellResponse>,
    recv: &mut impl MessageIn<ShellRequest>,
) -> anyhow::Result<ExitStatus> {
    let open = tether_shell::receive_open(recv).await?;
    // Closes the stream itself once the program's exit status is sent.
    Ok(tether_shell::serve_shell(open, &config.shell, send, recv).await?)
}
