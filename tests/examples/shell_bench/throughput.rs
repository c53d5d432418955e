//! Remote commands on pipes, like `ssh host cmd`: their output read and counted here, timed
//! from spawning the client to its exit.

use std::{
    io::Read,
    thread,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context};

use crate::{client::Client, cpu, echo::order};

/// After a client exits, how long the server side gets to reap its processes before its CPU
/// time is read.
const SERVER_SETTLE: Duration = Duration::from_millis(300);
/// How much of the output one read takes.
const READ_BUFFER: usize = 256 * 1024;

/// One remote command run to its end.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// From spawning the client to its exit: connection, authentication, the command, its
    /// output.
    pub elapsed: Duration,
    /// Bytes of standard output received.
    pub bytes: u64,
    /// CPU time of the client process.
    pub client_cpu: Duration,
    /// CPU time of the server side meanwhile (sshd and its sessions; the relay and the agent
    /// and its commands).
    pub server_cpu: Duration,
}

/// A remote command and how many bytes of output it must print.
pub struct Job<'a> {
    /// The command's words.
    pub argv: &'a [&'a str],
    /// Its output's length.
    pub expected: u64,
}

/// Runs every job `runs` times with each client: round after round, each job in turn, each
/// client in turn (alternating which goes first), so that changing load hits all alike.
/// Returns, per job, the runs per client.
pub fn interleaved(
    clients: &[Client],
    jobs: &[Job],
    runs: usize,
) -> anyhow::Result<Vec<Vec<Vec<Run>>>> {
    let mut results = vec![vec![Vec::with_capacity(runs); clients.len()]; jobs.len()];
    for round in 0..runs {
        for (job, per_client) in jobs.iter().zip(&mut results) {
            for side in order(round, clients.len()) {
                let client = &clients[side];
                let run = run(client, job.argv)?;
                ensure!(
                    run.bytes == job.expected,
                    "{} {:?} printed {} bytes, not {}",
                    client.name,
                    job.argv,
                    run.bytes,
                    job.expected
                );
                per_client[side].push(run);
            }
        }
    }
    Ok(results)
}

/// Runs `argv` once with `client`, reading its standard output to the end.
fn run(client: &Client, argv: &[&str]) -> anyhow::Result<Run> {
    let server_before = client.server_cpu()?;
    let client_before = cpu::of("self")?.reaped;
    let start = Instant::now();
    let mut child = client
        .command(argv)
        .spawn()
        .with_context(|| format!("start {}", client.name))?;
    let mut stderr = child.stderr.take().context("piped stderr")?;
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let bytes = count(&mut child.stdout.take().context("piped stdout")?)?;
    let status = child.wait().context("wait for the client")?;
    let elapsed = start.elapsed();
    let errors = errors.join().unwrap_or_default();
    ensure!(
        status.success(),
        "{} {argv:?} failed ({status}): {errors}",
        client.name
    );
    thread::sleep(SERVER_SETTLE);
    Ok(Run {
        elapsed,
        bytes,
        client_cpu: cpu::of("self")?.reaped.saturating_sub(client_before),
        server_cpu: client.server_cpu()?.saturating_sub(server_before),
    })
}

/// Reads `output` to its end; returns how many bytes it held.
fn count(output: &mut impl Read) -> anyhow::Result<u64> {
    let mut buf = vec![0; READ_BUFFER];
    let mut total = 0;
    loop {
        match output.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error).context("read the command's output"),
        }
    }
}
