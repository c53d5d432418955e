//! The relay under load: N idle registered agents plus M streaming sessions, against a relay
//! running as its own process (this example re-executed with `--serve-relay`), so its RSS and
//! CPU time are read from `/proc/PID/` alone. Throughput and ping-pong latency through the relay
//! are compared with a direct quinn connection on loopback in the same run.
//!
//! ```sh
//! cargo run --release -p tether-relay --example load_bench -- --agents 1000 --sessions 10
//! ```

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use clap::Parser;
use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tether_certs::{
    Fingerprint, PinnedRelayVerifier, RelayIdentity, RelayTrust, RELAY_SERVER_NAME,
};
use tether_proto::{
    control::{ClientMessage, RelayMessage, StreamHeader},
    encode_message, Nameplate,
};
use tether_relay::{JoinLimits, RegistrationCaps, Relay, RelayConfig, DEFAULT_MIN_RESET_INTERVAL};
use tether_transport::{open_control, MessageReceiver, MessageSender};
use tokio::sync::Semaphore;

#[derive(Debug, Parser)]
struct Args {
    /// Idle agents to register (each one connection holding a nameplate).
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Concurrent streaming sessions (paired with some of those agents).
    #[arg(long, default_value_t = 10)]
    sessions: usize,
    /// Seconds each throughput measurement lasts.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Ping-pongs per latency measurement.
    #[arg(long, default_value_t = 2000)]
    pings: usize,
    /// Then kill the relay (SIGKILL), restart it, and time how its old agents learn to
    /// reconnect: with quinn's default reset interval, then with the relay's.
    #[arg(long)]
    crash: bool,
    /// Internal: run only the relay, with its data in this directory.
    #[arg(long, hide = true)]
    serve_relay: Option<PathBuf>,
    /// Internal: the relay's port (0: any free one).
    #[arg(long, hide = true, default_value_t = 0)]
    relay_port: u16,
    /// Internal: the relay's least time between stateless resets, in microseconds.
    #[arg(long, hide = true)]
    reset_interval_us: Option<u64>,
}

/// quinn's own least time between stateless resets, the baseline.
const QUINN_RESET_INTERVAL: Duration = Duration::from_millis(20);

/// Bytes per write on a throughput stream.
const WRITE: usize = 64 * 1024;
/// Bytes per ping.
const PING: usize = 64;
/// Agents connecting at once.
const CONNECTING_AT_ONCE: usize = 64;
/// Agent connections per client endpoint (one UDP socket and one driver task each), so the
/// clients' side does not become the bottleneck.
const AGENTS_PER_ENDPOINT: usize = 500;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match &args.serve_relay {
        Some(dir) => runtime.block_on(serve_relay(dir, &args)),
        None => runtime.block_on(bench(&args)),
    }
}

/// The relay process: limits lifted (every client comes from 127.0.0.1), runs until killed.
async fn serve_relay(dir: &Path, args: &Args) -> anyhow::Result<()> {
    let mut config = RelayConfig::new(([127, 0, 0, 1], args.relay_port).into(), dir.to_owned());
    if let Some(us) = args.reset_interval_us {
        config.min_reset_interval = Duration::from_micros(us);
    }
    config.max_connections_per_address = 100_000;
    config.registration_caps = RegistrationCaps {
        per_network: 1_000_000,
        total: 500_000,
    };
    config.join_limits = JoinLimits {
        per_address_burst: 1_000_000,
        per_address_interval: Duration::ZERO,
        global_burst: 1_000_000,
        global_interval: Duration::ZERO,
        global_reserve: 0,
    };
    let relay = Relay::start(config).await?;
    println!("{} {}", relay.local_addr(), relay.fingerprint());
    std::future::pending::<()>().await;
    Ok(())
}

/// The relay child process, killed when dropped.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
    fingerprint: Fingerprint,
}

impl RelayProcess {
    fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, 0, None)
    }

    fn start_with(dir: &Path, port: u16, reset_interval: Option<Duration>) -> anyhow::Result<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("--serve-relay")
            .arg(dir)
            .arg("--relay-port")
            .arg(port.to_string());
        if let Some(interval) = reset_interval {
            command
                .arg("--reset-interval-us")
                .arg(interval.as_micros().to_string());
        }
        let mut child = command.stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let (addr, fingerprint) = line.trim().split_once(' ').context("relay's first line")?;
        Ok(Self {
            addr: addr.parse()?,
            fingerprint: fingerprint.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            child,
        })
    }

    /// Kills the relay at once (no goodbye to anyone) and starts it again on the same port and
    /// data directory, sending at most one stateless reset per `reset_interval`.
    fn crash_and_restart(&mut self, dir: &Path, reset_interval: Duration) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        *self = Self::start_with(dir, self.addr.port(), Some(reset_interval))?;
        Ok(())
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .context("VmRSS")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("VmRSS value")?
            .parse()?)
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name (which may hold spaces) start at `state`, field 3.
        let after_name = stat.rsplit_once(')').context("stat")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        // USER_HZ is 100 on Linux.
        Ok(Duration::from_millis(ticks * 10))
    }
}

/// UDP datagrams sent so far in this network namespace (`OutDatagrams` of `/proc/net/snmp`). On
/// loopback that is the relay's and its clients' together, plus whatever else runs.
fn udp_datagrams_sent() -> anyhow::Result<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp")?;
    let mut udp = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let names = udp.next().context("no Udp header in /proc/net/snmp")?;
    let values = udp.next().context("no Udp values in /proc/net/snmp")?;
    let column = names
        .split_whitespace()
        .position(|name| name == "OutDatagrams")
        .context("no OutDatagrams in /proc/net/snmp")?;
    let value = values
        .split_whitespace()
        .nth(column)
        .context("no OutDatagrams value in /proc/net/snmp")?;
    Ok(value.parse()?)
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registered agent (or a joined viewer) with its control stream open.
struct Client {
    connection: Connection,
    _send: MessageSender<ClientMessage>,
    recv: MessageReceiver<RelayMessage>,
}

async fn client(
    endpoint: &Endpoint,
    addr: SocketAddr,
    ask: ClientMessage,
) -> anyhow::Result<(Client, RelayMessage)> {
    let connection = endpoint.connect(addr, RELAY_SERVER_NAME)?.await?;
    let (mut send, mut recv) = open_control(&connection, "load-bench 0").await?;
    let Some(RelayMessage::Welcome { .. }) = recv.recv().await? else {
        bail!("no welcome");
    };
    send.send(&ask).await?;
    let answer = recv.recv().await?.context("no answer")?;
    Ok((
        Client {
            connection,
            _send: send,
            recv,
        },
        answer,
    ))
}

fn client_endpoint(fingerprint: Fingerprint) -> anyhow::Result<Endpoint> {
    let verifier = PinnedRelayVerifier::new(RelayTrust::Pinned(fingerprint));
    let config =
        tether_transport::config::client_config(verifier).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut endpoint = Endpoint::client(([127, 0, 0, 1], 0).into())?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// Registers `count` agents, [`CONNECTING_AT_ONCE`] at a time, spread over `endpoints`.
async fn register_agents(
    endpoints: &[Endpoint],
    addr: SocketAddr,
    count: usize,
) -> anyhow::Result<Vec<(Client, Nameplate)>> {
    let limit = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let (endpoint, limit) = (endpoints[i % endpoints.len()].clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let ask = ClientMessage::Register {
                name: format!("agent-{i}"),
                auto_accept: false,
            };
            match client(&endpoint, addr, ask).await? {
                (agent, RelayMessage::Registered { nameplate, .. }) => Ok((agent, nameplate)),
                (_, other) => bail!("expected a nameplate, got {other:?}"),
            }
        }));
    }
    let mut agents = Vec::with_capacity(count);
    for task in tasks {
        agents.push(task.await?.context("registering an agent")?);
    }
    Ok(agents)
}

/// A paired session: the viewer's and the agent's connections.
struct Session {
    viewer: Connection,
    agent: Connection,
    session_id: u64,
    _viewer_client: Client,
}

async fn join(
    endpoint: &Endpoint,
    addr: SocketAddr,
    agent: &mut Client,
    nameplate: Nameplate,
) -> anyhow::Result<Session> {
    let ask = ClientMessage::Join {
        nameplate,
        name: "viewer".to_owned(),
    };
    let (viewer, answer) = client(endpoint, addr, ask).await?;
    let RelayMessage::Paired { session_id, .. } = answer else {
        bail!("expected pairing, got {answer:?}");
    };
    let Some(RelayMessage::Paired { .. }) = agent.recv.recv().await? else {
        bail!("the agent was not told");
    };
    Ok(Session {
        viewer: viewer.connection.clone(),
        agent: agent.connection.clone(),
        session_id,
        _viewer_client: viewer,
    })
}

/// A stream from `opener` to `accepter`, with the relay's header (if any) read off.
async fn stream_pair(
    opener: &Connection,
    accepter: &Connection,
    session_id: Option<u64>,
) -> anyhow::Result<((SendStream, RecvStream), (SendStream, RecvStream))> {
    let (mut send, recv) = opener.open_bi().await?;
    // A stream is announced to the peer only once something is written on it.
    send.write_all(&[0]).await?;
    let (far_send, mut far_recv) = accepter.accept_bi().await?;
    let mut header = Vec::new();
    if let Some(session_id) = session_id {
        encode_message(
            &StreamHeader {
                session_id,
                data_path: None,
            },
            &mut header,
        )?;
    }
    let mut skip = vec![0; header.len() + 1];
    far_recv.read_exact(&mut skip).await?;
    Ok(((send, recv), (far_send, far_recv)))
}

/// Bytes per second pushed from `opener` to `accepter` during `seconds`.
async fn throughput(
    opener: &Connection,
    accepter: &Connection,
    session_id: Option<u64>,
    seconds: u64,
) -> anyhow::Result<f64> {
    let ((mut send, _), (_, mut recv)) = stream_pair(opener, accepter, session_id).await?;
    let writer = tokio::spawn(async move {
        let chunk = vec![0x5a; WRITE];
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < deadline {
            send.write_all(&chunk).await?;
        }
        send.finish()?;
        anyhow::Ok(())
    });
    let started = Instant::now();
    let mut bytes = 0u64;
    while let Some(chunk) = recv.read_chunk(1 << 20, true).await? {
        bytes += chunk.bytes.len() as u64;
    }
    writer.await??;
    Ok(bytes as f64 / started.elapsed().as_secs_f64())
}

/// Round-trip times of `pings` small messages echoed by `accepter`, sorted.
async fn ping_pong(
    opener: &Connection,
    accepter: &Connection,
    session_id: Option<u64>,
    pings: usize,
) -> anyhow::Result<Vec<Duration>> {
    let ((mut send, mut recv), (mut far_send, mut far_recv)) =
        stream_pair(opener, accepter, session_id).await?;
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; PING];
        while far_recv.read_exact(&mut buf).await.is_ok() {
            far_send.write_all(&buf).await?;
        }
        anyhow::Ok(())
    });
    let mut times = Vec::with_capacity(pings);
    let mut buf = [0u8; PING];
    for _ in 0..pings {
        let sent = Instant::now();
        send.write_all(&[1; PING]).await?;
        recv.read_exact(&mut buf).await?;
        times.push(sent.elapsed());
    }
    send.finish()?;
    echo.abort();
    times.sort();
    Ok(times)
}

/// How the old agents of a crashed relay learnt their connection was gone.
struct Recovery {
    /// From the restarted relay's start to each stateless reset an agent accepted, sorted.
    resets: Vec<Duration>,
    /// Agents that heard nothing and timed out (the idle timeout) instead.
    timed_out: usize,
}

/// Crashes and restarts the relay (see [`RelayProcess::crash_and_restart`]) under `agents`,
/// and waits for each agent's connection to end.
async fn crash_recovery(
    relay: &mut RelayProcess,
    dir: &Path,
    agents: &[(Client, Nameplate)],
    reset_interval: Duration,
) -> anyhow::Result<Recovery> {
    relay.crash_and_restart(dir, reset_interval)?;
    let restarted = Instant::now();
    let ends: Vec<_> = agents
        .iter()
        .map(|(agent, _)| {
            let connection = agent.connection.clone();
            tokio::spawn(async move { (connection.closed().await, restarted.elapsed()) })
        })
        .collect();
    let mut recovery = Recovery {
        resets: Vec::new(),
        timed_out: 0,
    };
    for end in ends {
        let (end, after) = end.await?;
        match end {
            quinn::ConnectionError::Reset => recovery.resets.push(after),
            quinn::ConnectionError::TimedOut => recovery.timed_out += 1,
            other => bail!("an agent's connection ended otherwise: {other}"),
        }
    }
    recovery.resets.sort();
    Ok(recovery)
}

/// One row of the crash table.
fn print_recovery(label: &str, recovery: &Recovery, agents: usize) {
    let within = |secs: u64| {
        let told = recovery
            .resets
            .iter()
            .filter(|after| **after <= Duration::from_secs(secs))
            .count();
        100.0 * told as f64 / agents as f64
    };
    let last = recovery
        .resets
        .last()
        .map_or("–".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
    println!(
        "| {label} | {:.1} % | {:.1} % | {:.1} % | {last} | {} |",
        within(1),
        within(3),
        100.0 * recovery.resets.len() as f64 / agents as f64,
        recovery.timed_out
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mbit(bytes_per_sec: f64) -> f64 {
    bytes_per_sec * 8.0 / 1e6
}

/// A quinn server with the relay's identity and transport settings, and a client connection
/// to it: the baseline.
async fn direct_connection(dir: &Path) -> anyhow::Result<(Endpoint, Connection, Connection)> {
    let identity = RelayIdentity::load_or_create(dir)?;
    let config = tether_transport::config::server_config(
        &identity,
        tether_transport::config::DEFAULT_IDLE_TIMEOUT,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server = Endpoint::server(config, ([127, 0, 0, 1], 0).into())?;
    let client = client_endpoint(identity.fingerprint())?;
    let connecting = client.connect(server.local_addr()?, RELAY_SERVER_NAME)?;
    let (outgoing, incoming) = tokio::join!(connecting, async {
        server
            .accept()
            .await
            .context("no incoming")?
            .await
            .map_err(anyhow::Error::from)
    });
    Ok((client, outgoing?, incoming?))
}

async fn bench(args: &Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut relay = RelayProcess::start(&dir.path().join("relay"))?;
    let rss_start = relay.rss_kib()?;
    let agents_endpoints = (0..args.agents.div_ceil(AGENTS_PER_ENDPOINT))
        .map(|_| client_endpoint(relay.fingerprint))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let viewers_endpoint = client_endpoint(relay.fingerprint)?;

    let started = Instant::now();
    let cpu_before = relay.cpu()?;
    let mut agents = register_agents(&agents_endpoints, relay.addr, args.agents).await?;
    let register_time = started.elapsed();
    let register_cpu = relay.cpu()? - cpu_before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_cpu_before = relay.cpu()?;
    let idle_datagrams_before = udp_datagrams_sent()?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_cpu = (relay.cpu()? - idle_cpu_before).as_secs_f64() / 5.0;
    let idle_datagrams = (udp_datagrams_sent()? - idle_datagrams_before) as f64 / 5.0;
    let rss_idle = relay.rss_kib()?;

    let mut sessions = Vec::with_capacity(args.sessions);
    for (agent, nameplate) in agents.iter_mut().take(args.sessions) {
        let session = join(&viewers_endpoint, relay.addr, agent, *nameplate);
        sessions.push(session.await.context("pairing a session")?);
    }
    let (_direct_client, direct_out, direct_in) =
        direct_connection(&dir.path().join("relay")).await?;

    let direct_rate = throughput(&direct_out, &direct_in, None, args.seconds).await?;
    let one_rate = throughput(
        &sessions[0].viewer,
        &sessions[0].agent,
        Some(sessions[0].session_id),
        args.seconds,
    )
    .await?;
    let direct_rtt = ping_pong(&direct_out, &direct_in, None, args.pings).await?;
    let relay_rtt = ping_pong(
        &sessions[0].viewer,
        &sessions[0].agent,
        Some(sessions[0].session_id),
        args.pings,
    )
    .await?;

    let cpu_before = relay.cpu()?;
    let measured = Instant::now();
    let mut runs = Vec::with_capacity(sessions.len());
    for session in &sessions {
        let (viewer, agent, id, seconds) = (
            session.viewer.clone(),
            session.agent.clone(),
            session.session_id,
            args.seconds,
        );
        runs.push(tokio::spawn(async move {
            throughput(&viewer, &agent, Some(id), seconds).await
        }));
    }
    let mut rates = Vec::with_capacity(runs.len());
    for run in runs {
        rates.push(run.await??);
    }
    let all_cpu = (relay.cpu()? - cpu_before).as_secs_f64() / measured.elapsed().as_secs_f64();
    let rss_streaming = relay.rss_kib()?;
    rates.sort_by(f64::total_cmp);
    let total: f64 = rates.iter().sum();

    let (d50, d99) = (percentile(&direct_rtt, 0.5), percentile(&direct_rtt, 0.99));
    let (r50, r99) = (percentile(&relay_rtt, 0.5), percentile(&relay_rtt, 0.99));
    println!("## {} idle agents, {} sessions", args.agents, args.sessions);
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| relay RSS at start | {:.1} MiB |",
        rss_start as f64 / 1024.0
    );
    println!(
        "| relay RSS with {} idle agents | {:.1} MiB ({:.1} KiB per agent) |",
        args.agents,
        rss_idle as f64 / 1024.0,
        (rss_idle.saturating_sub(rss_start)) as f64 / args.agents as f64
    );
    println!(
        "| relay RSS while {} sessions stream | {:.1} MiB |",
        args.sessions,
        rss_streaming as f64 / 1024.0
    );
    println!(
        "| registering {} agents | {:.2} s wall, {:.2} s relay CPU |",
        args.agents,
        register_time.as_secs_f64(),
        register_cpu.as_secs_f64()
    );
    println!(
        "| relay CPU with agents idle (keep-alives) | {:.1} % of a core |",
        idle_cpu * 100.0
    );
    println!(
        "| UDP datagrams with agents idle, both ways | {:.2} per agent per second |",
        idle_datagrams / args.agents as f64
    );
    println!(
        "| direct quinn, one stream | {:.0} Mbit/s |",
        mbit(direct_rate)
    );
    println!(
        "| through the relay, one session alone | {:.0} Mbit/s ({:.2} × direct) |",
        mbit(one_rate),
        one_rate / direct_rate
    );
    println!(
        "| {} sessions at once, per session min / median / max | {:.0} / {:.0} / {:.0} Mbit/s |",
        rates.len(),
        mbit(rates[0]),
        mbit(rates[rates.len() / 2]),
        mbit(rates[rates.len() - 1])
    );
    println!(
        "| {} sessions at once, total | {:.0} Mbit/s, relay CPU {:.0} % of a core |",
        rates.len(),
        mbit(total),
        all_cpu * 100.0
    );
    println!(
        "| ping-pong {} B RTT direct p50 / p99 | {:.0} / {:.0} µs |",
        PING,
        micros(d50),
        micros(d99)
    );
    println!(
        "| ping-pong {} B RTT via relay p50 / p99 | {:.0} / {:.0} µs |",
        PING,
        micros(r50),
        micros(r99)
    );
    println!(
        "| added by the relay p50 / p99 | {:.0} / {:.0} µs ({:.2} / {:.2} × direct) |",
        micros(r50.saturating_sub(d50)),
        micros(r99.saturating_sub(d99)),
        r50.as_secs_f64() / d50.as_secs_f64(),
        r99.as_secs_f64() / d99.as_secs_f64()
    );
    if args.crash {
        drop(sessions);
        let data = dir.path().join("relay");
        let baseline = crash_recovery(&mut relay, &data, &agents, QUINN_RESET_INTERVAL).await?;
        // The baseline's crash ended every agent: register them again for the second one.
        let agents = register_agents(&agents_endpoints, relay.addr, args.agents).await?;
        let ours = crash_recovery(&mut relay, &data, &agents, DEFAULT_MIN_RESET_INTERVAL).await?;
        println!();
        println!(
            "After a crash (SIGKILL) and a restart on the same port, how the {} agents learn \
             their connection is gone:",
            args.agents
        );
        println!();
        println!("| reset interval | reset within 1 s | within 3 s | all resets | last reset | timed out instead |");
        println!("|---|---|---|---|---|---|");
        let label = |interval: Duration, whose: &str| {
            format!("{} ms ({whose})", interval.as_secs_f64() * 1000.0)
        };
        print_recovery(
            &label(QUINN_RESET_INTERVAL, "quinn's"),
            &baseline,
            args.agents,
        );
        print_recovery(
            &label(DEFAULT_MIN_RESET_INTERVAL, "the relay's"),
            &ours,
            args.agents,
        );
    }
    Ok(())
}
