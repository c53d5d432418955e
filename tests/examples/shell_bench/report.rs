//! The comparison table: each metric for ssh and Tether, their ratio, and the target.

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

/// One line of the table.
pub struct Row {
    metric: String,
    ssh: f64,
    tether: f64,
    decimals: usize,
    target: Target,
}

impl Row {
    fn new(metric: impl Into<String>, values: [f64; 2], decimals: usize, target: Target) -> Self {
        Self {
            metric: metric.into(),
            ssh: values[0],
            tether: values[1],
            decimals,
            target,
        }
    }
}

/// Everything measured, per client in the order ssh, Tether.
pub struct Measured {
    /// Keystroke echo round trips.
    pub echo: [Summary; 2],
    /// Keystrokes timed per client.
    pub keystrokes: usize,
    /// Setup runs (`true`).
    pub setup: [Vec<Run>; 2],
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
    pub runs: [Vec<Run>; 2],
}

/// The rows of the table for `measured`.
pub fn rows(measured: &Measured) -> Vec<Row> {
    let [ssh_echo, tether_echo] = measured.echo;
    let n = measured.keystrokes;
    let echo_target = Target::AtMost(1.2);
    let setup = measured
        .setup
        .each_ref()
        .map(|runs| median_secs(runs) * 1e3);
    let mut rows = vec![
        Row::new(
            format!("keystroke echo p50 (ms, {n} keys)"),
            [ssh_echo.p50, tether_echo.p50],
            3,
            echo_target,
        ),
        Row::new(
            "keystroke echo p99 (ms)",
            [ssh_echo.p99, tether_echo.p99],
            3,
            echo_target,
        ),
        Row::new(
            "keystroke echo mean (ms)",
            [ssh_echo.mean, tether_echo.mean],
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
fn transfer_rows(transfer: &Transfer, setup_ms: [f64; 2]) -> Vec<Row> {
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
            [0, 1].map(|side| mb / (elapsed[side] - setup_ms[side] / 1e3)),
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

/// The table in Markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| metric | ssh | Tether | Tether/ssh | target | met? |\n\
         |---|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let ratio = row.tether / row.ssh;
        let d = row.decimals;
        out.push_str(&format!(
            "| {} | {:.d$} | {:.d$} | {ratio:.2} | {} | {} |\n",
            row.metric,
            row.ssh,
            row.tether,
            row.target.text(),
            row.target.verdict(ratio),
        ));
    }
    out
}

/// Every run's elapsed time, for the record.
pub fn run_log(measured: &Measured, names: [&str; 2]) -> String {
    let mut out = String::new();
    let mut line = |what: &str, runs: &[Vec<Run>; 2]| {
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
