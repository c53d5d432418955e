//! The relay's side of a viewer: claim the code, pair with the agent, forward streams.

use std::{sync::atomic::Ordering, time::Instant};

use quinn::Connection;
use tether_proto::{
    control::{EndReason, Refusal, RelayMessage},
    Nameplate,
};
use tracing::{debug, info, warn};

use crate::{agent_side::ViewerArrived, control::Control, forward::forward_stream, server::Shared};

/// Serves a viewer that asked to join the agent waiting under `code`.
pub(crate) async fn serve(
    shared: &Shared,
    connection: &Connection,
    mut control: Control,
    code: Nameplate,
    name: String,
) -> anyhow::Result<()> {
    let remote = connection.remote_address();
    let claimed = shared
        .registry
        .lock()
        .map_err(|_| anyhow::anyhow!("registry lock poisoned"))?
        .claim(code, Instant::now());
    let agent = match claimed {
        Ok(agent) => agent,
        Err(reason) => return refuse(connection, control, reason).await,
    };
    let session_id = shared.next_session_id.fetch_add(1, Ordering::Relaxed);
    let arrived = ViewerArrived {
        session_id,
        name: name.clone(),
        connection: connection.clone(),
    };
    if agent.pair.send(arrived).is_err() {
        // The agent left between registering and this claim.
        return refuse(connection, control, Refusal::UnknownCode).await;
    }
    info!(%remote, session_id, viewer = %name, agent = %agent.name, "session started");
    control
        .send
        .send(&RelayMessage::Paired {
            session_id,
            peer: agent.name,
        })
        .await?;

    let agent_connection = agent.connection;
    loop {
        tokio::select! {
            stream = connection.accept_bi() => {
                let Ok(stream) = stream else { break };
                let agent_connection = agent_connection.clone();
                tokio::spawn(async move {
                    match forward_stream(stream, &agent_connection, session_id).await {
                        Ok((up, down)) => debug!(session_id, up, down, "stream done"),
                        Err(e) => debug!(session_id, "stream ended: {e:#}"),
                    }
                });
            }
            _ = agent_connection.closed() => {
                let reason = EndReason::AgentDisconnected;
                info!(session_id, "session ended: {reason}");
                control.last_word(connection, RelayMessage::Ended { reason }).await;
                return Ok(());
            }
            message = control.next() => {
                match message? {
                    None => break,
                    Some(other) => anyhow::bail!("unexpected {other:?} during a session"),
                }
            }
        }
    }
    // The viewer hung up; the agent's task tells the agent.
    connection.close(crate::control::CLOSE_OK.into(), b"session ended");
    Ok(())
}

async fn refuse(
    connection: &Connection,
    mut control: Control,
    reason: Refusal,
) -> anyhow::Result<()> {
    warn!(remote = %connection.remote_address(), "join refused: {reason}");
    control
        .last_word(connection, RelayMessage::Refused { reason })
        .await;
    Ok(())
}
