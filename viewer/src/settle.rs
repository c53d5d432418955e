//! When a scripted viewing (`--frames N`) may stop early: once the remote picture is complete
//! and has stayed unchanged for [`SETTLE_TIME`].
//!
//! The agent's capture is driven by damage, so a still screen sends one picture and then
//! nothing: waiting for N updates there would wait forever. A script asking for N updates wants
//! a picture that is current; a screen still for two seconds gives one.

use std::time::{Duration, Instant};

/// How long the picture must stay unchanged before a scripted viewing stops early.
pub const SETTLE_TIME: Duration = Duration::from_secs(2);

/// Tracks the updates of a viewing that may stop once the picture settles.
#[derive(Debug, Clone)]
pub struct Settle {
    quiet: Duration,
    last_update: Option<Instant>,
}

impl Settle {
    /// A viewing that settles after `quiet` without an update, once it has had one.
    pub fn after(quiet: Duration) -> Self {
        Self {
            quiet,
            last_update: None,
        }
    }

    /// An update was applied at `now`: the picture is complete and the quiet starts over.
    pub fn updated(&mut self, now: Instant) {
        self.last_update = Some(now);
    }

    /// When the picture counts as settled if nothing changes before; none before a picture.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_update.map(|at| at + self.quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn nothing_settles_before_the_first_picture() {
        assert_eq!(Settle::after(SETTLE_TIME).deadline(), None);
    }

    #[test]
    fn a_picture_settles_after_the_quiet_time_and_each_update_starts_it_over() {
        let start = Instant::now();
        let mut settle = Settle::after(2000 * MS);
        settle.updated(start);
        assert_eq!(settle.deadline(), Some(start + 2000 * MS));
        settle.updated(start + 1500 * MS);
        assert_eq!(settle.deadline(), Some(start + 3500 * MS));
    }
}
