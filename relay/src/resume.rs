//! The book of sessions a viewer may take back, as a pure state machine: a session is opened
//! with a ticket when it is paired, suspended when its viewer's connection is lost, resumed by
//! a new connection that presents the ticket before the grace period ends (which issues the
//! next ticket), and remembered for a while after it ends so a late viewer learns precisely
//! why it cannot come back. Time is passed in, never read.
//!
//! Tickets are bearer secrets for the relay only (the agent checks the viewer again, end to
//! end): the book keeps HMAC tags of them under a key of its own, never the tickets, and checks
//! a presented ticket in constant time. Each ticket works once.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rand::{CryptoRng, RngCore};
use ring::hmac;
use tether_proto::control::{EndReason, ResumeTicket};

/// Why a resume attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No session of that id waits for this ticket.
    Invalid,
    /// The ticket was right but the grace period ran out: the session ended.
    Expired,
    /// The ticket was right but the session ended for this reason.
    Ended(EndReason),
}

impl Denied {
    /// The refusal as stored in the audit log.
    pub fn label(self) -> &'static str {
        match self {
            Denied::Invalid => "resume_invalid",
            Denied::Expired => "resume_expired",
            Denied::Ended(_) => "session_ended",
        }
    }
}

/// Sessions that were paired with resumption on, each holding an `L` (how to reach the
/// session's task).
pub struct ResumeBook<L> {
    sessions: HashMap<u64, Entry<L>>,
    grace: Duration,
    key: hmac::Key,
}

struct Entry<L> {
    /// The current ticket's tag.
    tag: hmac::Tag,
    state: State<L>,
}

enum State<L> {
    /// A viewer is attached.
    Attached { link: L },
    /// The viewer's connection was lost; it may come back until `deadline`.
    Suspended { link: L, deadline: Instant },
    /// The session ended; kept until `forget_at` to explain refusals.
    Over { denied: Denied, forget_at: Instant },
}

impl<L: Clone> ResumeBook<L> {
    /// A book whose sessions wait `grace` for a lost viewer, keyed from `rng`.
    pub fn new<R: RngCore + CryptoRng>(grace: Duration, rng: &mut R) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self {
            sessions: HashMap::new(),
            grace,
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        }
    }

    /// How long a session waits for a lost viewer.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// A session was paired: its viewer is attached; returns the viewer's first ticket.
    pub fn open<R: RngCore + CryptoRng>(
        &mut self,
        session_id: u64,
        link: L,
        now: Instant,
        rng: &mut R,
    ) -> ResumeTicket {
        self.prune(now);
        let (ticket, tag) = self.new_ticket(rng);
        let state = State::Attached { link };
        self.sessions.insert(session_id, Entry { tag, state });
        ticket
    }

    /// The viewer's connection was lost at `now`: the session waits for it until the returned
    /// deadline, a grace period later. `None` if the session is not in the book or already
    /// over.
    pub fn suspend(&mut self, session_id: u64, now: Instant) -> Option<Instant> {
        let deadline = now + self.grace;
        self.suspend_until(session_id, deadline).then_some(deadline)
    }

    /// The viewer's connection was lost: the session waits for it until `deadline`. `false`
    /// (and nothing changes) if the session is not in the book or already over: no ticket can
    /// take it back then, so its grace period ends as though nobody came.
    pub fn suspend_until(&mut self, session_id: u64, deadline: Instant) -> bool {
        let Some(entry) = self.sessions.get_mut(&session_id) else {
            return false;
        };
        let link = match &entry.state {
            State::Attached { link } | State::Suspended { link, .. } => link.clone(),
            State::Over { .. } => return false,
        };
        entry.state = State::Suspended { link, deadline };
        true
    }

    /// A connection presents `ticket` to take session `session_id` back: on success the
    /// session counts as attached again (it may still hold the old connection, which the new
    /// one replaces), the ticket is spent, and the next one is returned with the link.
    pub fn resume<R: RngCore + CryptoRng>(
        &mut self,
        session_id: u64,
        ticket: &ResumeTicket,
        now: Instant,
        rng: &mut R,
    ) -> Result<(L, ResumeTicket), Denied> {
        self.expire(session_id, now);
        self.prune(now);
        let Some(entry) = self.sessions.get(&session_id) else {
            return Err(Denied::Invalid);
        };
        if hmac::verify(&self.key, &ticket.0, entry.tag.as_ref()).is_err() {
            return Err(Denied::Invalid);
        }
        let link = match &entry.state {
            State::Attached { link } | State::Suspended { link, .. } => link.clone(),
            State::Over { denied, .. } => return Err(*denied),
        };
        let (next, tag) = self.new_ticket(rng);
        let state = State::Attached { link: link.clone() };
        self.sessions.insert(session_id, Entry { tag, state });
        Ok((link, next))
    }

    /// The session's task took a new connection: it counts as attached (a resume may have
    /// raced the session's own notice that the previous connection was lost).
    pub fn attached(&mut self, session_id: u64) {
        if let Some(entry) = self.sessions.get_mut(&session_id) {
            if let State::Suspended { link, .. } = &entry.state {
                entry.state = State::Attached { link: link.clone() };
            }
        }
    }

    /// Ends the session if it is suspended and its deadline has passed; returns whether it
    /// did (not when a viewer came back in time).
    pub fn expire(&mut self, session_id: u64, now: Instant) -> bool {
        match self.sessions.get_mut(&session_id) {
            Some(entry) => match entry.state {
                State::Suspended { deadline, .. } if deadline <= now => {
                    entry.state = State::Over {
                        denied: Denied::Expired,
                        forget_at: now + self.grace,
                    };
                    true
                }
                _ => false,
            },
            None => false,
        }
    }

    /// The grace period of a suspended session is over at `now`: whether a connection took the
    /// session back in time (its connection is then on its way to the session's task).
    /// Otherwise the session is over: expired now, or already by a late resume attempt that
    /// came between the deadline and this call and was refused as [`Denied::Expired`].
    pub fn resumed_in_time(&mut self, session_id: u64, now: Instant) -> bool {
        self.expire(session_id, now);
        self.sessions
            .get(&session_id)
            .is_some_and(|entry| matches!(entry.state, State::Attached { .. }))
    }

    /// The session ended for `reason` (unless it already expired, which stays its answer).
    pub fn close(&mut self, session_id: u64, reason: EndReason, now: Instant) {
        if let Some(entry) = self.sessions.get_mut(&session_id) {
            if !matches!(entry.state, State::Over { .. }) {
                entry.state = State::Over {
                    denied: Denied::Ended(reason),
                    forget_at: now + self.grace,
                };
            }
        }
    }

    /// Sessions in the book, live or remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.len()
    }

    fn new_ticket<R: RngCore + CryptoRng>(&self, rng: &mut R) -> (ResumeTicket, hmac::Tag) {
        let mut ticket = [0u8; 32];
        rng.fill_bytes(&mut ticket);
        let tag = hmac::sign(&self.key, &ticket);
        (ResumeTicket(ticket), tag)
    }

    fn prune(&mut self, now: Instant) {
        self.sessions.retain(|_, entry| match entry.state {
            State::Over { forget_at, .. } => forget_at > now,
            _ => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    const GRACE: Duration = Duration::from_secs(30);
    const SESSION: u64 = 7;

    fn setup() -> (ResumeBook<&'static str>, StdRng, Instant) {
        let mut rng = StdRng::seed_from_u64(3);
        (ResumeBook::new(GRACE, &mut rng), rng, Instant::now())
    }

    #[test]
    fn a_ticket_takes_a_suspended_session_back_once() {
        let (mut book, mut rng, now) = setup();
        let first = book.open(SESSION, "task", now, &mut rng);
        assert_eq!(book.suspend(SESSION, now), Some(now + GRACE));
        let (link, second) = book.resume(SESSION, &first, now, &mut rng).unwrap();
        assert_eq!(link, "task");
        assert_ne!(first, second);
        // Spent: the first ticket no longer works, the second one does.
        book.suspend(SESSION, now);
        assert_eq!(
            book.resume(SESSION, &first, now, &mut rng).err(),
            Some(Denied::Invalid)
        );
        assert!(book.resume(SESSION, &second, now, &mut rng).is_ok());
    }

    #[test]
    fn wrong_tickets_and_unknown_sessions_are_invalid() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        book.suspend(SESSION, now);
        let mut wrong = ticket.clone();
        wrong.0[31] ^= 1;
        assert_eq!(
            book.resume(SESSION, &wrong, now, &mut rng).err(),
            Some(Denied::Invalid)
        );
        assert_eq!(
            book.resume(SESSION + 1, &ticket, now, &mut rng).err(),
            Some(Denied::Invalid)
        );
        // A wrong guess does not spend the right ticket.
        assert!(book.resume(SESSION, &ticket, now, &mut rng).is_ok());
    }

    #[test]
    fn the_grace_period_ends_at_its_deadline_even_without_a_timer() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let deadline = book.suspend(SESSION, now).unwrap();
        let just_before = deadline - Duration::from_millis(1);
        assert!(!book.expire(SESSION, just_before));
        assert_eq!(
            book.resume(SESSION, &ticket, deadline, &mut rng).err(),
            Some(Denied::Expired)
        );
        assert!(!book.expire(SESSION, deadline), "already over");
        // Ending it afterwards does not change what a late viewer is told.
        book.close(SESSION, EndReason::ViewerDisconnected, deadline);
        assert_eq!(
            book.resume(SESSION, &ticket, deadline, &mut rng).err(),
            Some(Denied::Expired)
        );
    }

    #[test]
    fn a_viewer_back_in_time_is_not_expired_by_a_late_timer() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let deadline = book.suspend(SESSION, now).unwrap();
        book.resume(SESSION, &ticket, now, &mut rng).unwrap();
        assert!(!book.expire(SESSION, deadline));
        assert_eq!(book.suspend(SESSION, deadline), Some(deadline + GRACE));
    }

    #[test]
    fn the_grace_period_is_over_for_a_session_a_late_attempt_expired() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let deadline = book.suspend(SESSION, now).unwrap();
        // The late attempt comes before the session's own timer fires, and expires it.
        assert_eq!(
            book.resume(SESSION, &ticket, deadline, &mut rng).err(),
            Some(Denied::Expired)
        );
        assert!(!book.resumed_in_time(SESSION, deadline));
    }

    #[test]
    fn the_grace_period_is_over_for_a_session_nobody_took_back() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let deadline = book.suspend(SESSION, now).unwrap();
        assert!(!book.resumed_in_time(SESSION, deadline));
        assert_eq!(
            book.resume(SESSION, &ticket, deadline, &mut rng).err(),
            Some(Denied::Expired)
        );
    }

    #[test]
    fn a_resume_before_the_deadline_holds_the_session_when_the_timer_fires() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let deadline = book.suspend(SESSION, now).unwrap();
        book.resume(
            SESSION,
            &ticket,
            deadline - Duration::from_millis(1),
            &mut rng,
        )
        .unwrap();
        assert!(book.resumed_in_time(SESSION, deadline));
    }

    #[test]
    fn an_attached_session_can_be_taken_over_with_its_ticket() {
        // The viewer may notice its connection is dead before the relay does.
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        let (link, _) = book.resume(SESSION, &ticket, now, &mut rng).unwrap();
        assert_eq!(link, "task");
    }

    #[test]
    fn a_resume_racing_the_suspension_leaves_the_session_attached() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        book.resume(SESSION, &ticket, now, &mut rng).unwrap();
        // The session's task notices the old connection's loss only now, then takes the new
        // connection waiting for it.
        let deadline = book.suspend(SESSION, now).unwrap();
        book.attached(SESSION);
        assert!(!book.expire(SESSION, deadline));
    }

    #[test]
    fn ended_sessions_say_why_to_their_viewer_only_and_are_forgotten_later() {
        let (mut book, mut rng, now) = setup();
        let ticket = book.open(SESSION, "task", now, &mut rng);
        book.suspend(SESSION, now);
        book.close(SESSION, EndReason::AgentDisconnected, now);
        assert_eq!(book.suspend(SESSION, now), None);
        assert_eq!(
            book.resume(SESSION, &ticket, now, &mut rng).err(),
            Some(Denied::Ended(EndReason::AgentDisconnected))
        );
        assert_eq!(
            book.resume(SESSION, &ResumeTicket([0; 32]), now, &mut rng)
                .err(),
            Some(Denied::Invalid)
        );
        let later = now + GRACE;
        book.open(SESSION + 1, "other", later, &mut rng);
        assert_eq!(book.len(), 1, "opening prunes what is past remembering");
        assert_eq!(
            book.resume(SESSION, &ticket, later, &mut rng).err(),
            Some(Denied::Invalid)
        );
    }
}
