//! The relay's data port: forwards the UDP datagrams of a technician's session between its
//! viewer and its agent, which run a QUIC connection of their own through it (see
//! [`tether_proto::data_path`]). The relay never holds those connections' keys.

mod socket;
mod table;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use rand::rngs::OsRng;
use tether_proto::data_path::DataPathTicket;
use tokio::{net::UdpSocket, task::JoinHandle};
use tracing::warn;

use crate::{forward::SessionTally, lock::lock, metrics::RelayMetrics};
use table::Table;

/// Sessions that may hold an allocation at once; more stay on relayed streams. Each costs two
/// small table entries, so this only stops a runaway, not ordinary load.
const MAX_ALLOCATIONS: usize = 100_000;

/// A bound data port and its forwarding task.
pub(crate) struct DataPort {
    table: Arc<Mutex<Table<SessionTally>>>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DataPort {
    /// Binds `addr` and starts forwarding.
    pub async fn start(addr: SocketAddr, metrics: Arc<RelayMetrics>) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot open the data port on {addr}"))?;
        let local_addr = socket.local_addr()?;
        let table = Arc::new(Mutex::new(Table::new(&mut OsRng, MAX_ALLOCATIONS)));
        let task = tokio::spawn(socket::run(socket, table.clone(), metrics));
        Ok(Self {
            table,
            local_addr,
            task,
        })
    }

    /// The address the data port listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// An allocation for one session, counting its bytes in `tally`; `None` when the port
    /// holds its maximum (the session then stays on relayed streams).
    pub fn allocate(&self, tally: SessionTally) -> Option<Allocation> {
        let allocated = lock(&self.table).allocate(&mut OsRng, tally);
        match allocated {
            Ok(allocated) => {
                let ticket = |secret| DataPathTicket {
                    port: self.local_addr.port(),
                    allocation: allocated.allocation,
                    secret,
                };
                Some(Allocation {
                    table: self.table.clone(),
                    allocation: allocated.allocation,
                    viewer: ticket(allocated.viewer),
                    agent: ticket(allocated.agent),
                })
            }
            Err(e) => {
                warn!("{e}: the session stays on relayed streams");
                None
            }
        }
    }
}

impl Drop for DataPort {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One session's allocation; released when dropped (the session ended).
pub(crate) struct Allocation {
    table: Arc<Mutex<Table<SessionTally>>>,
    allocation: u64,
    /// The viewer's ticket.
    pub viewer: DataPathTicket,
    /// The agent's ticket.
    pub agent: DataPathTicket,
}

impl Drop for Allocation {
    fn drop(&mut self) {
        lock(&self.table).release(self.allocation);
    }
}
