//! Splicing a viewer's stream to a new stream to the agent, byte for byte.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use prometheus_client::metrics::counter::Counter;
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tether_proto::{control::StreamHeader, encode_message};
use tether_transport::TransportError;

use crate::metrics::RelayMetrics;

const CHUNK: usize = 256 * 1024;
const RESET_CODE: VarInt = VarInt::from_u32(0);

/// The bytes one session forwarded in each direction, counted as they pass (so streams that
/// end in a reset count too), and added to the relay-wide totals at the same time.
#[derive(Clone)]
pub struct SessionTally {
    to_agent: ByteCount,
    to_viewer: ByteCount,
}

#[derive(Clone)]
struct ByteCount {
    session: Arc<AtomicU64>,
    relay: Counter,
}

impl ByteCount {
    fn new(relay: &Counter) -> Self {
        Self {
            session: Arc::default(),
            relay: relay.clone(),
        }
    }

    fn add(&self, bytes: u64) {
        self.session.fetch_add(bytes, Ordering::Relaxed);
        self.relay.inc_by(bytes);
    }
}

impl SessionTally {
    /// A new session's tally, feeding the relay's byte counters.
    pub fn new(metrics: &RelayMetrics) -> Self {
        Self {
            to_agent: ByteCount::new(&metrics.forwarded_to_agent),
            to_viewer: ByteCount::new(&metrics.forwarded_to_viewer),
        }
    }

    /// Counts `bytes` forwarded to the agent outside a stream (on the data port).
    pub fn count_to_agent(&self, bytes: u64) {
        self.to_agent.add(bytes);
    }

    /// Counts `bytes` forwarded to the viewer outside a stream (on the data port).
    pub fn count_to_viewer(&self, bytes: u64) {
        self.to_viewer.add(bytes);
    }

    /// Bytes forwarded from the viewer to the agent so far.
    pub fn to_agent(&self) -> u64 {
        self.to_agent.session.load(Ordering::Relaxed)
    }

    /// Bytes forwarded from the agent to the viewer so far.
    pub fn to_viewer(&self) -> u64 {
        self.to_viewer.session.load(Ordering::Relaxed)
    }
}

/// Forwards one viewer stream to a new stream on the agent's connection, which starts with
/// `header`, until both directions end, counting the bytes in `tally`. Returns the bytes copied (viewer→agent, agent→viewer).
///
/// If one direction fails (a peer vanished or reset its stream), the other is reset too rather
/// than left running: it could wait forever on a quiet surviving peer, and a session's dead
/// streams would then hold their tasks and buffers until that peer left.
pub async fn forward_stream(
    viewer: (SendStream, RecvStream),
    agent: &Connection,
    header: StreamHeader,
    tally: &SessionTally,
) -> Result<(u64, u64), TransportError> {
    let (mut viewer_send, mut viewer_recv) = viewer;
    let (mut agent_send, mut agent_recv) = agent.open_bi().await?;
    let mut encoded = Vec::new();
    encode_message(&header, &mut encoded)?;
    agent_send.write_all(&encoded).await?;
    let copied = tokio::try_join!(
        pump(&mut viewer_recv, &mut agent_send, &tally.to_agent),
        pump(&mut agent_recv, &mut viewer_send, &tally.to_viewer)
    );
    if copied.is_err() {
        let _ = viewer_recv.stop(RESET_CODE);
        let _ = agent_recv.stop(RESET_CODE);
        let _ = viewer_send.reset(RESET_CODE);
        let _ = agent_send.reset(RESET_CODE);
    }
    copied
}

/// Copies `from` into `to` until `from` ends, mirroring a reset or stop onto the other side so
/// neither peer waits forever. Memory stays bounded: one chunk at a time is read and written
/// (within QUIC flow control) before the next is read, so a fast sender only fills its stream's
/// receive window, never a relay-side queue.
async fn pump(
    from: &mut RecvStream,
    to: &mut SendStream,
    count: &ByteCount,
) -> Result<u64, TransportError> {
    let mut copied = 0u64;
    loop {
        match from.read_chunk(CHUNK, true).await {
            Ok(Some(chunk)) => {
                let len = chunk.bytes.len() as u64;
                if let Err(e) = to.write_chunk(chunk.bytes).await {
                    let _ = from.stop(RESET_CODE);
                    return Err(e.into());
                }
                copied += len;
                count.add(len);
            }
            Ok(None) => {
                let _ = to.finish();
                return Ok(copied);
            }
            Err(e) => {
                let _ = to.reset(RESET_CODE);
                return Err(e.into());
            }
        }
    }
}
