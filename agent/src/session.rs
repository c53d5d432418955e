//! The agent's conversation with the relay: register, wait for a viewer, serve the session.

use anyhow::{bail, Context};
use quinn::Connection;
use tether_certs::Fingerprint;
use tether_proto::{
    control::{ClientMessage, EndReason, RelayMessage, StreamHeader},
    session::{AgentMessage, ViewerMessage},
    SessionCode,
};
use tether_screen::ScreenSource;
use tether_transport::{
    connect_to_relay, open_control, MessageReceiver, MessageSender, RelayTarget,
};
use tokio::sync::mpsc;

use crate::{pipeline::Pipeline, stream::stream_frames};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The relay and how to trust it.
    pub target: RelayTarget,
    /// How this machine presents itself to the technician.
    pub name: String,
    /// Upper bound on captures per second.
    pub max_fps: u32,
}

/// Progress the agent reports to whoever runs it (a terminal, the demo, a tray icon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// Connected to the relay, whose certificate has this fingerprint.
    Connected {
        /// The relay's verified fingerprint.
        fingerprint: Fingerprint,
        /// Whether the relay was trusted for the first time.
        first_use: bool,
    },
    /// A one-time code to show the user.
    Code {
        /// The code.
        code: SessionCode,
        /// Seconds until it expires.
        expires_in_secs: u32,
    },
    /// The code expired unused; a new one follows.
    CodeExpired,
    /// A viewer joined.
    SessionStarted {
        /// The relay's session id.
        session_id: u64,
        /// The technician's self-declared name.
        viewer: String,
    },
    /// The session is over.
    SessionEnded {
        /// Why, in words for the user.
        reason: String,
    },
}

/// Runs the agent until its session ends: connects, registers, reports the code, serves one
/// viewer. Returns `Ok` when the session ended normally (the viewer left).
pub async fn run(
    config: AgentConfig,
    source: Box<dyn ScreenSource>,
    events: mpsc::UnboundedSender<AgentEvent>,
) -> anyhow::Result<()> {
    let relay = connect_to_relay(&config.target).await?;
    let _ = events.send(AgentEvent::Connected {
        fingerprint: relay.fingerprint,
        first_use: relay.first_use,
    });
    let connection = relay.connection;
    let result = serve(&config, &connection, source, &events).await;
    connection.close(0u32.into(), b"agent done");
    relay.endpoint.wait_idle().await;
    result
}

async fn serve(
    config: &AgentConfig,
    connection: &Connection,
    source: Box<dyn ScreenSource>,
    events: &mpsc::UnboundedSender<AgentEvent>,
) -> anyhow::Result<()> {
    let software = concat!("tether-agent ", env!("CARGO_PKG_VERSION"));
    let (mut send, mut recv) = open_control(connection, software).await?;
    match recv.recv().await? {
        Some(RelayMessage::Welcome { .. }) => {}
        Some(RelayMessage::Refused { reason }) => bail!("the relay refused: {reason}"),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
    let register = ClientMessage::Register {
        name: config.name.clone(),
    };
    send.send(&register).await?;
    let session_id = loop {
        match recv.recv().await.context("lost the relay")? {
            Some(RelayMessage::Registered {
                code,
                expires_in_secs,
            }) => {
                let _ = events.send(AgentEvent::Code {
                    code,
                    expires_in_secs,
                });
            }
            Some(RelayMessage::Ended {
                reason: EndReason::CodeExpired,
            }) => {
                let _ = events.send(AgentEvent::CodeExpired);
                send.send(&register).await?;
            }
            Some(RelayMessage::Paired { session_id, peer }) => {
                let _ = events.send(AgentEvent::SessionStarted {
                    session_id,
                    viewer: peer,
                });
                break session_id;
            }
            other => bail!("unexpected message from the relay: {other:?}"),
        }
    };

    let pipeline = Box::new(Pipeline::new(source));
    let reason = tokio::select! {
        streamed = serve_viewer(connection, session_id, pipeline, config.max_fps) => {
            streamed?;
            EndReason::ViewerDisconnected.to_string()
        }
        message = recv.recv() => match message {
            Ok(Some(RelayMessage::Ended { reason })) => reason.to_string(),
            Ok(other) => bail!("unexpected message from the relay: {other:?}"),
            Err(e) => bail!("lost the relay: {e}"),
        },
    };
    let _ = events.send(AgentEvent::SessionEnded { reason });
    Ok(())
}

/// Accepts the viewer's session stream (forwarded by the relay) and streams frames on it.
async fn serve_viewer(
    connection: &Connection,
    session_id: u64,
    pipeline: Box<Pipeline>,
    max_fps: u32,
) -> anyhow::Result<()> {
    let (send, recv) = connection.accept_bi().await?;
    let mut recv = MessageReceiver::<StreamHeader>::new(recv);
    match recv.recv().await? {
        Some(header) if header.session_id == session_id => {}
        other => bail!("forwarded stream has a bad header: {other:?}"),
    }
    let send = MessageSender::<AgentMessage>::new(send);
    let recv = recv.retype::<ViewerMessage>();
    stream_frames(send, recv, pipeline, max_fps).await?;
    Ok(())
}
