//! The relay's audit log as the tests read it: `tether-relay audit --json`, one JSON object per
//! row, the form operators' tools consume. Outcomes the log records (a refused join and why, how
//! a session ended) are checked in its rows, not in the wording of the relay's own log.

use std::{
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{Relay, TIMEOUT};

/// How often a wait on the audit log reads it again: the relay's writer lags its events.
const POLL: Duration = Duration::from_millis(50);

impl Relay {
    /// Every row of the audit log so far, oldest first.
    pub fn audit_rows(&self) -> Vec<Value> {
        let out = self.admin(&["audit", "--json"]);
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            out.status.success(),
            "tether-relay audit --json: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// Waits until `done` holds for the audit log, and returns the log; `what` says what was
    /// awaited, for the message.
    pub fn wait_for_audit(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let rows = self.audit_rows();
            if done(&rows) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} in the audit log within {TIMEOUT:?}:\n{}",
                lines(&rows)
            );
            thread::sleep(POLL);
        }
    }

    /// Waits until the audit log has a row that `matches` accepts, and returns the first.
    pub fn wait_for_audit_row(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let rows = self.wait_for_audit(what, |rows| rows.iter().any(&matches));
        rows.into_iter().find(matches).expect("the row just found")
    }

    /// Runs `tether-relay audit verify` and asserts that the chain is intact; returns its
    /// report.
    pub fn verify_audit(&self) -> String {
        let out = self.admin(&["audit", "verify"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

/// The rows' kinds, in order.
pub fn kinds(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|row| row["kind"].as_str().expect("every row has a kind"))
        .collect()
}

/// The rows, one JSON object per line, for failure messages.
pub fn lines(rows: &[Value]) -> String {
    rows.iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
