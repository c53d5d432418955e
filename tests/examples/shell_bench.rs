//! Remote shells against ssh, on this machine: keystroke echo round trips and bulk output
//! throughput of `tether-viewer shell` (viewer → relay → agent over QUIC on 127.0.0.1), of
//! `ssh localhost` to an OpenSSH server started here, and of that ssh through a TCP forwarder
//! in a process of its own (`ssh + hop`: the relay's topology, with the least a hop can do),
//! in the same run.
//!
//! `cargo run --release -p tether-tests --example shell_bench [-- --rounds N --bytes N]`
//!
//! Other options: `--warmup N` untimed keystrokes first (20), `--gap-ms MS` pause after each
//! keystroke (20), `--runs N` transfers per client and data source (5), `--setups N` runs of
//! `true` per client (5).
//!
//! It installs `openssh-server` and `openssh-client` with apt-get when sshd is missing, starts
//! `/usr/sbin/sshd` of its own (generated keys, a free port on 127.0.0.1), and an organisation
//! (PKI, relay, one enrolled agent running `/bin/sh`) with the release binaries. Then:
//!
//! - **echo**: `ssh -tt 127.0.0.1 /bin/sh` (straight and through the forwarder) and
//!   `tether-viewer shell web-01`, each on a pseudo-terminal opened here; one letter at a time
//!   is typed into each in turn and timed until the terminal shows it (echoed by the remote
//!   terminal's line discipline);
//! - **throughput**: `head -c BYTES /dev/zero` and `cat` of a file of random bytes, run
//!   remotely on pipes by each client in turn, the output counted here, timed from spawn to
//!   exit; `true` the same way for the setup cost.
//!
//! Prints a Markdown table against the issue's targets (echo ≤ 1.2 × ssh, throughput ≥ ssh),
//! with Tether's ratio to `ssh + hop` beside.
//! A benchmark, not a test: `cargo test` does not run it.

#[path = "shell_bench/client.rs"]
mod client;
#[path = "shell_bench/cpu.rs"]
mod cpu;
#[path = "shell_bench/echo.rs"]
mod echo;
#[path = "shell_bench/forwarder.rs"]
mod forwarder;
#[path = "shell_bench/report.rs"]
mod report;
#[path = "shell_bench/sshd.rs"]
mod sshd;
#[path = "shell_bench/stats.rs"]
mod stats;
#[path = "shell_bench/terminal.rs"]
mod terminal;
#[path = "shell_bench/throughput.rs"]
mod throughput;

use std::{fs::File, process::Command, time::Duration};

use anyhow::{bail, ensure, Context};
use tether_tests::organisation::Organisation;

use client::Client;
use echo::Typing;
use forwarder::{Forwarder, FORWARD_TO};
use report::{Measured, Transfer, CLIENTS};
use sshd::Sshd;
use stats::Summary;
use throughput::{Job, Run};

/// The command-line options.
struct Options {
    typing: Typing,
    bytes: u64,
    runs: usize,
    setups: usize,
}

impl Options {
    /// Parses `--name value` pairs; anything else is an error.
    fn parse() -> anyhow::Result<Self> {
        let mut options = Self {
            typing: Typing {
                rounds: 500,
                warmup: 20,
                gap: Duration::from_millis(20),
                line: 40,
            },
            bytes: 500_000_000,
            runs: 5,
            setups: 5,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.chunks(2) {
            let [name, value] = pair else {
                bail!("{pair:?}: every option takes a value");
            };
            let number: u64 = value
                .parse()
                .with_context(|| format!("{name} {value}: not a number"))?;
            match name.as_str() {
                "--rounds" => options.typing.rounds = number as usize,
                "--warmup" => options.typing.warmup = number as usize,
                "--gap-ms" => options.typing.gap = Duration::from_millis(number),
                "--bytes" => options.bytes = number,
                "--runs" => options.runs = number as usize,
                "--setups" => options.setups = number as usize,
                _ => bail!("unknown option {name}"),
            }
        }
        ensure!(
            options.typing.rounds > 0 && options.runs > 0 && options.setups > 0,
            "--rounds, --runs and --setups must be positive"
        );
        Ok(options)
    }
}

fn main() -> anyhow::Result<()> {
    if let Ok(target) = std::env::var(FORWARD_TO) {
        return forwarder::serve(&target);
    }
    let options = Options::parse()?;
    sshd::ensure_installed()?;
    let sshd = Sshd::start()?;
    let forwarder = Forwarder::start(sshd.address())?;
    let org = Organisation::new();
    let _agent = org.machine(client::MACHINE, "prod");
    let alice = org.technician("alice", "admin", "1d");
    let clients = [
        Client::ssh(&sshd),
        Client::ssh_forwarded(&sshd, &forwarder),
        Client::tether(&org, &alice)?,
    ];
    let scratch = tempfile::tempdir().context("a scratch directory")?;
    let random = scratch.path().join("random.bin");
    make_random_file(&random, options.bytes)?;

    println!("{}", describe_machine(&sshd));
    let measured = measure(&clients, &options, &random.to_string_lossy())?;
    println!("load average after: {}", load_average());
    println!();
    println!("{}", report::table(&report::rows(&measured)));
    print!(
        "{}",
        report::run_log(&measured, clients.each_ref().map(|c| c.name))
    );
    Ok(())
}

/// Runs every measurement, each client in turn.
fn measure(
    clients: &[Client; CLIENTS],
    options: &Options,
    random: &str,
) -> anyhow::Result<Measured> {
    Ok(Measured {
        echo: measure_echo(clients, options.typing)?,
        keystrokes: options.typing.rounds,
        setup: measure_setup(clients, options.setups)?,
        transfers: measure_transfers(clients, options.bytes, options.runs, random)?,
    })
}

/// Keystroke echo round trips per client.
fn measure_echo(clients: &[Client; CLIENTS], typing: Typing) -> anyhow::Result<[Summary; CLIENTS]> {
    println!(
        "echo: {} keystrokes per client ({} untimed first), {} ms apart",
        typing.rounds,
        typing.warmup,
        typing.gap.as_millis()
    );
    let echo = echo::measure(clients, typing)?;
    Ok(std::array::from_fn(|side| Summary::of(&echo[side])))
}

/// `true` run `setups` times per client: the cost of a session before any output.
fn measure_setup(
    clients: &[Client; CLIENTS],
    setups: usize,
) -> anyhow::Result<[Vec<Run>; CLIENTS]> {
    println!("setup: `true`, {setups} runs per client");
    let job = [Job {
        argv: &["true"],
        expected: 0,
    }];
    let mut setup = throughput::interleaved(clients, &job, setups)?;
    per_client(setup.pop().context("the setup runs")?)
}

/// `bytes` of zeros and of the random file at `random`, `runs` times per client each.
fn measure_transfers(
    clients: &[Client; CLIENTS],
    bytes: u64,
    runs: usize,
    random: &str,
) -> anyhow::Result<Vec<Transfer>> {
    let count = bytes.to_string();
    let zeros = ["head", "-c", count.as_str(), "/dev/zero"];
    let file = ["cat", random];
    let jobs = [
        Job {
            argv: &zeros,
            expected: bytes,
        },
        Job {
            argv: &file,
            expected: bytes,
        },
    ];
    let mb = bytes / 1_000_000;
    let labels = [
        format!("{mb} MB of /dev/zero"),
        format!("{mb} MB random file"),
    ];
    println!(
        "throughput: {}, {runs} runs per client each, interleaved",
        labels.join(" and ")
    );
    let results = throughput::interleaved(clients, &jobs, runs)?;
    labels
        .into_iter()
        .zip(results)
        .map(|(label, runs)| {
            Ok(Transfer {
                label,
                bytes,
                runs: per_client(runs)?,
            })
        })
        .collect()
}

/// The per-client results as an array.
fn per_client<T>(results: Vec<T>) -> anyhow::Result<[T; CLIENTS]> {
    results
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected results for {CLIENTS} clients"))
}

/// Writes `bytes` bytes of /dev/urandom to `path` (incompressible data, should a client
/// compress).
fn make_random_file(path: &std::path::Path, bytes: u64) -> anyhow::Result<()> {
    let status = Command::new("head")
        .args(["-c", &bytes.to_string(), "/dev/urandom"])
        .stdout(File::create(path).context("create the random file")?)
        .status()
        .context("run head")?;
    ensure!(status.success(), "head -c {bytes} /dev/urandom failed");
    Ok(())
}

/// The date, the CPU, the load and the versions, for the notes under the table.
fn describe_machine(sshd: &Sshd) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "date: {}\nmachine: {cores} × {cpu}, kernel {}\nload average before: {}\n{}\nssh negotiated: {}",
        first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        first_line(Command::new("uname").arg("-r")),
        load_average(),
        first_line(Command::new("ssh").arg("-V")),
        sshd.negotiated(),
    )
}

/// The first line a command prints (on stdout, else stderr), or `?`.
fn first_line(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .and_then(|out| {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_owned())
}
