//! Keeping the live band in sight, decided without IO: the dialog thread reports what the X
//! server says about the band (mapped, minimised, covered) and the time, and is told whether
//! to put the band back or to end the session.
//!
//! The band is how the user knows a session is live. A technician with control of the screen
//! can unmap it, minimise it or cover it with another window, and the user might then believe
//! the session over. So whenever the band is not in sight it is mapped again and raised at
//! once. If that does not bring it back within [`RESTORE_GRACE`] (a window manager that will
//! not restore it, a window that stays above it), or it is hidden again and again
//! ([`MAX_HIDINGS`] times within [`HIDING_WINDOW`]: someone is fighting it), the band cannot
//! be relied on, and the session ends, as it does when the dialog itself is gone: a session
//! the user cannot see is not one they consented to watch over.
//!
//! ```text
//! in sight ── unmapped / minimised ──▶ restore; a hiding counted ─┐ (one too many: end)
//!    ▲     ── covered ────────────────▶ restore ──────────────────┤
//!    └──────────── in sight again ◀───────────────────────────────┤
//!                                 still out of sight after RESTORE_GRACE ─▶ end
//! ```

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// How long the band may stay out of sight after it was put back before the session ends.
pub(crate) const RESTORE_GRACE: Duration = Duration::from_secs(2);
/// How many times the band may be hidden within [`HIDING_WINDOW`]; one more ends the session.
pub(crate) const MAX_HIDINGS: usize = 3;
/// The span over which hidings are counted.
pub(crate) const HIDING_WINDOW: Duration = Duration::from_secs(60);

/// What the X server says about the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BandFacts {
    /// The window is mapped.
    pub mapped: bool,
    /// The window manager minimised (iconified, hid) it.
    pub minimised: bool,
    /// Another window covers it entirely.
    pub covered: bool,
}

impl BandFacts {
    /// A band just mapped: in sight until the server says otherwise.
    pub(crate) const SHOWN: Self = Self {
        mapped: true,
        minimised: false,
        covered: false,
    };

    fn in_sight(self) -> bool {
        self.mapped && !self.minimised && !self.covered
    }

    /// Out of sight because it was taken away, not merely covered.
    fn hidden(self) -> bool {
        !self.mapped || self.minimised
    }
}

/// What to do about the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing: it is in sight, or being put back.
    Fine,
    /// Map it again and raise it.
    Restore,
    /// It cannot be kept in sight: end the session.
    EndSession,
}

/// The band's recent history.
#[derive(Debug, Default)]
pub(crate) struct BandGuard {
    /// Since when it has been out of sight.
    out_of_sight_since: Option<Instant>,
    /// When it was hidden (not merely covered), within the last [`HIDING_WINDOW`].
    hidings: VecDeque<Instant>,
    /// Whether it was hidden when last reported, so one hiding reported by several events
    /// (an unmap, then the window manager's state) counts once.
    was_hidden: bool,
}

impl BandGuard {
    /// The server reported `facts` at `now`.
    pub(crate) fn observe(&mut self, facts: BandFacts, now: Instant) -> Verdict {
        let newly_hidden = facts.hidden() && !self.was_hidden;
        self.was_hidden = facts.hidden();
        if facts.in_sight() {
            self.out_of_sight_since = None;
            return Verdict::Fine;
        }
        self.out_of_sight_since.get_or_insert(now);
        if newly_hidden {
            while self
                .hidings
                .front()
                .is_some_and(|&at| now.saturating_duration_since(at) >= HIDING_WINDOW)
            {
                self.hidings.pop_front();
            }
            self.hidings.push_back(now);
            if self.hidings.len() > MAX_HIDINGS {
                return Verdict::EndSession;
            }
        }
        Verdict::Restore
    }

    /// When to [`BandGuard::check`] next, if the band is out of sight.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.out_of_sight_since.map(|since| since + RESTORE_GRACE)
    }

    /// The time is `now`: ends the session if the band stayed out of sight too long.
    pub(crate) fn check(&self, now: Instant) -> Verdict {
        match self.deadline() {
            Some(deadline) if now >= deadline => Verdict::EndSession,
            _ => Verdict::Fine,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNMAPPED: BandFacts = BandFacts {
        mapped: false,
        ..BandFacts::SHOWN
    };
    const MINIMISED: BandFacts = BandFacts {
        minimised: true,
        ..BandFacts::SHOWN
    };
    const COVERED: BandFacts = BandFacts {
        covered: true,
        ..BandFacts::SHOWN
    };

    #[test]
    fn a_band_taken_away_is_put_back_and_nothing_more_once_it_is_back() {
        let start = Instant::now();
        let mut guard = BandGuard::default();
        assert_eq!(guard.observe(BandFacts::SHOWN, start), Verdict::Fine);
        assert_eq!(guard.deadline(), None);
        for facts in [UNMAPPED, MINIMISED, COVERED] {
            assert_eq!(guard.observe(facts, start), Verdict::Restore, "{facts:?}");
            assert_eq!(guard.deadline(), Some(start + RESTORE_GRACE));
            assert_eq!(guard.check(start + RESTORE_GRACE / 2), Verdict::Fine);
            assert_eq!(guard.observe(BandFacts::SHOWN, start), Verdict::Fine);
            assert_eq!(guard.deadline(), None);
            assert_eq!(guard.check(start + RESTORE_GRACE * 10), Verdict::Fine);
        }
    }

    #[test]
    fn a_band_that_does_not_come_back_in_time_ends_the_session() {
        let start = Instant::now();
        let mut guard = BandGuard::default();
        assert_eq!(guard.observe(MINIMISED, start), Verdict::Restore);
        // More news of the same hiding does not move the deadline.
        let later = start + Duration::from_secs(1);
        assert_eq!(guard.observe(UNMAPPED, later), Verdict::Restore);
        assert_eq!(
            guard.check(start + RESTORE_GRACE - Duration::from_millis(1)),
            Verdict::Fine
        );
        assert_eq!(guard.check(start + RESTORE_GRACE), Verdict::EndSession);
        // Covered for good, likewise.
        let mut guard = BandGuard::default();
        assert_eq!(guard.observe(COVERED, start), Verdict::Restore);
        assert_eq!(guard.check(start + RESTORE_GRACE), Verdict::EndSession);
    }

    #[test]
    fn a_band_hidden_again_and_again_ends_the_session_but_coverings_and_old_hidings_do_not() {
        let start = Instant::now();
        let mut guard = BandGuard::default();
        let mut at = start;
        let hide_and_restore = |guard: &mut BandGuard, at: Instant| {
            let verdict = guard.observe(UNMAPPED, at);
            // The unmap and the window manager's word on it are one hiding.
            let again = guard.observe(MINIMISED, at);
            if verdict == Verdict::Restore {
                assert_eq!(again, Verdict::Restore);
                guard.observe(BandFacts::SHOWN, at);
            }
            verdict
        };
        for _ in 0..MAX_HIDINGS {
            assert_eq!(hide_and_restore(&mut guard, at), Verdict::Restore);
            // Coverings in between are not hidings.
            assert_eq!(guard.observe(COVERED, at), Verdict::Restore);
            assert_eq!(guard.observe(BandFacts::SHOWN, at), Verdict::Fine);
            at += Duration::from_secs(1);
        }
        // A minute after the first, it has been forgotten.
        let much_later = start + HIDING_WINDOW;
        assert_eq!(hide_and_restore(&mut guard, much_later), Verdict::Restore);
        // But one hiding too many within the window ends the session.
        assert_eq!(
            hide_and_restore(&mut guard, much_later + Duration::from_millis(500)),
            Verdict::EndSession
        );
    }
}
