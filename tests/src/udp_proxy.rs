//! A UDP forwarder on 127.0.0.1 that clients dial instead of the relay, and that a test can
//! black out (every packet dropped, both ways) and restore: a network blip, as QUIC sees it; or
//! remap, as a NAT that forgets its mappings does: each client then reaches the relay from a
//! new address.

use std::{
    collections::HashMap,
    io::ErrorKind,
    net::{IpAddr, SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

/// How often the forwarding threads look up from their sockets to see whether to stop.
const POLL: Duration = Duration::from_millis(50);
/// Larger than any QUIC datagram.
const DATAGRAM: usize = 65_536;

/// A running forwarder; stops when dropped.
pub struct UdpProxy {
    addr: SocketAddr,
    switches: Arc<Switches>,
    thread: Option<JoinHandle<()>>,
}

/// What the test flips while the forwarding threads run.
#[derive(Default)]
struct Switches {
    blackout: AtomicBool,
    /// Bumped on each remap: mappings made before it are dropped.
    mappings: AtomicU64,
    stop: AtomicBool,
}

impl UdpProxy {
    /// Forwards datagrams from a port of its own to `upstream`, and the answers back, giving
    /// each client address its own upstream socket (as a NAT would).
    pub fn start(upstream: SocketAddr) -> Self {
        Self::spawn(bind_front(), |_| upstream)
    }

    /// Like [`UdpProxy::start`], to the proxy's own port number on `upstream_ip`: start the
    /// server there on [`UdpProxy::addr`]'s port, and clients that send to that port on
    /// 127.0.0.1 reach it through the proxy.
    pub fn to_same_port_on(upstream_ip: IpAddr) -> Self {
        Self::spawn(bind_front(), |front| {
            SocketAddr::new(upstream_ip, front.port())
        })
    }

    fn spawn(front: UdpSocket, upstream: impl FnOnce(SocketAddr) -> SocketAddr) -> Self {
        let addr = front.local_addr().expect("proxy address");
        let upstream = upstream(addr);
        let switches = Arc::new(Switches::default());
        let thread = {
            let switches = switches.clone();
            thread::spawn(move || forward(front, upstream, &switches))
        };
        Self {
            addr,
            switches,
            thread: Some(thread),
        }
    }

    /// Where clients send their datagrams.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every datagram, both ways, from now until [`UdpProxy::restore`].
    pub fn black_out(&self) {
        self.switches.blackout.store(true, Ordering::SeqCst);
    }

    /// Forwards datagrams again.
    pub fn restore(&self) {
        self.switches.blackout.store(false, Ordering::SeqCst);
    }

    /// Forgets every client's mapping: each client's next datagram leaves from a new upstream
    /// socket, and answers to the old ones go nowhere.
    pub fn remap(&self) {
        self.switches.mappings.fetch_add(1, Ordering::SeqCst);
    }
}

fn bind_front() -> UdpSocket {
    let front = UdpSocket::bind("127.0.0.1:0").expect("bind the proxy");
    front.set_read_timeout(Some(POLL)).expect("read timeout");
    front
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.switches.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Client → upstream, on the calling thread; upstream → client on one thread per mapping.
fn forward(front: UdpSocket, upstream: SocketAddr, switches: &Arc<Switches>) {
    let front = Arc::new(front);
    // Each client's upstream socket, and the remap it was made after.
    let mut clients: HashMap<SocketAddr, (u64, UdpSocket)> = HashMap::new();
    let mut answers = Vec::new();
    let mut buf = vec![0; DATAGRAM];
    while !switches.stop.load(Ordering::SeqCst) {
        let (len, client) = match front.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("proxy front socket: {e}"),
        };
        if switches.blackout.load(Ordering::SeqCst) {
            continue;
        }
        let mappings = switches.mappings.load(Ordering::SeqCst);
        let current = clients
            .get(&client)
            .is_some_and(|(made_after, _)| *made_after == mappings);
        if !current {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an upstream socket");
            socket.connect(upstream).expect("connect upstream");
            socket.set_read_timeout(Some(POLL)).expect("read timeout");
            let back = socket.try_clone().expect("clone the upstream socket");
            let (front, switches) = (front.clone(), switches.clone());
            answers.push(thread::spawn(move || {
                answer(&back, &front, client, mappings, &switches)
            }));
            clients.insert(client, (mappings, socket));
        }
        if let Some((_, socket)) = clients.get(&client) {
            // A send fails only when the relay is gone: like a lost datagram.
            let _ = socket.send(&buf[..len]);
        }
    }
    for thread in answers {
        let _ = thread.join();
    }
}

/// Upstream → `client`, until stopped or remapped after `made_after`.
fn answer(
    upstream: &UdpSocket,
    front: &UdpSocket,
    client: SocketAddr,
    made_after: u64,
    switches: &Switches,
) {
    let mut buf = vec![0; DATAGRAM];
    let live = || {
        !switches.stop.load(Ordering::SeqCst)
            && switches.mappings.load(Ordering::SeqCst) == made_after
    };
    while live() {
        let len = match upstream.recv(&mut buf) {
            Ok(len) => len,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            // E.g. the relay's port is closed (ICMP unreachable): like a lost datagram.
            Err(_) => continue,
        };
        if live() && !switches.blackout.load(Ordering::SeqCst) {
            let _ = front.send_to(&buf[..len], client);
        }
    }
}
