//! When updates reached the screen: for each applied update, the time from its decode to the
//! swap of the first window frame showing it, beside its capture-to-decode time when the agent
//! timed it.

use std::time::{Duration, Instant};

/// Updates kept; a longer session keeps its first ones (the log is for measuring, and must not
/// grow without bound).
const MAX_UPDATES: usize = 1 << 16;

/// An update as the session handed it to the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded {
    /// When it was decoded.
    pub at: Instant,
    /// From its capture to its decode, when timed.
    pub capture_to_decode: Option<Duration>,
}

/// One update on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented {
    /// From the agent's capture to the decoded framebuffer, when the agent timed it.
    pub capture_to_decode: Option<Duration>,
    /// From the decoded framebuffer to the swap that showed it.
    pub decode_to_present: Duration,
}

impl Presented {
    /// From the agent's capture to the swap that showed it, when timed.
    pub fn capture_to_present(&self) -> Option<Duration> {
        self.capture_to_decode
            .map(|before| before + self.decode_to_present)
    }
}

/// The updates shown, in the order they were decoded.
#[derive(Debug, Clone, Default)]
pub struct PresentLog {
    updates: Vec<Presented>,
}

impl PresentLog {
    /// Records `updates`, shown by the swap at `presented`.
    pub(crate) fn record(&mut self, updates: &[Decoded], presented: Instant) {
        let room = MAX_UPDATES.saturating_sub(self.updates.len());
        self.updates
            .extend(updates.iter().take(room).map(|update| Presented {
                capture_to_decode: update.capture_to_decode,
                decode_to_present: presented.saturating_duration_since(update.at),
            }));
    }

    /// The updates shown, in decode order.
    pub fn updates(&self) -> &[Presented] {
        &self.updates
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
        log.record(&updates, start + ms(10));
        let shown = log.updates();
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[0].decode_to_present, ms(10));
        assert_eq!(shown[0].capture_to_present(), Some(ms(13)));
        assert_eq!(shown[1].decode_to_present, ms(6));
        assert_eq!(shown[1].capture_to_present(), None);
    }
}
