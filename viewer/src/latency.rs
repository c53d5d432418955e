//! Latency per stage of the frame path, from the agent's capture to the viewer's decode (and
//! the window's present), kept as samples and summarised as percentiles. Pure bookkeeping:
//! times are passed in.

use std::time::Duration;

use tether_proto::session::FrameTiming;

/// Samples kept per stage at most; beyond it, the oldest half is dropped (a long session keeps
/// measuring its recent behaviour with bounded memory).
const MAX_SAMPLES: usize = 100_000;

/// The stages of one update's way to the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The agent reading the screen.
    Capture,
    /// The agent encoding the frame.
    Encode,
    /// From the end of encoding to the last byte received by the viewer (sealing, QUIC, relay).
    Transit,
    /// The viewer decoding the update into its framebuffer.
    Decode,
    /// From the capture's start to the decoded framebuffer.
    Total,
}

impl Stage {
    /// Every stage, in path order.
    pub const ALL: [Stage; 5] = [
        Stage::Capture,
        Stage::Encode,
        Stage::Transit,
        Stage::Decode,
        Stage::Total,
    ];

    /// The stage's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Capture => "capture",
            Stage::Encode => "encode",
            Stage::Transit => "transit",
            Stage::Decode => "decode",
            Stage::Total => "total",
        }
    }
}

/// Latency samples per stage.
#[derive(Debug, Default, Clone)]
pub struct LatencyLog {
    samples: [Vec<Duration>; 5],
}

impl LatencyLog {
    /// Records one update: the agent's `timing`, the wall-clock time its last byte arrived
    /// (`received_at_us`, microseconds since the Unix epoch) and how long decoding took.
    /// Returns the update's total latency.
    pub fn record(
        &mut self,
        timing: &FrameTiming,
        received_at_us: u64,
        decode: Duration,
    ) -> Duration {
        let capture = Duration::from_micros(u64::from(timing.capture_us));
        let encode = Duration::from_micros(u64::from(timing.encode_us));
        let encoded_at = timing
            .captured_at_us
            .saturating_add(u64::from(timing.capture_us))
            .saturating_add(u64::from(timing.encode_us));
        // Clocks of different machines may disagree; a negative transit is recorded as zero.
        let transit = Duration::from_micros(received_at_us.saturating_sub(encoded_at));
        let total = capture + encode + transit + decode;
        for (stage, sample) in Stage::ALL
            .into_iter()
            .zip([capture, encode, transit, decode, total])
        {
            let samples = &mut self.samples[stage as usize];
            if samples.len() >= MAX_SAMPLES {
                samples.drain(..MAX_SAMPLES / 2);
            }
            samples.push(sample);
        }
        total
    }

    /// Updates recorded.
    pub fn len(&self) -> usize {
        self.samples[0].len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `quantile` (0.0..=1.0) of a stage's samples, nearest-rank; `None` without samples.
    pub fn percentile(&self, stage: Stage, quantile: f64) -> Option<Duration> {
        let mut sorted = self.samples[stage as usize].clone();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable();
        let rank = (quantile.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
        Some(sorted[rank.clamp(1, sorted.len()) - 1])
    }

    /// One line: `stage p50/p99` in milliseconds for every stage.
    pub fn summary(&self) -> String {
        Stage::ALL
            .into_iter()
            .filter_map(|stage| {
                let p50 = self.percentile(stage, 0.5)?;
                let p99 = self.percentile(stage, 0.99)?;
                Some(format!(
                    "{} {:.2}/{:.2}",
                    stage.name(),
                    p50.as_secs_f64() * 1e3,
                    p99.as_secs_f64() * 1e3
                ))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(captured_at_us: u64) -> FrameTiming {
        FrameTiming {
            seq: 0,
            captured_at_us,
            capture_us: 1_000,
            encode_us: 2_000,
        }
    }

    #[test]
    fn stages_add_up_to_the_total() {
        let mut log = LatencyLog::default();
        log.record(&timing(1_000_000), 1_005_000, Duration::from_micros(500));
        let ms = |stage| log.percentile(stage, 0.5).unwrap().as_micros();
        assert_eq!(ms(Stage::Capture), 1_000);
        assert_eq!(ms(Stage::Encode), 2_000);
        assert_eq!(ms(Stage::Transit), 2_000);
        assert_eq!(ms(Stage::Decode), 500);
        assert_eq!(ms(Stage::Total), 5_500);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut log = LatencyLog::default();
        for transit_us in 1..=100 {
            log.record(&timing(0), 3_000 + transit_us, Duration::ZERO);
        }
        let transit = |q| log.percentile(Stage::Transit, q).unwrap().as_micros();
        assert_eq!(transit(0.5), 50);
        assert_eq!(transit(0.99), 99);
        assert_eq!(transit(1.0), 100);
        assert_eq!(transit(0.0), 1);
        assert_eq!(LatencyLog::default().percentile(Stage::Total, 0.5), None);
    }

    #[test]
    fn a_clock_behind_the_agents_gives_zero_transit_not_a_panic() {
        let mut log = LatencyLog::default();
        log.record(&timing(10_000_000), 1, Duration::ZERO);
        assert_eq!(log.percentile(Stage::Transit, 0.5), Some(Duration::ZERO));
    }
}
