//! Streaming frame updates to one viewer under the pull window.

use std::{sync::Arc, time::Duration};

use anyhow::bail;
use tether_proto::{
    session::{AgentMessage, Capabilities, ViewerMessage},
    split_update, PROTOCOL_VERSION,
};
use tether_transport::{SecureSender, SecureStream};
use tokio::{
    sync::{mpsc, Notify},
    time::MissedTickBehavior,
};

use crate::{
    input::{InputGate, ScreenSizeCell},
    pacer::FramePacer,
    pipeline::{Encoded, Pipeline},
    screen::InputTarget,
};

/// Largest piece of an update per message; well under the protocol's message limit.
const CHUNK_BYTES: usize = 1024 * 1024;

/// Why streaming stopped without an error.
pub enum StreamEnd {
    /// The viewer closed the session stream.
    ViewerLeft,
    /// The user ended the session here.
    Stopped,
}

/// Serves one secured session stream until the viewer closes it or `stop` is notified.
pub async fn stream_frames(
    session: SecureStream<AgentMessage, ViewerMessage>,
    mut pipeline: Box<Pipeline>,
    max_fps: u32,
    window: u8,
    granted: Capabilities,
    input: Option<InputTarget>,
    stop: Option<Arc<Notify>>,
) -> anyhow::Result<StreamEnd> {
    let SecureStream {
        mut send, mut recv, ..
    } = session;
    let mut pacer = FramePacer::new(window);

    let screen = Arc::new(ScreenSizeCell::default());
    pipeline.reset();
    let (next, first) = pipeline.capture_now().await?;
    pipeline = next;
    screen.set(first.width, first.height);
    send.send(&AgentMessage::Hello {
        version: PROTOCOL_VERSION,
        screen: pipeline.describe(),
        width: first.width,
        height: first.height,
        granted,
    })
    .await?;
    if let Some(update) = &first.update {
        send_update(&mut send, &first, update).await?;
        pacer.on_sent(first.seq);
    }

    // The viewer's messages are read on their own task so that capturing and sending never
    // race with (or get cancelled by) a read. Input goes straight to the gate; the rest (acks,
    // the end, errors) to the loop below. Dropping the task drops the gate, whose injector then
    // releases every key and button it holds.
    let (acks_tx, mut acks) = mpsc::channel(usize::from(FramePacer::MAX_WINDOW));
    let mut gate = InputGate::new(granted.control, input, screen.clone());
    let reader = tokio::spawn(async move {
        loop {
            let message = recv.recv().await;
            if let Ok(Some(ViewerMessage::Input(event))) = message {
                gate.submit(event).await;
                continue;
            }
            let end = !matches!(message, Ok(Some(_)));
            if acks_tx.send(message).await.is_err() || end {
                break;
            }
        }
        gate.close().await;
    });
    let frame_interval = Duration::from_secs(1) / max_fps.max(1);
    let mut ticker = tokio::time::interval(frame_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let result = async {
        loop {
            let message = if pacer.has_room() {
                tokio::select! {
                    biased;
                    () = stopped(stop.as_deref()) => return Ok(StreamEnd::Stopped),
                    message = acks.recv() => message,
                    _ = ticker.tick() => {
                        // Waits (off the runtime) for the screen to change, at most one frame
                        // interval, so an idle screen is never captured.
                        let (next, step) = pipeline.step(frame_interval).await?;
                        pipeline = next;
                        if let Some(cursor) = step.cursor {
                            send.send(&AgentMessage::Cursor(cursor)).await?;
                        }
                        if let Some(encoded) = step.encoded {
                            screen.set(encoded.width, encoded.height);
                            if let Some(update) = &encoded.update {
                                send_update(&mut send, &encoded, update).await?;
                                pacer.on_sent(encoded.seq);
                            }
                        }
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    () = stopped(stop.as_deref()) => return Ok(StreamEnd::Stopped),
                    message = acks.recv() => message,
                }
            };
            match message {
                Some(Ok(Some(ViewerMessage::Ack { seq }))) => pacer.on_ack(seq)?,
                Some(Ok(Some(other))) => bail!("unexpected {other:?} from the viewer"),
                Some(Ok(None)) | None => return Ok(StreamEnd::ViewerLeft),
                Some(Err(e)) if e.is_disconnect() => return Ok(StreamEnd::ViewerLeft),
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }
    .await;
    reader.abort();
    if matches!(result, Ok(StreamEnd::Stopped)) {
        send.close().await?;
    }
    result
}

/// Resolves when `stop` is notified; never without one.
async fn stopped(stop: Option<&Notify>) {
    match stop {
        Some(stop) => stop.notified().await,
        None => std::future::pending().await,
    }
}

/// Sends an update's timing, then the update in chunks.
async fn send_update(
    send: &mut SecureSender<AgentMessage>,
    encoded: &Encoded,
    update: &[u8],
) -> anyhow::Result<()> {
    send.send(&AgentMessage::Timing(encoded.timing)).await?;
    for chunk in split_update(encoded.seq, update, CHUNK_BYTES) {
        send.send(&AgentMessage::Frame(chunk)).await?;
    }
    Ok(())
}
