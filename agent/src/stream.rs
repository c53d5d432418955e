//! Streaming frame updates to one viewer under the pull window.

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context};
use tether_proto::{
    session::{AgentMessage, Capabilities, ViewerMessage},
    split_update, PROTOCOL_VERSION,
};
use tether_transport::{is_disconnect, stopped, SecureReceiver, SecureSender};
use tokio::{
    sync::{mpsc, Notify},
    time::MissedTickBehavior,
};

use crate::{
    input::{InputGate, ScreenSizeCell},
    lifecycle::StreamEnd,
    pacer::FramePacer,
    pipeline::{Encoded, Pipeline},
    screen::InputTarget,
};

/// Largest piece of an update per message; well under the protocol's message limit.
const CHUNK_BYTES: usize = 1024 * 1024;

/// What a session keeps across the streams that carry it (a viewer whose connection was lost
/// comes back on a new one): what the user granted and how to stream.
#[derive(Debug, Clone)]
pub struct SessionTerms {
    /// Upper bound on captures per second.
    pub max_fps: u32,
    /// Most unacknowledged updates, as the viewer asked.
    pub window: u8,
    /// What the user allowed.
    pub granted: Capabilities,
    /// Where to replay the technician's input.
    pub input: Option<InputTarget>,
    /// Notified when the user ends the session.
    pub stop: Option<Arc<Notify>>,
}

/// The two halves of a secured session stream.
pub type SessionStream = (SecureSender<AgentMessage>, SecureReceiver<ViewerMessage>);

/// Serves one secured session stream until the viewer closes it or loses it, or `stop` is
/// notified (the caller then ends the session: the stream is left open for its close); gives
/// the pipeline back for a stream that may follow. The first update is a key update, so a
/// viewer coming back converges on the screen whatever it holds; only a new session's stream
/// (`greet`) starts with the agent's hello.
pub async fn stream_frames(
    send: &mut SecureSender<AgentMessage>,
    mut recv: SecureReceiver<ViewerMessage>,
    mut pipeline: Box<Pipeline>,
    terms: &SessionTerms,
    greet: bool,
) -> anyhow::Result<(Box<Pipeline>, StreamEnd)> {
    let mut pacer = FramePacer::new(terms.window);

    let screen = Arc::new(ScreenSizeCell::default());
    pipeline.reset();
    let (next, first) = pipeline.capture_now().await?;
    screen.set(first.width, first.height);
    // Described before the await below: the pipeline is not `Sync`, so no borrow of it may be
    // held across one.
    let described = next.describe();
    let greeted = async {
        if greet {
            send.send(&AgentMessage::Hello {
                version: PROTOCOL_VERSION,
                screen: described,
                width: first.width,
                height: first.height,
                granted: terms.granted,
            })
            .await?;
        }
        if let Some(update) = &first.update {
            send_update(send, &first, update).await?;
        }
        anyhow::Ok(())
    }
    .await;
    match greeted {
        Ok(()) if first.update.is_some() => pacer.on_sent(first.seq),
        Ok(()) => {}
        Err(e) if is_disconnect(&e) => return Ok((next, StreamEnd::Lost)),
        Err(e) => return Err(e),
    }
    let mut pipeline = Some(next);

    // The viewer's messages are read on their own task so that capturing and sending never
    // race with (or get cancelled by) a read. Input goes straight to the gate; the rest (acks,
    // the end, errors) to the loop below. Dropping the task drops the gate, whose injector then
    // releases every key and button it holds.
    let (acks_tx, mut acks) = mpsc::channel(usize::from(FramePacer::MAX_WINDOW));
    let mut gate = InputGate::new(terms.granted.control, terms.input.clone(), screen.clone());
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
    let frame_interval = Duration::from_secs(1) / terms.max_fps.max(1);
    let mut ticker = tokio::time::interval(frame_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let result = async {
        loop {
            let message = if pacer.has_room() {
                tokio::select! {
                    biased;
                    () = stopped(terms.stop.as_deref()) => return Ok(StreamEnd::Stopped),
                    message = acks.recv() => message,
                    _ = ticker.tick() => {
                        // Waits (off the runtime) for the screen to change, at most one frame
                        // interval, so an idle screen is never captured.
                        let taken = pipeline.take().context("the screen pipeline is gone")?;
                        let (next, step) = taken.step(frame_interval).await?;
                        pipeline = Some(next);
                        if let Some(cursor) = step.cursor {
                            send.send(&AgentMessage::Cursor(cursor)).await?;
                        }
                        if let Some(encoded) = step.encoded {
                            screen.set(encoded.width, encoded.height);
                            if let Some(update) = &encoded.update {
                                send_update(send, &encoded, update).await?;
                                pacer.on_sent(encoded.seq);
                            }
                        }
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    () = stopped(terms.stop.as_deref()) => return Ok(StreamEnd::Stopped),
                    message = acks.recv() => message,
                }
            };
            match message {
                Some(Ok(Some(ViewerMessage::Ack { seq }))) => pacer.on_ack(seq)?,
                Some(Ok(Some(other))) => bail!("unexpected {other:?} from the viewer"),
                Some(Ok(None)) | None => return Ok(StreamEnd::ViewerLeft),
                Some(Err(e)) if e.is_disconnect() => return Ok(StreamEnd::Lost),
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }
    .await;
    // A stream that broke on a write was lost just the same as one that broke on a read.
    let result = match result {
        Err(e) if is_disconnect(&e) => Ok(StreamEnd::Lost),
        other => other,
    };
    // Waiting for the reader (not just aborting it) means its gate is gone, so the injector
    // has been told to release every key and button, before a lost stream is reported.
    reader.abort();
    let _ = reader.await;
    let end = result?;
    let pipeline = pipeline.context("the screen pipeline is gone")?;
    Ok((pipeline, end))
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
