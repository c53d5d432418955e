//! Splicing a viewer's streams to new streams to the agent, byte for byte.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use prometheus_client::metrics::counter::Counter;
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tether_proto::{
    control::{ClientMessage, StreamHeader},
    encode_message,
};
use tether_transport::TransportError;
use tokio::sync::Semaphore;
use tracing::debug;

use crate::{
    control::Control,
    error::RelayError,
    metrics::RelayMetrics,
    session::{Party, SessionEnd},
};

const CHUNK: usize = 256 * 1024;
const RESET_CODE: VarInt = VarInt::from_u32(0);

/// One viewer's streams, each spliced to a new stream to the agent.
pub(crate) struct Splice<'a> {
    /// The viewer's connection.
    pub viewer: &'a Connection,
    /// The agent's connection.
    pub agent: &'a Connection,
    /// What the agent reads first on each stream: the session and its data path.
    pub header: StreamHeader,
    /// Where the bytes are counted.
    pub tally: &'a SessionTally,
    /// Streams the viewer may have open at once.
    pub max_streams: u32,
    /// The relay's metrics (streams being forwarded).
    pub metrics: &'a RelayMetrics,
}

impl Splice<'_> {
    /// Forwards every stream the viewer opens until it hangs up (`Ok(None)`), says it leaves
    /// (`Ok(Some(end))`: its technician ended the session, and its close is on its way end to
    /// end) or breaks the protocol, reading its control stream meanwhile, on which nothing else
    /// may come during a session. Streams already forwarded go on after this returns, until
    /// their ends or the connections close.
    ///
    /// QUIC flow control bounds the bytes in flight per stream and quinn the streams a peer may
    /// open at once (100), but each forwarded stream also costs a task, a stream to the agent
    /// and up to one chunk of buffer. A session needs a handful (the viewer uses one), so the
    /// relay allows `max_streams` at once and disconnects a viewer opening more: waiting
    /// instead would let it pin that many of the agent's streams indefinitely.
    pub async fn run(&self, control: &mut Control) -> Result<Option<SessionEnd>, RelayError> {
        let session_id = self.header.session_id;
        let streams = Arc::new(Semaphore::new(self.max_streams as usize));
        loop {
            tokio::select! {
                stream = self.viewer.accept_bi() => {
                    let Ok(stream) = stream else {
                        return Ok(None);
                    };
                    let Ok(permit) = streams.clone().try_acquire_owned() else {
                        return Err(RelayError::TooManyStreams(self.max_streams));
                    };
                    let agent = self.agent.clone();
                    let header = self.header;
                    let tally = self.tally.clone();
                    let open = self.metrics.forwarded_streams_open.clone();
                    open.inc();
                    tokio::spawn(async move {
                        match forward_stream(stream, &agent, header, &tally).await {
                            Ok((up, down)) => debug!(session_id, up, down, "stream done"),
                            Err(e) => debug!(session_id, "stream ended: {e}"),
                        }
                        open.dec();
                        drop(permit);
                    });
                }
                message = control.next() => match message? {
                    None => return Ok(None),
                    Some(ClientMessage::Leaving { reason }) => {
                        return Party::Technician.claim(reason).map(Some);
                    }
                    Some(other) => return Err(RelayError::unexpected(&other, "during a session")),
                },
            }
        }
    }
}

/// The bytes one session (or one technician's leg of it) forwarded in each direction, counted
/// as they pass (so streams that end in a reset count too), and added to the relay-wide totals
/// at the same time.
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
async fn forward_stream(
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
