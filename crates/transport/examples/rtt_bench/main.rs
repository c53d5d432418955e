//! One-byte round trips between two processes on loopback: over the kernel's TCP (what ssh
//! stands on), over bare UDP, over QUIC configured as the data path is (quinn on tokio, TLS
//! 1.3 with pinned certificates), and over the same QUIC driven by a blocking loop with no
//! async runtime ([`sans_io`]). What a keystroke's echo costs in transport alone, with no
//! shell, terminal, relay or framing.
//!
//! `cargo run --release -p tether-transport --example rtt_bench -- --rounds 2000`
//!
//! The bench is the client. It re-runs its own executable once per transport as the echo
//! server (the variable [`SERVE`] says which), then times the transports in turn, round by
//! round, so that whatever else loads the machine loads them all alike.

mod sans_io;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use clap::Parser;
use quinn::{Endpoint, RecvStream, SendStream};
use tether_certs::Fingerprint;
use tether_transport::{
    config::{client_config_with, server_config_with, DEFAULT_IDLE_TIMEOUT},
    direct::{DirectIdentity, PinnedPeer},
};

/// Set in a server process to the [`Transport::name`] it serves.
const SERVE: &str = "RTT_BENCH_SERVE";

#[derive(Parser)]
#[command(about = "One-byte round trips between two processes over TCP, UDP and QUIC")]
struct Args {
    /// Timed round trips per transport.
    #[arg(long, default_value_t = 2000)]
    rounds: usize,
    /// Untimed round trips per transport first.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// Pause after each round trip, in milliseconds: both processes go idle between round
    /// trips, as they do between keystrokes.
    #[arg(long, default_value_t = 5)]
    gap_ms: u64,
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Tcp,
    Udp,
    /// QUIC with the server on a single-threaded runtime, as the viewer runs.
    QuicCurrentThread,
    /// QUIC with the server on a multi-threaded runtime, as the agent runs.
    QuicMultiThread,
    /// QUIC from `quinn-proto` in a blocking loop at both ends.
    QuicSansIo,
}

impl Transport {
    const ALL: [Self; 5] = [
        Self::Tcp,
        Self::Udp,
        Self::QuicCurrentThread,
        Self::QuicMultiThread,
        Self::QuicSansIo,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::QuicCurrentThread => "quic-current-thread",
            Self::QuicMultiThread => "quic-multi-thread",
            Self::QuicSansIo => "quic-sans-io",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Tcp => "TCP (blocking, TCP_NODELAY)",
            Self::Udp => "UDP (blocking)",
            Self::QuicCurrentThread => "QUIC, server on a current-thread runtime",
            Self::QuicMultiThread => "QUIC, server on a multi-thread runtime",
            Self::QuicSansIo => "QUIC, quinn-proto in a blocking loop at both ends",
        }
    }
}

fn main() -> anyhow::Result<()> {
    if let Ok(name) = std::env::var(SERVE) {
        let Some(transport) = Transport::ALL.into_iter().find(|t| t.name() == name) else {
            bail!("{SERVE}={name}: no such transport");
        };
        return serve(transport);
    }
    let args = Args::parse();
    // The client runs as `tether-viewer shell` does: on a current-thread runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure(args))
}

/// Echoes every byte back on `transport` until killed; first prints the port (and, for QUIC,
/// the certificate's fingerprint) on a line of its own.
fn serve(transport: Transport) -> anyhow::Result<()> {
    let loopback = (Ipv4Addr::LOCALHOST, 0);
    match transport {
        Transport::Tcp => {
            let listener = TcpListener::bind(loopback)?;
            println!("{}", listener.local_addr()?.port());
            let (mut stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            let mut buf = [0; 64];
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                stream.write_all(&buf[..n])?;
            }
        }
        Transport::Udp => {
            let socket = UdpSocket::bind(loopback)?;
            println!("{}", socket.local_addr()?.port());
            let mut buf = [0; 64];
            loop {
                let (n, from) = socket.recv_from(&mut buf)?;
                socket.send_to(&buf[..n], from)?;
            }
        }
        // The echo runs as a spawned task, as the agent's shells do.
        Transport::QuicCurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async { tokio::spawn(serve_quic()).await? }),
        Transport::QuicMultiThread => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async { tokio::spawn(serve_quic()).await? }),
        Transport::QuicSansIo => {
            let socket = UdpSocket::bind(loopback)?;
            let (config, fingerprint) = quic_server_config()?;
            println!("{} {fingerprint}", socket.local_addr()?.port());
            sans_io::Driver::serve_echo(socket, Arc::new(config))
        }
    }
}

/// The data path's server configuration with a fresh certificate, and that certificate's
/// fingerprint for the client to pin.
fn quic_server_config() -> anyhow::Result<(quinn::ServerConfig, Fingerprint)> {
    let identity = DirectIdentity::generate()?;
    let (chain, key) = identity.certified();
    let fingerprint = Fingerprint::of_der(&chain[0]);
    let config = server_config_with((chain, key), None, DEFAULT_IDLE_TIMEOUT)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((config, fingerprint))
}

/// The data path's client configuration, pinning the server certificate `announced`.
fn quic_client_config(announced: Option<&str>) -> anyhow::Result<quinn::ClientConfig> {
    let fingerprint: Fingerprint = announced.context("no fingerprint")?.parse()?;
    client_config_with(PinnedPeer::new(*fingerprint.as_bytes()), None)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn serve_quic() -> anyhow::Result<()> {
    let (config, fingerprint) = quic_server_config()?;
    let endpoint = Endpoint::server(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    println!("{} {fingerprint}", endpoint.local_addr()?.port());
    let connection = endpoint.accept().await.context("no client")?.await?;
    let (mut send, mut recv) = connection.accept_bi().await?;
    let mut buf = [0; 64];
    while let Some(n) = recv.read(&mut buf).await? {
        send.write_all(&buf[..n]).await?;
    }
    Ok(())
}

/// The client's end of one transport.
enum Link {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Quic {
        send: SendStream,
        recv: RecvStream,
        // Kept for the connection's lifetime.
        _endpoint: Endpoint,
    },
    QuicSansIo {
        // Boxed: the endpoint and connection state are far larger than the other links.
        driver: Box<sans_io::Driver>,
        stream: quinn_proto::StreamId,
    },
}

impl Link {
    async fn round_trip(&mut self, byte: u8) -> anyhow::Result<Duration> {
        let mut back = [0];
        let start = Instant::now();
        match self {
            Self::Tcp(stream) => {
                stream.write_all(&[byte])?;
                stream.read_exact(&mut back)?;
            }
            Self::Udp(socket) => {
                socket.send(&[byte])?;
                socket.recv(&mut back)?;
            }
            Self::Quic { send, recv, .. } => {
                send.write_all(&[byte]).await?;
                recv.read_exact(&mut back).await?;
            }
            Self::QuicSansIo { driver, stream } => back[0] = driver.round_trip(*stream, byte)?,
        }
        let elapsed = start.elapsed();
        if back[0] != byte {
            bail!("sent {byte}, got {} back", back[0]);
        }
        Ok(elapsed)
    }
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server for `transport` and returns it with the line it printed.
fn start_server(transport: Transport) -> anyhow::Result<(Server, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(SERVE, transport.name())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("server stdout")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.is_empty() {
        bail!("the {} server did not start", transport.name());
    }
    Ok((server, line.trim().to_owned()))
}

async fn connect(transport: Transport, announced: &str) -> anyhow::Result<Link> {
    let mut words = announced.split_whitespace();
    let port: u16 = words.next().context("no port")?.parse()?;
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    Ok(match transport {
        Transport::Tcp => {
            let stream = TcpStream::connect(server)?;
            stream.set_nodelay(true)?;
            Link::Tcp(stream)
        }
        Transport::Udp => {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
            socket.connect(server)?;
            socket.set_read_timeout(Some(Duration::from_secs(5)))?;
            Link::Udp(socket)
        }
        Transport::QuicSansIo => {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
            let config = quic_client_config(words.next())?;
            let (driver, stream) =
                sans_io::Driver::connect(socket, config, server, "tether-session")?;
            Link::QuicSansIo {
                driver: Box::new(driver),
                stream,
            }
        }
        Transport::QuicCurrentThread | Transport::QuicMultiThread => {
            let config = quic_client_config(words.next())?;
            let endpoint = Endpoint::client(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
            let connection = endpoint
                .connect_with(config, server, "tether-session")?
                .await?;
            let (send, recv) = connection.open_bi().await?;
            Link::Quic {
                send,
                recv,
                _endpoint: endpoint,
            }
        }
    })
}

async fn measure(args: Args) -> anyhow::Result<()> {
    let mut servers = Vec::new();
    let mut links = Vec::new();
    for transport in Transport::ALL {
        let (server, announced) = start_server(transport)?;
        links.push(connect(transport, &announced).await?);
        servers.push(server);
    }
    let gap = Duration::from_millis(args.gap_ms);
    let mut samples = vec![Vec::with_capacity(args.rounds); links.len()];
    for round in 0..args.warmup + args.rounds {
        let byte = b'a' + (round % 26) as u8;
        // Forwards, then backwards: no transport always goes first.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..links.len()).collect()
        } else {
            (0..links.len()).rev().collect()
        };
        for index in order {
            let trip = links[index].round_trip(byte).await?;
            if round >= args.warmup {
                samples[index].push(trip);
            }
            tokio::time::sleep(gap).await;
        }
    }
    drop(servers);
    report(&args, &mut samples);
    Ok(())
}

fn report(args: &Args, samples: &mut [Vec<Duration>]) {
    for list in samples.iter_mut() {
        list.sort();
    }
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let percentile = |list: &[Duration], p: f64| {
        let index = ((list.len() as f64 - 1.0) * p).round() as usize;
        micros(list[index])
    };
    let tcp_p50 = percentile(&samples[0], 0.5);
    println!(
        "{} round trips of one byte per transport, {} ms apart (after {} untimed)\n",
        args.rounds, args.gap_ms, args.warmup
    );
    println!("| transport | p50 µs | p99 µs | mean µs | p50 / TCP p50 |");
    println!("|---|---:|---:|---:|---:|");
    for (transport, list) in Transport::ALL.iter().zip(samples.iter()) {
        let mean = list.iter().map(|d| micros(*d)).sum::<f64>() / list.len() as f64;
        let p50 = percentile(list, 0.5);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            transport.label(),
            p50,
            percentile(list, 0.99),
            mean,
            p50 / tcp_p50
        );
    }
}
