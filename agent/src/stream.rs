//! Streaming frame updates to one viewer under the pull window.

use std::time::Duration;

use anyhow::{bail, Context};
use tether_proto::{
    session::{AgentMessage, ViewerMessage},
    split_update, PROTOCOL_VERSION,
};
use tether_transport::{MessageReceiver, MessageSender};
use tokio::{sync::mpsc, time::MissedTickBehavior};

use crate::{pacer::FramePacer, pipeline::Pipeline};

/// Largest piece of an update per message; well under the protocol's message limit.
const CHUNK_BYTES: usize = 1024 * 1024;
/// How long the viewer may take to say hello on its session stream.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one session stream until the viewer closes it.
pub async fn stream_frames(
    mut send: MessageSender<AgentMessage>,
    mut recv: MessageReceiver<ViewerMessage>,
    mut pipeline: Box<Pipeline>,
    max_fps: u32,
) -> anyhow::Result<()> {
    let hello = tokio::time::timeout(HELLO_TIMEOUT, recv.recv())
        .await
        .context("viewer sent no hello in time")??;
    let window = match hello {
        Some(ViewerMessage::Hello { version, window }) if version == PROTOCOL_VERSION => window,
        Some(ViewerMessage::Hello { version, .. }) => {
            bail!("viewer speaks protocol version {version}, this agent {PROTOCOL_VERSION}")
        }
        other => bail!("expected the viewer's hello, got {other:?}"),
    };
    let mut pacer = FramePacer::new(window);

    pipeline.reset();
    let (next, first) = pipeline.step().await?;
    pipeline = next;
    send.send(&AgentMessage::Hello {
        version: PROTOCOL_VERSION,
        screen: pipeline.describe(),
        width: first.width,
        height: first.height,
    })
    .await?;
    if let Some(update) = first.update {
        send_update(&mut send, first.seq, &update).await?;
        pacer.on_sent(first.seq);
    }

    // Acknowledgements are read on their own task so that capturing and sending never race
    // with (or get cancelled by) a read.
    let (acks_tx, mut acks) = mpsc::channel(usize::from(FramePacer::MAX_WINDOW));
    let reader = tokio::spawn(async move {
        loop {
            let message = recv.recv().await;
            let end = !matches!(message, Ok(Some(_)));
            if acks_tx.send(message).await.is_err() || end {
                return;
            }
        }
    });
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / max_fps.max(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let result = async move {
        loop {
            let message = if pacer.has_room() {
                tokio::select! {
                    biased;
                    message = acks.recv() => message,
                    _ = ticker.tick() => {
                        let (next, encoded) = pipeline.step().await?;
                        pipeline = next;
                        if let Some(update) = encoded.update {
                            send_update(&mut send, encoded.seq, &update).await?;
                            pacer.on_sent(encoded.seq);
                        }
                        continue;
                    }
                }
            } else {
                acks.recv().await
            };
            match message {
                Some(Ok(Some(ViewerMessage::Ack { seq }))) => pacer.on_ack(seq)?,
                Some(Ok(Some(other))) => bail!("unexpected {other:?} from the viewer"),
                Some(Ok(None)) | None => return Ok(()),
                Some(Err(e)) if e.is_disconnect() => return Ok(()),
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }
    .await;
    reader.abort();
    result
}

async fn send_update(
    send: &mut MessageSender<AgentMessage>,
    seq: u64,
    update: &[u8],
) -> anyhow::Result<()> {
    for chunk in split_update(seq, update, CHUNK_BYTES) {
        send.send(&AgentMessage::Frame(chunk)).await?;
    }
    Ok(())
}
