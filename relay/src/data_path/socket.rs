//! The data port's UDP loop: receives batches of datagrams (with GRO, several per buffer),
//! asks the table where each goes, and sends them on unchanged (with GSO, as they came).

use std::{
    io::IoSliceMut,
    sync::{Arc, Mutex},
};

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use tether_proto::data_path::Bound;
use tokio::{io::Interest, net::UdpSocket};
use tracing::{debug, warn};

use super::table::{Dropped, Route, Side, Table};
use crate::{forward::SessionTally, lock::lock, metrics::RelayMetrics};

/// Room per received buffer: the largest UDP payload, which also bounds a GRO batch.
const SLOT: usize = 64 * 1024;
/// Socket buffers: enough for bursts of a few sessions at full speed.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Forwards datagrams on `socket` according to `table` until the task is aborted.
pub(super) async fn run(
    socket: UdpSocket,
    table: Arc<Mutex<Table<SessionTally>>>,
    metrics: Arc<RelayMetrics>,
) {
    let state = match UdpSocketState::new((&socket).into()) {
        Ok(state) => state,
        Err(e) => {
            warn!("data port: cannot set up the socket: {e}");
            return;
        }
    };
    let enlarged = state
        .set_send_buffer_size((&socket).into(), SOCKET_BUFFER)
        .and_then(|()| state.set_recv_buffer_size((&socket).into(), SOCKET_BUFFER));
    if let Err(e) = enlarged {
        debug!("data port: cannot enlarge the socket buffers: {e}");
    }
    let mut buffer = vec![0u8; SLOT * BATCH_SIZE];
    // Made once: the receive loop is the forwarding hot path.
    let mut slots: Vec<IoSliceMut<'_>> = buffer.chunks_mut(SLOT).map(IoSliceMut::new).collect();
    let mut metas = [RecvMeta::default(); BATCH_SIZE];
    loop {
        let received = socket
            .async_io(Interest::READABLE, || {
                state.recv((&socket).into(), &mut slots, &mut metas)
            })
            .await;
        let count = match received {
            Ok(count) => count,
            // ICMP errors about earlier sends (a peer that went away) surface here.
            Err(e) => {
                debug!("data port: receive: {e}");
                continue;
            }
        };
        for (meta, slot) in metas.iter().zip(slots.iter()).take(count) {
            let datagrams = &slot[..meta.len];
            let Some(outgoing) = route(&table, &metrics, meta, datagrams) else {
                continue;
            };
            send(&state, &socket, &outgoing, datagrams, meta, &metrics);
        }
    }
}

/// Where one received buffer goes.
enum Outgoing {
    Forward { to: std::net::SocketAddr },
    Answer { bytes: [u8; Bound::LEN] },
}

fn route(
    table: &Mutex<Table<SessionTally>>,
    metrics: &RelayMetrics,
    meta: &RecvMeta,
    datagrams: &[u8],
) -> Option<Outgoing> {
    // A bind is one datagram; a batch that is more than one can only be forwarded.
    let first = &datagrams[..meta.stride.min(datagrams.len())];
    let mut table = lock(table);
    match table.route(meta.addr, first) {
        Route::Forward { to, from, tag } => {
            let bytes = datagrams.len() as u64;
            match from {
                Side::Viewer => tag.count_to_agent(bytes),
                Side::Agent => tag.count_to_viewer(bytes),
            }
            Some(Outgoing::Forward { to })
        }
        Route::Answer(bound) => Some(Outgoing::Answer {
            bytes: bound.encode(),
        }),
        Route::Drop(reason) => {
            let dropped = match reason {
                Dropped::UnknownSource => &metrics.data_path_dropped_unknown,
                Dropped::PeerNotBound => &metrics.data_path_dropped_unbound,
            };
            dropped.inc();
            None
        }
    }
}

fn send(
    state: &UdpSocketState,
    socket: &UdpSocket,
    outgoing: &Outgoing,
    received: &[u8],
    meta: &RecvMeta,
    metrics: &RelayMetrics,
) {
    let (destination, contents, segment_size, ecn) = match outgoing {
        Outgoing::Forward { to } => (
            *to,
            received,
            (received.len() > meta.stride).then_some(meta.stride),
            meta.ecn,
        ),
        Outgoing::Answer { bytes } => (meta.addr, bytes.as_slice(), None, None),
    };
    let transmit = Transmit {
        destination,
        ecn,
        contents,
        segment_size,
        src_ip: None,
    };
    // Like a router's full queue: a datagram that does not fit now is dropped, and QUIC's
    // congestion control at the ends slows down. Waiting here would stall every session.
    // (`send` logs other errors itself: UDP delivery is best effort.)
    if let Err(e) = state.send(socket.into(), &transmit) {
        debug!("data port: send to {destination}: {e}");
        metrics.data_path_dropped_full.inc();
    }
}
