//! The agent's conversation with the relay and the viewer: register, wait, secure the session
//! stream end to end, ask for consent, serve the session.

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context};
use quinn::Connection;
use rand::rngs::OsRng;
use tether_e2e::AgentResumption;
use tether_proto::{
    control::{ClientMessage, EndReason, RelayMessage, StreamHeader},
    session::{AgentMessage, Capabilities, ViewerMessage},
    SessionCode, PROTOCOL_VERSION,
};
use tether_screen::ScreenSource;
use tether_transport::{
    agent_handshake, connect_to_relay, open_control, stopped, Backoff, MessageReceiver,
    RelayTarget, SecureStream, HANDSHAKE_TIMEOUT,
};
use tokio::sync::{mpsc, Notify};

use crate::{
    consent::ConsentPolicy, control::say_user_ended, events::AgentEvent, pipeline::Pipeline,
    resume::LiveSession, screen::InputTarget, shell_session::serve_shell_session,
    stream::SessionTerms,
};

/// Codes that may be spent without a session before the agent gives up: each failed
/// handshake may have been someone's guess at the secret half.
pub const MAX_SPENT_CODES: u32 = 3;
/// How long one attempt to reach the relay may take (an unreachable relay never answers).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first and the longest wait between attempts to reach the relay.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The relay and how to trust it.
    pub target: RelayTarget,
    /// How this machine presents itself to the technician.
    pub name: String,
    /// Upper bound on captures per second.
    pub max_fps: u32,
    /// Who decides whether a technician may join.
    pub consent: ConsentPolicy,
    /// Notified when the user ends the session, or stops the agent (Ctrl-C, SIGTERM): a live
    /// session ends as when the user ends it, and an agent waiting for a technician stops.
    pub stop: Option<Arc<Notify>>,
    /// Where to replay the technician's input (`None`: input is dropped).
    pub input: Option<InputTarget>,
}

/// Runs the agent until one session is over, or `config.stop` stops it first: connects,
/// registers, reports the code, and serves the viewer that joins with it. A code spent without
/// a secured session is replaced by a new one up to [`MAX_SPENT_CODES`] times. Returns `Ok`
/// when the session ended normally, or the agent was stopped.
pub async fn run(
    config: AgentConfig,
    source: Box<dyn ScreenSource>,
    events: mpsc::UnboundedSender<AgentEvent>,
) -> anyhow::Result<()> {
    let mut pipeline = Some(Box::new(Pipeline::new(source)));
    let mut spent = 0;
    let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
    // The first connection must work (a mistyped relay should say so at once); once the
    // agent has been registered, a relay that goes away is waited for.
    let mut reached = false;
    loop {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, connect_to_relay(&config.target));
        let relay = match connected.await {
            Ok(Ok(relay)) => relay,
            Ok(Err(e)) if !reached || !e.worth_retrying() => return Err(e.into()),
            Err(_) if !reached => bail!("the relay did not answer"),
            Ok(Err(e)) => {
                if !retry_later(&mut backoff, e.to_string(), &config, &events).await {
                    return Ok(());
                }
                continue;
            }
            Err(_) => {
                let reason = "the relay did not answer".into();
                if !retry_later(&mut backoff, reason, &config, &events).await {
                    return Ok(());
                }
                continue;
            }
        };
        reached = true;
        backoff.reset();
        let _ = events.send(AgentEvent::Connected {
            fingerprint: relay.fingerprint,
            first_use: relay.first_use,
        });
        let connection = relay.connection;
        let attempt = serve(&config, &connection, &mut pipeline, &events).await;
        connection.close(0u32.into(), b"agent done");
        relay.endpoint.wait_idle().await;
        match attempt? {
            Attempt::Done => return Ok(()),
            Attempt::Stopped => {
                let _ = events.send(AgentEvent::Stopped);
                return Ok(());
            }
            Attempt::RelayLost(reason) => {
                if !retry_later(&mut backoff, reason, &config, &events).await {
                    return Ok(());
                }
            }
            Attempt::Burned(reason) => {
                spent += 1;
                let _ = events.send(AgentEvent::CodeBurned { reason });
                if spent >= MAX_SPENT_CODES {
                    bail!(
                        "{spent} session codes were used without a secured session; stopping \
                         in case someone is guessing codes. Start the agent again for a new code."
                    );
                }
            }
        }
    }
}

/// Waits out the next backoff delay, telling the user why and for how long; returns `false`
/// if the agent was stopped meanwhile (and says so).
async fn retry_later(
    backoff: &mut Backoff,
    reason: String,
    config: &AgentConfig,
    events: &mpsc::UnboundedSender<AgentEvent>,
) -> bool {
    let retry_in = backoff.next_delay(rand::random());
    let _ = events.send(AgentEvent::RelayLost { reason, retry_in });
    tokio::select! {
        () = tokio::time::sleep(retry_in) => true,
        () = stopped(config.stop.as_deref()) => {
            let _ = events.send(AgentEvent::Stopped);
            false
        }
    }
}

/// How one registration ended.
enum Attempt {
    /// A session took place (or was declined): the agent's job is done.
    Done,
    /// The agent was stopped before a session began.
    Stopped,
    /// The code was spent without a secured session.
    Burned(String),
    /// The relay went away before a viewer came: connect again for a new code.
    RelayLost(String),
}

async fn serve(
    config: &AgentConfig,
    connection: &Connection,
    pipeline: &mut Option<Box<Pipeline>>,
    events: &mpsc::UnboundedSender<AgentEvent>,
) -> anyhow::Result<Attempt> {
    let software = concat!("tether-agent ", env!("CARGO_PKG_VERSION"));
    let (mut send, mut recv) = open_control(connection, software).await?;
    match recv.recv().await? {
        Some(RelayMessage::Welcome { .. }) => {}
        Some(RelayMessage::Refused { reason }) => bail!("the relay refused: {reason}"),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
    let register = ClientMessage::Register {
        name: config.name.clone(),
        auto_accept: matches!(config.consent, ConsentPolicy::AutoAccept),
    };
    send.send(&register).await?;
    let mut issued = None;
    let (code, session_id, viewer) = loop {
        let message = tokio::select! {
            message = recv.recv() => message,
            () = stopped(config.stop.as_deref()) => return Ok(Attempt::Stopped),
        };
        let message = match message {
            Ok(message) => message,
            Err(e) if e.is_disconnect() => return Ok(Attempt::RelayLost(e.to_string())),
            Err(e) => return Err(e).context("lost the relay"),
        };
        match message {
            Some(RelayMessage::Ended {
                reason: EndReason::RelayShutdown,
            }) => return Ok(Attempt::RelayLost(EndReason::RelayShutdown.to_string())),
            Some(RelayMessage::Registered {
                nameplate,
                expires_in_secs,
            }) => {
                // The relay's nameplate, completed with a secret the relay never sees.
                let code = SessionCode::generate(nameplate, &mut OsRng);
                issued = Some(code);
                let _ = events.send(AgentEvent::Code {
                    code,
                    expires_in_secs,
                });
            }
            Some(RelayMessage::Ended {
                reason: EndReason::CodeExpired,
            }) => {
                issued = None;
                let _ = events.send(AgentEvent::CodeExpired);
                send.send(&register).await?;
            }
            Some(RelayMessage::Paired { session_id, peer }) => match issued {
                Some(code) => break (code, session_id, peer),
                None => bail!("the relay paired a viewer before issuing a code"),
            },
            Some(RelayMessage::Refused { reason }) => bail!("the relay refused: {reason}"),
            other => bail!("unexpected message from the relay: {other:?}"),
        }
    };

    let securing = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        secure_session(connection, code, session_id),
    );
    // Stopped once paired: the technician hears that the user ended the session.
    let secured = tokio::select! {
        secured = securing => secured,
        () = stopped(config.stop.as_deref()) => {
            say_user_ended(&mut send).await;
            return Ok(Attempt::Stopped);
        }
    };
    let (mut session, window, technician, wants) = match secured {
        Ok(Ok(secured)) => secured,
        Ok(Err(e)) => return Ok(Attempt::Burned(format!("{e:#}"))),
        Err(_) => {
            return Ok(Attempt::Burned(
                "the viewer did not complete the secure handshake in time".into(),
            ))
        }
    };
    tracing::info!(%viewer, %technician, sas = %session.sas, "session secured end to end");

    let asked = config.consent.decide(&technician, wants, session.sas);
    let granted = tokio::select! {
        granted = asked => granted,
        () = stopped(config.stop.as_deref()) => {
            say_user_ended(&mut send).await;
            let _ = session.send.close().await;
            return Ok(Attempt::Stopped);
        }
    };
    let to_relay = &mut send;
    let SecureStream {
        mut send,
        recv: from_viewer,
        resumption,
        ..
    } = session;
    if !granted.admits_a_session() {
        let _ = events.send(AgentEvent::SessionDeclined { viewer: technician });
        send.send(&AgentMessage::Declined).await?;
        send.close().await?;
        return Ok(Attempt::Done);
    }
    let _ = events.send(AgentEvent::SessionStarted {
        session_id,
        viewer: technician,
        granted,
    });
    if !granted.view {
        // A shell, without the screen.
        let stream = (send, from_viewer);
        let stop = config.stop.as_deref();
        let control = (to_relay, &mut recv);
        let reason = serve_shell_session(stream, granted, control, stop).await?;
        let _ = events.send(AgentEvent::SessionEnded { reason });
        return Ok(Attempt::Done);
    }

    let pipeline = pipeline
        .take()
        .context("the screen pipeline was already used")?;
    let terms = SessionTerms {
        max_fps: config.max_fps,
        window,
        granted,
        input: config.input.clone(),
        stop: config.stop.clone(),
    };
    let live = LiveSession {
        connection,
        control: &mut recv,
        to_relay,
        session_id,
        resumption: AgentResumption::new(resumption),
        events,
    };
    let reason = live.serve(&terms, (send, from_viewer), pipeline).await?;
    let _ = events.send(AgentEvent::SessionEnded { reason });
    Ok(Attempt::Done)
}

/// A keyed session stream and the viewer's hello on it: window, technician name, wishes.
type Secured = (
    SecureStream<AgentMessage, ViewerMessage>,
    u8,
    String,
    Capabilities,
);

/// Accepts the viewer's session stream (forwarded by the relay), runs the end-to-end
/// handshake keyed by the whole code, and reads the viewer's hello.
async fn secure_session(
    connection: &Connection,
    code: SessionCode,
    session_id: u64,
) -> anyhow::Result<Secured> {
    let (send, recv) = connection.accept_bi().await?;
    let mut recv = MessageReceiver::<StreamHeader>::new(recv);
    match recv.recv().await? {
        Some(header) if header.session_id == session_id => {}
        other => bail!("forwarded stream has a bad header: {other:?}"),
    }
    let mut session: SecureStream<AgentMessage, ViewerMessage> =
        agent_handshake(send, recv.retype(), code, session_id).await?;
    match session.recv.recv().await? {
        Some(ViewerMessage::Hello {
            version,
            window,
            technician,
            wants,
        }) if version == PROTOCOL_VERSION => Ok((session, window, technician, wants)),
        Some(ViewerMessage::Hello { version, .. }) => {
            bail!("viewer speaks protocol version {version}, this agent {PROTOCOL_VERSION}")
        }
        other => bail!("expected the viewer's hello, got {other:?}"),
    }
}
