//! Which refusals the audit log records one by one, as a pure state machine (time is passed in).
//!
//! A refusal that no limit slows down (a rate-limited join, a registration refused for want of
//! room, a refused resume, machine or technician, a failed TLS handshake) costs a flooding
//! client one handshake, so recording each would let it grow the append-only log at the
//! relay's handshake rate. So each network's refusals of each kind are recorded one by one only
//! while they are rare: the first one opens a window of [`WINDOW`], refusals of the same kind
//! from the same network during it are counted, and the count is written as one summary row
//! when the window closes. The log then grows by at most two rows per network, kind and minute.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use crate::network::Network;

/// How long a network's refusals of one kind are counted rather than recorded, after the one
/// recorded.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most windows open at once; refusals from further networks are counted together.
const MAX_WINDOWS: usize = 65_536;

/// Which column of a row names the refused client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// An agent (`agent_addr`).
    Agent,
    /// A viewer or technician (`viewer_addr`).
    Viewer,
}

/// Refusals counted together: of one kind and reason, from one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SampleKey {
    /// The refused clients' network; `None` for networks past [`MAX_WINDOWS`].
    pub network: Option<Network>,
    /// Which side they were.
    pub side: Side,
    /// The rows' kind, e.g. `join_refused`.
    pub kind: &'static str,
    /// The rows' reason, e.g. `rate_limited`.
    pub reason: &'static str,
}

/// Whether to record a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Record it: the first of its kind from its network in a window.
    Record,
    /// Only count it: its window's summary will say how many there were.
    Count,
}

/// Refusals counted in a window that closed: one summary row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// What they were.
    pub key: SampleKey,
    /// How many, besides the one recorded.
    pub count: u64,
    /// When the window opened (when the one recorded was refused).
    pub since: Instant,
}

/// One open window: its first refusal was recorded.
#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    counted: u64,
}

/// Decides which refusals are recorded and counts the others.
#[derive(Debug, Default)]
pub struct RefusalSampler {
    open: HashMap<SampleKey, Window>,
}

impl RefusalSampler {
    /// Counts a refusal matching `key` at `now`.
    pub fn sample(&mut self, mut key: SampleKey, now: Instant) -> Verdict {
        if self.open.len() >= MAX_WINDOWS && !self.open.contains_key(&key) {
            key.network = None;
        }
        match self.open.get_mut(&key) {
            Some(window) => {
                window.counted += 1;
                Verdict::Count
            }
            None => {
                self.open.insert(
                    key,
                    Window {
                        opened: now,
                        counted: 0,
                    },
                );
                Verdict::Record
            }
        }
    }

    /// Closes the windows that are over at `now`: the summaries of those that counted any.
    pub fn due(&mut self, now: Instant) -> Vec<Summary> {
        let mut due = Vec::new();
        self.open.retain(|key, window| {
            let over = now.saturating_duration_since(window.opened) >= WINDOW;
            if over && window.counted > 0 {
                due.push(Summary {
                    key: *key,
                    count: window.counted,
                    since: window.opened,
                });
            }
            !over
        });
        due.sort_by_key(|summary| summary.since);
        due
    }

    /// Closes every window, as the relay stops: the summaries of those that counted any.
    pub fn close_all(&mut self) -> Vec<Summary> {
        let latest = self
            .open
            .values()
            .map(|window| window.opened + WINDOW)
            .max();
        latest.map_or_else(Vec::new, |end| self.due(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last: u8, reason: &'static str) -> SampleKey {
        SampleKey {
            network: Some(Network::V4([192, 0, 2, last])),
            side: Side::Viewer,
            kind: "join_refused",
            reason,
        }
    }

    #[test]
    fn the_first_refusal_of_a_window_is_recorded_and_the_rest_summarised_once() {
        let mut sampler = RefusalSampler::default();
        let now = Instant::now();
        assert_eq!(sampler.sample(key(1, "rate_limited"), now), Verdict::Record);
        for _ in 0..999 {
            assert_eq!(sampler.sample(key(1, "rate_limited"), now), Verdict::Count);
        }
        assert!(sampler
            .due(now + WINDOW - Duration::from_millis(1))
            .is_empty());
        let due = sampler.due(now + WINDOW);
        assert_eq!(
            due,
            [Summary {
                key: key(1, "rate_limited"),
                count: 999,
                since: now
            }]
        );
        assert!(sampler.due(now + WINDOW * 2).is_empty(), "summarised once");
        assert_eq!(
            sampler.sample(key(1, "rate_limited"), now + WINDOW),
            Verdict::Record,
            "a new window"
        );
    }

    #[test]
    fn networks_and_kinds_have_windows_of_their_own_and_quiet_ones_need_no_summary() {
        let mut sampler = RefusalSampler::default();
        let now = Instant::now();
        assert_eq!(sampler.sample(key(1, "rate_limited"), now), Verdict::Record);
        assert_eq!(sampler.sample(key(2, "rate_limited"), now), Verdict::Record);
        assert_eq!(sampler.sample(key(1, "busy"), now), Verdict::Record);
        assert_eq!(sampler.sample(key(2, "rate_limited"), now), Verdict::Count);
        let due = sampler.due(now + WINDOW);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].key, due[0].count), (key(2, "rate_limited"), 1));
        assert!(sampler.open.is_empty());
    }

    #[test]
    fn past_the_window_table_networks_are_counted_together_and_all_close_at_the_end() {
        let mut sampler = RefusalSampler::default();
        let now = Instant::now();
        for i in 0..MAX_WINDOWS as u32 + 3 {
            let network = Network::V4(i.to_be_bytes());
            let key = SampleKey {
                network: Some(network),
                ..key(0, "rate_limited")
            };
            sampler.sample(key, now);
        }
        assert_eq!(sampler.open.len(), MAX_WINDOWS + 1);
        let summaries = sampler.close_all();
        assert_eq!(summaries.len(), 1);
        assert_eq!((summaries[0].key.network, summaries[0].count), (None, 2));
        assert!(sampler.open.is_empty());
    }
}
