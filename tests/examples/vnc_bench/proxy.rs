//! Forwarding proxies that count what the server sends the client: TCP for
//! VNC (with the RFB stream parsed, to time each framebuffer update), UDP
//! for Tether (each datagram is one packet). Every count is logged with its
//! time, so any interval can be summed afterwards.

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream, UdpSocket},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use crate::rfb::RfbParser;

/// IPv4 header bytes per packet.
pub const IPV4_HEADER: usize = 20;
/// UDP header bytes per datagram.
pub const UDP_HEADER: usize = 8;
/// TCP header bytes per segment with the timestamp option Linux uses by
/// default (20 + 12).
pub const TCP_HEADER: usize = 32;
/// TCP payload bytes per segment on a 1500-byte path with timestamps.
pub const TCP_MSS: usize = 1448;

/// What one direction carried, as (time, payload bytes, packets).
#[derive(Debug, Default)]
pub struct Log {
    pub events: Vec<(Instant, usize, usize)>,
    /// When each RFB framebuffer update was complete (TCP only).
    pub updates: Vec<Instant>,
}

impl Log {
    /// Payload bytes and packets between `from` and `to`.
    pub fn between(&self, from: Instant, to: Instant) -> (usize, usize) {
        self.events
            .iter()
            .filter(|(at, _, _)| *at >= from && *at < to)
            .fold((0, 0), |(bytes, packets), (_, b, p)| {
                (bytes + b, packets + p)
            })
    }

    /// Framebuffer updates completed between `from` and `to`.
    pub fn updates_between(&self, from: Instant, to: Instant) -> usize {
        self.updates
            .iter()
            .filter(|at| **at >= from && **at < to)
            .count()
    }
}

pub type SharedLog = Arc<Mutex<Log>>;

/// A TCP proxy on 127.0.0.1 forwarding every connection to `upstream`.
/// Server → client data is parsed as RFB and counted in segments of at most
/// [`TCP_MSS`] bytes per read: loopback carries 64 KiB segments, but a
/// write the kernel delivered at once leaves in ceil(len / MSS) segments on
/// a real path. The server's pure ACKs are counted by the kernel
/// ([`segments_in`]).
pub struct TcpProxy {
    pub port: u16,
    pub down: SharedLog,
    /// The local port of the latest connection to the server.
    pub upstream_port: Arc<Mutex<Option<u16>>>,
}

impl TcpProxy {
    pub fn start(upstream: u16) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a TCP proxy");
        let port = listener.local_addr().expect("address").port();
        let down: SharedLog = Arc::default();
        let log = down.clone();
        let upstream_port = Arc::new(Mutex::new(None));
        let latest = upstream_port.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                *latest.lock().expect("port") = server.local_addr().ok().map(|a| a.port());
                let log = log.clone();
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                thread::spawn(move || pump_up(client, server));
                thread::spawn(move || pump_down(s2, c2, log));
            }
        });
        TcpProxy {
            port,
            down,
            upstream_port,
        }
    }
}

/// Client → server, forwarded as it comes.
fn pump_up(mut client: TcpStream, mut server: TcpStream) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if server.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// Segments received so far on the proxy's connection to the server from
/// local port `port`, as the kernel counts them: (all, with data). Their
/// difference is the server's pure ACKs.
pub fn segments_in(port: u16) -> Option<(u64, u64)> {
    let out = std::process::Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            "sport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u64> {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .and_then(|value| value.parse().ok())
    };
    Some((field("segs_in:")?, field("data_segs_in:")?))
}

fn pump_down(mut server: TcpStream, mut client: TcpStream, log: SharedLog) {
    let mut buffer = vec![0; 256 * 1024];
    let mut parser = RfbParser::default();
    loop {
        match server.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let now = Instant::now();
                let completed = parser.feed(&buffer[..n]);
                {
                    let mut log = log.lock().expect("log");
                    log.events.push((now, n, n.div_ceil(TCP_MSS)));
                    log.updates.extend(std::iter::repeat_n(now, completed));
                }
                if client.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    if let Some(error) = parser.error() {
        eprintln!("warning: RFB stream not understood: {error}");
    }
    if std::env::var_os("VNC_BENCH_DEBUG").is_some() {
        eprintln!("RFB parser at the end: {parser:?}");
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// A UDP proxy on 127.0.0.1: the first peer to send is the client; its
/// datagrams go to `upstream`, whose answers go back to it.
pub struct UdpProxy {
    pub port: u16,
    /// Upstream → client.
    pub down: SharedLog,
    /// Client → upstream.
    pub up: SharedLog,
}

impl UdpProxy {
    pub fn start(upstream: &str) -> UdpProxy {
        let outside = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP proxy");
        let port = outside.local_addr().expect("address").port();
        let inside = UdpSocket::bind("127.0.0.1:0").expect("bind");
        inside.connect(upstream).expect("connect upstream");
        let down: SharedLog = Arc::default();
        let up: SharedLog = Arc::default();
        let client = Arc::new(Mutex::new(None));
        {
            let (outside, inside, client, log) = (
                outside.try_clone().expect("clone"),
                inside.try_clone().expect("clone"),
                client.clone(),
                up.clone(),
            );
            thread::spawn(move || {
                let mut buffer = vec![0; 65536];
                while let Ok((n, from)) = outside.recv_from(&mut buffer) {
                    log.lock().expect("log").events.push((Instant::now(), n, 1));
                    *client.lock().expect("client") = Some(from);
                    let _ = inside.send(&buffer[..n]);
                }
            });
        }
        let log = down.clone();
        thread::spawn(move || {
            let mut buffer = vec![0; 65536];
            while let Ok(n) = inside.recv(&mut buffer) {
                let now = Instant::now();
                log.lock().expect("log").events.push((now, n, 1));
                if let Some(to) = *client.lock().expect("client") {
                    let _ = outside.send_to(&buffer[..n], to);
                }
            }
        });
        UdpProxy { port, down, up }
    }
}

/// Waits until `log` has been quiet for `quiet` (at most `limit`).
pub fn wait_quiet(log: &SharedLog, quiet: Duration, limit: Duration) {
    let start = Instant::now();
    loop {
        let last = log.lock().expect("log").events.last().map(|e| e.0);
        let idle = last.is_none_or(|at| at.elapsed() >= quiet);
        if idle || start.elapsed() > limit {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
