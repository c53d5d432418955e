//! The taskbar clock: a seed-derived time of day that advances one second every
//! [`FRAMES_PER_SECOND`] frames.

use crate::hash::mix;

/// Frames per simulated second of clock time.
pub(crate) const FRAMES_PER_SECOND: u64 = 30;

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// The clock's starting time, fixed per seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clock {
    start: u64,
}

impl Clock {
    /// A clock starting at a time of day chosen by `seed`.
    pub fn new(seed: u64) -> Clock {
        Clock {
            start: mix(seed, 5) % SECONDS_PER_DAY,
        }
    }

    /// The time shown at frame `index`, as "HH:MM:SS".
    pub fn text(&self, index: u64) -> String {
        let elapsed = (index / FRAMES_PER_SECOND) % SECONDS_PER_DAY;
        let now = (self.start + elapsed) % SECONDS_PER_DAY;
        format!("{:02}:{:02}:{:02}", now / 3600, now / 60 % 60, now % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_one_second_every_thirty_frames_and_wraps_at_midnight() {
        let clock = Clock {
            start: SECONDS_PER_DAY - 2,
        };
        assert_eq!(clock.text(0), "23:59:58");
        assert_eq!(clock.text(29), "23:59:58");
        assert_eq!(clock.text(30), "23:59:59");
        assert_eq!(clock.text(60), "00:00:00");
        assert_eq!(clock.text(90 + 3600 * 30), "01:00:01");
        assert_eq!(clock.text(u64::MAX).len(), 8);
    }

    #[test]
    fn start_depends_on_the_seed() {
        assert_ne!(Clock::new(1).text(0), Clock::new(2).text(0));
    }
}
