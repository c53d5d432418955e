//! The comparison table: each metric for ssh, ssh through a forwarding hop and Tether,
//! Tether's ratios to both, and the target (which is against plain ssh).

use std::time::Duration;

use crate::{
    stats::{median, Summary},
    throughput::Run,
};

/// What the issue asks of Tether/ssh for a metric, if anything.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Informational only.
    None,
    /// The ratio must be at most this.
    AtMost(f64),
    /// The ratio must be at least this.
    AtLeast(f64),
}

impl Target {
    fn text(self) -> String {
        match self {
            Self::None => "–".to_owned(),
            Self::AtMost(ratio) => format!("≤ {ratio} × ssh"),
            Self::AtLeast(ratio) => format!("≥ {ratio} × ssh"),
        }
    }

    fn verdict(self, ratio: f64) -> &'static str {
        match self {
            Self::None => "–",
            Self::AtMost(limit) if ratio <= limit => "**yes**",
            Self::AtLeast(limit) if ratio >= limit => "**yes**",
            _ => "**no**",
        }
    }
}

/// How many clients are compared: ssh, ssh + hop, Tether, in this order everywhere.
pub const CLIENTS: usize = 3;
/// Where each client's values are.
const SSH: usize = 0;
const SSH_HOP: usize = 1;
const TETHER: usize = 2;

/// One line of the table.
pub struct Row {
    metric: String,
    values: [f64; CLIENTS],
    decimals: usize,
    target: Target,
}

impl Row {
    fn new(
        metric: impl Into<String>,
        values: [f64; CLIENTS],
        decimals: usize,
        target: Target,
    ) -> Self {
        Self {
            metric: metric.into(),
            values,
            decimals,
            target,
        }
    }
}

/// Everything measured, per client in the order ssh, ssh + hop, Tether.
pub struct Measured {
    /// Keystroke echo round trips.
    pub echo: [Summary; CLIENTS],
    /// Keystrokes timed per client.
    pub keystrokes: usize,
    /// Setup runs (`true`).
    pub setup: [Vec<Run>; CLIENTS],
    /// Bulk output runs, one entry per data source.
    pub transfers: Vec<Transfer>,
}

/// Bulk output of one data source.
pub struct Transfer {
    /// What was sent, e.g. "500 MB of /dev/zero".
    pub label: String,
    /// Bytes per run.
    pub bytes: u64,
    /// The runs.
    pub runs: [Vec<Run>; CLIENTS],
}

/// The rows of the table for `measured`.
pub fn rows(measured: &Measured) -> Vec<Row> {
    let echo = measured.echo;
    let n = measured.keystrokes;
    let echo_target = Target::AtMost(1.2);
    let setup = measured
        .setup
        .each_ref()
        .map(|runs| median_secs(runs) * 1e3);
    let mut rows = vec![
        Row::new(
            format!("keystroke echo p50 (ms, {n} keys)"),
            echo.map(|summary| summary.p50),
            3,
            echo_target,
        ),
        Row::new(
            "keystroke echo p99 (ms)",
            echo.map(|summary| summary.p99),
            3,
            echo_target,
        ),
        Row::new(
            "keystroke echo mean (ms)",
            echo.map(|summary| summary.mean),
            3,
            Target::None,
        ),
        Row::new(
            format!(
                "session setup: `true`, spawn to exit (ms, median of {})",
                measured.setup[0].len()
            ),
            setup,
            1,
            Target::None,
        ),
    ];
    for transfer in &measured.transfers {
        rows.extend(transfer_rows(transfer, setup));
    }
    rows
}

/// Throughput with and without the setup, and CPU per GB, for one data source.
fn transfer_rows(transfer: &Transfer, setup_ms: [f64; CLIENTS]) -> Vec<Row> {
    let mb = transfer.bytes as f64 / 1e6;
    let gb = transfer.bytes as f64 / 1e9;
    let runs = transfer.runs[0].len();
    let elapsed = transfer.runs.each_ref().map(|runs| median_secs(runs));
    let label = &transfer.label;
    let cpu = |of: fn(&Run) -> Duration| {
        transfer
            .runs
            .each_ref()
            .map(|runs| median(&runs.iter().map(|r| of(r).as_secs_f64()).collect::<Vec<_>>()) / gb)
    };
    vec![
        Row::new(
            format!("{label}: spawn to exit (MB/s, median of {runs})"),
            elapsed.map(|secs| mb / secs),
            0,
            Target::AtLeast(1.0),
        ),
        Row::new(
            format!("{label}: net of median setup (MB/s)"),
            std::array::from_fn(|side| mb / (elapsed[side] - setup_ms[side] / 1e3)),
            0,
            Target::None,
        ),
        Row::new(
            format!("{label}: client CPU per GB (s)"),
            cpu(|run| run.client_cpu),
            2,
            Target::None,
        ),
        Row::new(
            format!("{label}: server-side CPU per GB (s)"),
            cpu(|run| run.server_cpu),
            2,
            Target::None,
        ),
    ]
}

/// The median elapsed time of `runs`, in seconds.
fn median_secs(runs: &[Run]) -> f64 {
    median(
        &runs
            .iter()
            .map(|run| run.elapsed.as_secs_f64())
            .collect::<Vec<_>>(),
    )
}

/// The table in Markdown; the target is judged on Tether/ssh.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| metric | ssh | ssh + hop | Tether | Tether/ssh | Tether/(ssh + hop) | target | met? |\n\
         |---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let [ssh, hop, tether] = [SSH, SSH_HOP, TETHER].map(|side| row.values[side]);
        let (ratio, hop_ratio) = (tether / ssh, tether / hop);
        let d = row.decimals;
        out.push_str(&format!(
            "| {} | {ssh:.d$} | {hop:.d$} | {tether:.d$} | {ratio:.2} | {hop_ratio:.2} | {} | {} |\n",
            row.metric,
            row.target.text(),
            row.target.verdict(ratio),
        ));
    }
    out
}

/// Every run's elapsed time, for the record.
pub fn run_log(measured: &Measured, names: [&str; CLIENTS]) -> String {
    let mut out = String::new();
    let mut line = |what: &str, runs: &[Vec<Run>; CLIENTS]| {
        for (name, runs) in names.iter().zip(runs) {
            let secs: Vec<String> = runs
                .iter()
                .map(|run| format!("{:.3}", run.elapsed.as_secs_f64()))
                .collect();
            out.push_str(&format!("{what}, {name}: {} s\n", secs.join(", ")));
        }
    };
    line("setup", &measured.setup);
    for transfer in &measured.transfers {
        line(&transfer.label, &transfer.runs);
    }
    out
}
