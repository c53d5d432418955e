//! A UDP forwarder on 127.0.0.1 that clients dial instead of the relay, and that a test can
//! black out (every packet dropped, both ways) and restore: a network blip, as QUIC sees it.

use std::{
    collections::HashMap,
    io::ErrorKind,
    net::{SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicBool, Ordering},
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
    blackout: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpProxy {
    /// Forwards datagrams from a port of its own to `upstream`, and the answers back, giving
    /// each client address its own upstream socket (as a NAT would).
    pub fn start(upstream: SocketAddr) -> Self {
        let front = UdpSocket::bind("127.0.0.1:0").expect("bind the proxy");
        front.set_read_timeout(Some(POLL)).expect("read timeout");
        let addr = front.local_addr().expect("proxy address");
        let blackout = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (blackout, stop) = (blackout.clone(), stop.clone());
            thread::spawn(move || forward(front, upstream, &blackout, &stop))
        };
        Self {
            addr,
            blackout,
            stop,
            thread: Some(thread),
        }
    }

    /// Where clients send their datagrams.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every datagram, both ways, from now until [`UdpProxy::restore`].
    pub fn black_out(&self) {
        self.blackout.store(true, Ordering::SeqCst);
    }

    /// Forwards datagrams again.
    pub fn restore(&self) {
        self.blackout.store(false, Ordering::SeqCst);
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Client → upstream, on the calling thread; upstream → client on one thread per client.
fn forward(
    front: UdpSocket,
    upstream: SocketAddr,
    blackout: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) {
    let front = Arc::new(front);
    let mut clients: HashMap<SocketAddr, UdpSocket> = HashMap::new();
    let mut answers = Vec::new();
    let mut buf = vec![0; DATAGRAM];
    while !stop.load(Ordering::SeqCst) {
        let (len, client) = match front.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("proxy front socket: {e}"),
        };
        if blackout.load(Ordering::SeqCst) {
            continue;
        }
        let socket = clients.entry(client).or_insert_with(|| {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an upstream socket");
            socket.connect(upstream).expect("connect upstream");
            socket.set_read_timeout(Some(POLL)).expect("read timeout");
            let back = socket.try_clone().expect("clone the upstream socket");
            let (front, blackout, stop) = (front.clone(), blackout.clone(), stop.clone());
            answers.push(thread::spawn(move || {
                answer(&back, &front, client, &blackout, &stop)
            }));
            socket
        });
        // A send fails only when the relay is gone: like a lost datagram.
        let _ = socket.send(&buf[..len]);
    }
    for thread in answers {
        let _ = thread.join();
    }
}

/// Upstream → `client`, until stopped.
fn answer(
    upstream: &UdpSocket,
    front: &UdpSocket,
    client: SocketAddr,
    blackout: &AtomicBool,
    stop: &AtomicBool,
) {
    let mut buf = vec![0; DATAGRAM];
    while !stop.load(Ordering::SeqCst) {
        let len = match upstream.recv(&mut buf) {
            Ok(len) => len,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            // E.g. the relay's port is closed (ICMP unreachable): like a lost datagram.
            Err(_) => continue,
        };
        if !blackout.load(Ordering::SeqCst) {
            let _ = front.send_to(&buf[..len], client);
        }
    }
}
