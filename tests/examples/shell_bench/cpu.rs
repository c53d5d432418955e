//! CPU time of processes from `/proc/PID/stat`: the clients this process started and waited
//! for, and the servers (sshd; the relay and the agent) with the children they reaped.

use std::{fs, process::Command, sync::OnceLock, time::Duration};

use anyhow::{bail, Context};

/// CPU time used by a process, its own and that of the children it has reaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    /// User and system time of the process itself.
    pub own: Duration,
    /// User and system time of its children that have exited and been waited for.
    pub reaped: Duration,
}

impl CpuTime {
    /// Both together.
    pub fn total(self) -> Duration {
        self.own + self.reaped
    }
}

/// The CPU time of process `pid` (`self` for this one).
pub fn of(pid: &str) -> anyhow::Result<CpuTime> {
    let fields = stat_fields(pid)?;
    // Fields 14-17 of proc(5): utime, stime, cutime, cstime; `fields` starts at field 3.
    let tick = |field: usize| -> anyhow::Result<Duration> {
        let ticks: u64 = fields
            .get(field - 3)
            .context("a short /proc stat line")?
            .parse()
            .context("a clock tick count")?;
        Ok(Duration::from_secs_f64(
            ticks as f64 / clock_ticks_per_second(),
        ))
    };
    Ok(CpuTime {
        own: tick(14)? + tick(15)?,
        reaped: tick(16)? + tick(17)?,
    })
}

/// The sum of [`CpuTime::total`] over `pids`.
pub fn total_of(pids: &[u32]) -> anyhow::Result<Duration> {
    pids.iter()
        .map(|pid| of(&pid.to_string()).map(CpuTime::total))
        .sum()
}

/// The id of this process's only child named `name` (as the kernel shortens it: 15 bytes).
pub fn child_named(name: &str) -> anyhow::Result<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").context("list /proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let ppid = stat_fields(&pid.to_string())
            .ok()
            .and_then(|fields| fields.get(1).cloned());
        if comm.trim_end() == name && ppid.as_deref() == Some(me.as_str()) {
            found.push(pid);
        }
    }
    match found[..] {
        [pid] => Ok(pid),
        _ => bail!("expected one child named {name}, found {found:?}"),
    }
}

/// The fields of `/proc/PID/stat` from the third on (after the command name, which may hold
/// spaces and parentheses).
fn stat_fields(pid: &str) -> anyhow::Result<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    let (_, rest) = stat
        .rsplit_once(')')
        .context("a /proc stat line without a command name")?;
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// `getconf CLK_TCK`: the unit of the times in `/proc/PID/stat` (100 on Linux, always so far).
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}
