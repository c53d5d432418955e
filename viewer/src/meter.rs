//! The window title's live figures: frames per second, kbit/s and latency over the last second.

use std::time::{Duration, Instant};

/// Counts updates and summarises them about once a second.
#[derive(Debug, Default)]
pub struct LiveMeter {
    window_start: Option<Instant>,
    frames: u32,
    bytes: u64,
    latency_sum: Duration,
    latency_count: u32,
    shown: Option<String>,
}

impl LiveMeter {
    /// Counts an update of `bytes` with its latency, if timed.
    pub fn record(&mut self, bytes: usize, latency: Option<Duration>) {
        self.frames += 1;
        self.bytes += bytes as u64;
        if let Some(latency) = latency {
            self.latency_sum += latency;
            self.latency_count += 1;
        }
    }

    /// Summarises the last second once it is over; returns true when the summary changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now - start;
        if elapsed < Duration::from_secs(1) {
            return false;
        }
        let secs = elapsed.as_secs_f64();
        let mut summary = format!(
            "{:.0} fps · {:.0} kbit/s",
            f64::from(self.frames) / secs,
            self.bytes as f64 * 8.0 / 1000.0 / secs
        );
        if self.latency_count > 0 {
            let mean = self.latency_sum / self.latency_count;
            summary.push_str(&format!(" · {:.1} ms", mean.as_secs_f64() * 1e3));
        }
        *self = Self {
            window_start: Some(now),
            shown: Some(summary),
            ..Self::default()
        };
        true
    }

    /// The latest summary (e.g. "29 fps · 850 kbit/s · 1.2 ms"), or "0 fps" before the first.
    pub fn summary(&self) -> &str {
        self.shown.as_deref().unwrap_or("0 fps")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_updates_reads_as_rates() {
        let mut meter = LiveMeter::default();
        let start = Instant::now();
        assert!(!meter.tick(start));
        for _ in 0..30 {
            meter.record(1000, Some(Duration::from_millis(2)));
        }
        assert!(!meter.tick(start + Duration::from_millis(500)));
        assert_eq!(meter.summary(), "0 fps");
        assert!(meter.tick(start + Duration::from_secs(1)));
        assert_eq!(meter.summary(), "30 fps · 240 kbit/s · 2.0 ms");
        assert!(meter.tick(start + Duration::from_secs(2)));
        assert_eq!(meter.summary(), "0 fps · 0 kbit/s");
    }
}
