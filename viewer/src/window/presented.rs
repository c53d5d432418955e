//! When updates reached the screen: for each applied update, the time from its decode (and
//! from its capture, when the agent timed it) to the swap of the first window frame showing it.

use std::time::{Duration, Instant};

/// Samples kept; a longer session keeps its first ones (the log is for measuring, and must not
/// grow without bound).
const MAX_SAMPLES: usize = 1 << 16;

/// An update as the session handed it to the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded {
    /// When it was decoded.
    pub at: Instant,
    /// From its capture to its decode, when timed.
    pub capture_to_decode: Option<Duration>,
}

/// Presentation latencies.
#[derive(Debug, Clone, Default)]
pub struct PresentLog {
    decode_to_present: Vec<Duration>,
    capture_to_present: Vec<Duration>,
}

/// Which latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentStage {
    /// From the decoded framebuffer to the swap that showed it.
    DecodeToPresent,
    /// From the agent's capture to the swap that showed it.
    CaptureToPresent,
}

impl PresentLog {
    /// Records `updates`, shown by the swap at `presented`.
    pub(crate) fn record(&mut self, updates: &[Decoded], presented: Instant) {
        for update in updates {
            if self.decode_to_present.len() >= MAX_SAMPLES {
                return;
            }
            let shown = presented.saturating_duration_since(update.at);
            self.decode_to_present.push(shown);
            if let Some(before) = update.capture_to_decode {
                self.capture_to_present.push(before + shown);
            }
        }
    }

    /// Updates recorded.
    pub fn len(&self) -> usize {
        self.decode_to_present.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.decode_to_present.is_empty()
    }

    /// The `q` quantile (0..=1) of `stage`, if any sample was recorded.
    pub fn percentile(&self, stage: PresentStage, q: f64) -> Option<Duration> {
        let samples = match stage {
            PresentStage::DecodeToPresent => &self.decode_to_present,
            PresentStage::CaptureToPresent => &self.capture_to_present,
        };
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        let last = sorted.len().checked_sub(1)?;
        let at = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
        sorted.get(at).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_update_counts_from_its_decode_to_the_swap() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let updates = [
            Decoded {
                at: start,
                capture_to_decode: Some(ms(3)),
            },
            Decoded {
                at: start + ms(4),
                capture_to_decode: None,
            },
        ];
        let mut log = PresentLog::default();
        assert!(log.is_empty());
        log.record(&updates, start + ms(10));
        assert_eq!(log.len(), 2);
        assert_eq!(
            log.percentile(PresentStage::DecodeToPresent, 0.0),
            Some(ms(6))
        );
        assert_eq!(
            log.percentile(PresentStage::DecodeToPresent, 1.0),
            Some(ms(10))
        );
        assert_eq!(
            log.percentile(PresentStage::CaptureToPresent, 0.5),
            Some(ms(13))
        );
    }
}
