//! The decisions of an attended session's life, as a plain state machine. The session's task
//! tells it what happened ([`Event`]) and when; it answers what to do ([`Decision`]): keep
//! going, take a resuming connection, suspend a technician's leg until a deadline, end the
//! session (what the audit log records, what the agent and each connection are told), or turn
//! a late connection away. It reads no clock and holds no connection, so every ordering of
//! those events, the racy ones included, is a unit test.
//!
//! One technician leg's life (the session's is that of its legs, plus the agent):
//!
//! ```text
//!                       ResumeArrived: Resume { replaces }
//!                         ┌─────┐ (the old connection is closed)
//!                         │     ▼
//!   join ──────────────▶ Attached ── LegEnded(Left | Violation) ─────────────▶ Over
//!                        ▲   │  │                                               ▲
//!                        │   │  └─ LegEnded(Closed): wait for the agent's ──────┤
//!                        │   │     claim (Trailing::Claim), else ViewerDisconnected
//!                        │   │ LegEnded(Lost): Suspend { deadline }             │
//!        ResumeArrived:  │   ▼                                                  │
//!        Resume ─────── Suspended { timer } ── GraceOver(not taken back) ──────┤
//!                        ▲   │                                  (ViewerLost)    │
//!                        │   │ GraceOver(taken back): timer off                 │
//!                        └───┘                                                  │
//!   any live state ── AgentLeaving | AgentLeft(lost) | RelayShutdown ──────────┤
//!   any live state ── AgentLeft(closed): wait for a technician's claim, ────────┘
//!                     else AgentDisconnected
//!   Over ── ResumeArrived: TurnAway(why it ended)
//! ```
//!
//! Who ended the session, and why (see the [module](super) on how the parties say it):
//! - **A party's claim ends the session at once, for its reason**: the agent's
//!   ([`Event::AgentLeaving`], its user ended it) or a technician's ([`LegEnd::Left`]). The
//!   first claim wins; nothing after the end changes it.
//! - **A hang-up without a word waits for the other party's claim.** The party that ends a
//!   session tells the relay so, then closes its session stream end to end; the other party
//!   hangs up as soon as it reads that close, so its hang-up may reach this task before the
//!   claim does (they cross the relay in different tasks). A party that closed its
//!   connection without a word is therefore believed only once
//!   [`Trailing::Claim`](tether_transport::Trailing::Claim) passed without the other's claim
//!   ([`Event::ClaimWindowOver`]); a claim meanwhile wins, and the other's hang-up ends the
//!   session as the first one (both went without a word). The window opens only while the
//!   other party could still claim: an agent that leaves a suspended session ends it at once.
//! - **A lost connection** (timed out or reset) is the network's doing, not a party's: the
//!   agent's ends the session at once ([`SessionEnd::AgentLost`]), a technician's suspends its
//!   leg, and the session ends as [`SessionEnd::ViewerLost`] if it does not come back.
//!
//! The races it settles, each with a test below:
//! - **A resume before the relay notices the loss.** The viewer may notice its dead
//!   connection (and come back on a new one) before the relay's idle timer fires. The resume
//!   book then accepts the ticket while the leg is still attached: the new connection
//!   replaces the old one, which is closed, and whatever its forwarding reports afterwards is
//!   never heard (the task stops and collects it first). If the relay notices the loss first
//!   after all, the leg is suspended and at once resumed by the connection already waiting.
//! - **The deadline against a resume.** A connection may present the ticket just before the
//!   deadline and reach the session's task just after it. The book, which every connection
//!   task consults, is the judge: at the deadline the task asks it whether the session was
//!   taken back in time, and if so waits (without a timer) for the connection on its way.
//!   A connection refused as too late is not taken back, so the session ends as lost then.
//! - **A claim against the hang-up it caused**, in either order, as above.
//! - **The session's end against everything else.** The agent leaving or the relay shutting
//!   down ends the session in any state; a connection that arrives after the end is told why
//!   it ended. Once the relay shuts down, it ends every session, so any end recorded from then
//!   on is [`SessionEnd::RelayShutdown`], and no lost leg is suspended: the task reports the
//!   shutdown as soon as it sees it ([`Lifecycle::relay_shutting_down`]), even while handling
//!   another event.
//!
//! A leg that ends for good ends the session: with one technician per session, as today,
//! that is the whole rule; a session with several will decide there what the others do.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use tether_proto::control::EndReason;
use tether_transport::Trailing;

use super::{end_reason, grace_secs, Farewell, LegEnd, LegId, Presence, SessionEnd};

/// What happened to an attended session.
#[derive(Debug)]
pub(crate) enum Event {
    /// A technician's connection stopped carrying its leg (its forwarding ended).
    LegEnded {
        /// The leg.
        leg: LegId,
        /// How.
        how: LegEnd,
    },
    /// A connection presented the leg's resume ticket and reached the session's task.
    ResumeArrived {
        /// The leg it takes back.
        leg: LegId,
    },
    /// The grace deadline of a suspended leg passed.
    GraceOver {
        /// The leg.
        leg: LegId,
        /// Whether the resume book says a connection presented the leg's ticket in time (it
        /// is then on its way to the session's task).
        taken_back: bool,
    },
    /// The agent said why it ends the session, before hanging up: its claim, checked to be
    /// the agent's own ([`super::Party::claim`]).
    AgentLeaving(SessionEnd),
    /// The agent's connection ended: `lost` (timed out or reset), or closed.
    AgentLeft {
        /// Whether the network lost it, rather than the agent closing it.
        lost: bool,
    },
    /// The window a hang-up without a word opened for the other party's claim passed
    /// ([`Timer::Claim`]).
    ClaimWindowOver,
    /// The relay began shutting down.
    RelayShutdown,
}

/// What the session's task wakes up for ([`Lifecycle::next_deadline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// A suspended leg's grace deadline: [`Event::GraceOver`].
    Grace(LegId),
    /// The end of the window for the other party's claim: [`Event::ClaimWindowOver`].
    Claim,
}

/// What the session's task does about an [`Event`].
#[derive(Debug)]
pub(crate) enum Decision {
    /// Nothing changes.
    KeepGoing,
    /// Hand the leg to the connection that arrived, greeting it as resumed, and forward its
    /// streams; if `replaces`, first close the leg's current connection (its viewer noticed
    /// the loss before the relay did) and release it.
    Resume {
        /// The leg.
        leg: LegId,
        /// Whether a connection still carries the leg.
        replaces: bool,
    },
    /// The leg's connection was lost: release it, tell the agent, and wait until `deadline`
    /// for a resume.
    Suspend {
        /// The leg.
        leg: LegId,
        /// When the session stops waiting for it.
        deadline: Instant,
        /// The grace period, as the agent is told it.
        grace_secs: u32,
    },
    /// The session is over.
    End(Ending),
    /// A connection arrived after the session ended: tell it `Ended { reason }`.
    TurnAway(EndReason),
}

/// How a session ends, and who is told what.
#[derive(Debug)]
pub(crate) struct Ending {
    /// What the audit log records.
    pub end: SessionEnd,
    /// What the agent is told, and every connection other than the leaving one, attached or
    /// arriving: `Ended { reason }`.
    pub reason: EndReason,
    /// The leg whose connection ended the session without a word or with an error, if one
    /// did, and that connection's farewell. (A viewer that said why it leaves is told the
    /// reason, as the others are.)
    pub leaving: Option<(LegId, Farewell)>,
}

impl Ending {
    /// What the agent's side learns.
    pub fn presence(&self) -> Presence {
        Presence::Ended(self.end)
    }
}

impl Decision {
    /// What the agent's side learns from this decision, if anything.
    pub fn presence(&self) -> Option<Presence> {
        match self {
            Decision::Resume { leg, .. } => Some(Presence::Attached(*leg)),
            Decision::Suspend {
                leg, grace_secs, ..
            } => Some(Presence::Suspended {
                leg: *leg,
                grace_secs: *grace_secs,
            }),
            Decision::End(ending) => Some(ending.presence()),
            Decision::KeepGoing | Decision::TurnAway(_) => None,
        }
    }
}

/// A technician leg, as the session's decisions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    /// A connection carries it.
    Attached,
    /// Its connection was lost; it may come back until `deadline`. `timer` is off once the
    /// deadline passed with the leg taken back in time (its connection is on its way).
    Suspended { deadline: Instant, timer: bool },
}

/// A party that hung up without a word, while the session waits for the other's claim.
#[derive(Debug, Clone, Copy)]
struct HungUp {
    /// How the session ends if no claim comes.
    end: SessionEnd,
    /// Until when the claim is waited for.
    until: Instant,
}

/// An attended session's decisions. See the module's documentation.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    /// How long a lost leg may take to come back; zero turns resumption off.
    grace: Duration,
    legs: BTreeMap<LegId, Leg>,
    relay_shutting_down: bool,
    /// A hang-up without a word, waiting for the other party's claim.
    hung_up: Option<HungUp>,
    /// Set once the session ended.
    over: Option<SessionEnd>,
}

impl Lifecycle {
    /// A session whose first technician leg ([`LegId::FIRST`]) is attached, and which keeps
    /// a lost leg for `grace` (never, if zero).
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            legs: BTreeMap::from([(LegId::FIRST, Leg::Attached)]),
            relay_shutting_down: false,
            hung_up: None,
            over: None,
        }
    }

    /// The relay began shutting down (the task noticed, whatever event it handles now): any
    /// end is recorded as [`SessionEnd::RelayShutdown`] from now on, and no leg is suspended.
    pub fn relay_shutting_down(&mut self) {
        self.relay_shutting_down = true;
    }

    /// The next deadline the task must wake up for, and what it is.
    pub fn next_deadline(&self) -> Option<(Timer, Instant)> {
        if self.over.is_some() {
            return None;
        }
        let graces = self.legs.iter().filter_map(|(&leg, state)| match *state {
            Leg::Suspended {
                deadline,
                timer: true,
            } => Some((Timer::Grace(leg), deadline)),
            _ => None,
        });
        let claim = self.hung_up.map(|hung_up| (Timer::Claim, hung_up.until));
        graces.chain(claim).min_by_key(|&(_, deadline)| deadline)
    }

    /// What to do about `event`, which happened at `now`.
    pub fn handle(&mut self, event: Event, now: Instant) -> Decision {
        if let Some(end) = self.over {
            return match event {
                Event::ResumeArrived { .. } => Decision::TurnAway(end_reason(end)),
                _ => Decision::KeepGoing,
            };
        }
        match event {
            Event::LegEnded { leg, how } => self.leg_ended(leg, how, now),
            Event::ResumeArrived { leg } => self.resume_arrived(leg),
            Event::GraceOver { leg, taken_back } => self.grace_over(leg, taken_back),
            Event::AgentLeaving(end) => self.end(end, None),
            Event::AgentLeft { lost: true } => {
                let end = self.first_hang_up(SessionEnd::AgentLost);
                self.end(end, None)
            }
            Event::AgentLeft { lost: false } => {
                let technician_may_claim = self.legs.values().any(|leg| *leg == Leg::Attached);
                if technician_may_claim || self.hung_up.is_some() {
                    self.hang_up(SessionEnd::AgentDisconnected, None, now)
                } else {
                    self.end(SessionEnd::AgentDisconnected, None)
                }
            }
            Event::ClaimWindowOver => match self.hung_up {
                Some(hung_up) if now >= hung_up.until => self.end(hung_up.end, None),
                _ => Decision::KeepGoing,
            },
            Event::RelayShutdown => {
                self.relay_shutting_down();
                self.end(SessionEnd::RelayShutdown, None)
            }
        }
    }

    fn leg_ended(&mut self, leg: LegId, how: LegEnd, now: Instant) -> Decision {
        let Some(state) = self.legs.get_mut(&leg) else {
            return Decision::KeepGoing;
        };
        if *state != Leg::Attached {
            // Only an attached leg has a connection whose end could be reported.
            return Decision::KeepGoing;
        }
        let resumable =
            !self.grace.is_zero() && !self.relay_shutting_down && self.hung_up.is_none();
        match how {
            LegEnd::Left(end) => self.end(end, None),
            LegEnd::Lost if resumable => {
                let deadline = now + self.grace;
                *state = Leg::Suspended {
                    deadline,
                    timer: true,
                };
                Decision::Suspend {
                    leg,
                    deadline,
                    grace_secs: grace_secs(self.grace),
                }
            }
            LegEnd::Lost => {
                let end = self.first_hang_up(SessionEnd::ViewerLost);
                self.end(end, Some((leg, Farewell::Close)))
            }
            LegEnd::Closed => {
                self.legs.remove(&leg);
                self.hang_up(SessionEnd::ViewerDisconnected, Some(leg), now)
            }
            LegEnd::Violation(e) => {
                self.end(SessionEnd::ProtocolError, Some((leg, Farewell::Error(e))))
            }
        }
    }

    /// A party hung up without a word (`leg`, if it was a technician's): the first such
    /// hang-up waits for the other party's claim; a second one ends the session as the first.
    fn hang_up(&mut self, end: SessionEnd, leg: Option<LegId>, now: Instant) -> Decision {
        let leaving = leg.map(|leg| (leg, Farewell::Close));
        if self.hung_up.is_some() || self.relay_shutting_down {
            let end = self.first_hang_up(end);
            return self.end(end, leaving);
        }
        self.hung_up = Some(HungUp {
            end,
            until: now + Trailing::Claim.window(),
        });
        Decision::KeepGoing
    }

    /// How the session ends for `end`, unless a party hung up without a word before: then as
    /// that hang-up.
    fn first_hang_up(&self, end: SessionEnd) -> SessionEnd {
        self.hung_up.map_or(end, |hung_up| hung_up.end)
    }

    fn resume_arrived(&mut self, leg: LegId) -> Decision {
        match self.legs.get_mut(&leg) {
            Some(state @ Leg::Suspended { .. }) => {
                *state = Leg::Attached;
                Decision::Resume {
                    leg,
                    replaces: false,
                }
            }
            Some(Leg::Attached) => Decision::Resume {
                leg,
                replaces: true,
            },
            // A leg that left for good: its technician went away.
            None => Decision::TurnAway(EndReason::ViewerDisconnected),
        }
    }

    fn grace_over(&mut self, leg: LegId, taken_back: bool) -> Decision {
        match self.legs.get_mut(&leg) {
            Some(Leg::Suspended { timer, .. }) if *timer => {
                if taken_back {
                    *timer = false;
                    Decision::KeepGoing
                } else {
                    self.legs.remove(&leg);
                    self.end(SessionEnd::ViewerLost, None)
                }
            }
            _ => Decision::KeepGoing,
        }
    }

    fn end(&mut self, end: SessionEnd, leaving: Option<(LegId, Farewell)>) -> Decision {
        let end = end.recorded(self.relay_shutting_down);
        self.over = Some(end);
        self.hung_up = None;
        Decision::End(Ending {
            end,
            reason: end_reason(end),
            leaving,
        })
    }
}

#[cfg(test)]
mod tests {
    use tether_transport::TransportError;

    use super::*;
    use crate::{error::RelayError, session::AgentNotice};

    const GRACE: Duration = Duration::from_secs(30);
    const LEG: LegId = LegId::FIRST;

    fn ended(how: LegEnd) -> Event {
        Event::LegEnded { leg: LEG, how }
    }

    fn resume() -> Event {
        Event::ResumeArrived { leg: LEG }
    }

    fn grace_over(taken_back: bool) -> Event {
        Event::GraceOver {
            leg: LEG,
            taken_back,
        }
    }

    fn violation() -> LegEnd {
        LegEnd::Violation(RelayError::TooManyStreams(16))
    }

    /// What the agent is told about a decision.
    fn told(decision: &Decision) -> Option<AgentNotice> {
        decision.presence().map(Presence::agent_notice)
    }

    /// The session's end, checked to be what the agent and the leaving connection are told.
    fn over(decision: Decision) -> Ending {
        let notice = told(&decision);
        let Decision::End(ending) = decision else {
            panic!("the session goes on: {decision:?}");
        };
        let expected = match ending.end {
            SessionEnd::RelayShutdown => AgentNotice::RelayShutdown,
            end => AgentNotice::Ended(end_reason(end)),
        };
        assert_eq!(notice, Some(expected));
        assert_eq!(ending.reason, end_reason(ending.end));
        ending
    }

    /// Suspends the first leg at `now`; returns its deadline.
    fn lose(session: &mut Lifecycle, now: Instant) -> Instant {
        let decision = session.handle(ended(LegEnd::Lost), now);
        assert_eq!(
            told(&decision),
            Some(AgentNotice::Suspended { grace_secs: 30 })
        );
        let Decision::Suspend { leg, deadline, .. } = decision else {
            panic!("not suspended: {decision:?}");
        };
        assert_eq!((leg, deadline), (LEG, now + GRACE));
        assert_eq!(session.next_deadline(), Some((Timer::Grace(LEG), deadline)));
        deadline
    }

    /// The claim window a hang-up without a word opened at `now`, checked to be the next
    /// deadline; returns its end.
    fn claim_window(session: &Lifecycle, now: Instant) -> Instant {
        let until = now + Trailing::Claim.window();
        assert_eq!(session.next_deadline(), Some((Timer::Claim, until)));
        until
    }

    /// The viewer hangs up without a word at `now`, and no claim comes: the session's end.
    fn closed_for_good(session: &mut Lifecycle, now: Instant) -> Ending {
        let hung_up = session.handle(ended(LegEnd::Closed), now);
        assert!(matches!(hung_up, Decision::KeepGoing), "{hung_up:?}");
        let until = claim_window(session, now);
        over(session.handle(Event::ClaimWindowOver, until))
    }

    fn agent_left(lost: bool) -> Event {
        Event::AgentLeft { lost }
    }

    fn technician_left() -> Event {
        ended(LegEnd::Left(SessionEnd::TechnicianEnded))
    }

    #[test]
    fn a_viewer_that_hangs_up_without_a_word_ends_the_session_once_no_claim_came() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        let hung_up = session.handle(ended(LegEnd::Closed), now);
        assert!(matches!(hung_up, Decision::KeepGoing), "{hung_up:?}");
        let until = claim_window(&session, now);
        assert!(matches!(
            session.handle(Event::ClaimWindowOver, until - Duration::from_millis(1)),
            Decision::KeepGoing
        ));
        let ending = over(session.handle(Event::ClaimWindowOver, until));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
        assert_eq!(ending.reason, EndReason::ViewerDisconnected);
        assert!(ending.leaving.is_none(), "its connection was released then");
        assert_eq!(session.next_deadline(), None);
    }

    #[test]
    fn the_users_claim_ends_the_session_at_once() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        let ending = over(session.handle(Event::AgentLeaving(SessionEnd::UserEnded), now));
        assert_eq!(ending.end, SessionEnd::UserEnded);
        assert_eq!(ending.reason, EndReason::UserEnded);
        assert!(ending.leaving.is_none(), "the viewer is told the reason");
        // The hang-ups it causes change nothing.
        for event in [ended(LegEnd::Closed), agent_left(false)] {
            assert!(matches!(session.handle(event, now), Decision::KeepGoing));
        }
    }

    #[test]
    fn the_users_claim_after_the_viewers_hang_up_it_caused_is_the_reason() {
        // The viewer read the agent's close and hung up; the hang-up reached the session's task
        // before the agent's claim did.
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        session.handle(ended(LegEnd::Closed), now);
        let until = claim_window(&session, now);
        let claimed = session.handle(
            Event::AgentLeaving(SessionEnd::UserEnded),
            until - Duration::from_millis(1),
        );
        let ending = over(claimed);
        assert_eq!(ending.end, SessionEnd::UserEnded);
        assert_eq!(ending.reason, EndReason::UserEnded);
        assert!(matches!(
            session.handle(Event::ClaimWindowOver, until),
            Decision::KeepGoing
        ));
    }

    #[test]
    fn the_technicians_claim_ends_the_session_at_once_and_the_viewer_is_told() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        let ending = over(session.handle(technician_left(), now));
        assert_eq!(ending.end, SessionEnd::TechnicianEnded);
        assert_eq!(ending.reason, EndReason::TechnicianEnded);
        assert!(
            ending.leaving.is_none(),
            "the leaving viewer is told the reason too"
        );
        assert!(matches!(
            session.handle(agent_left(false), now),
            Decision::KeepGoing
        ));
    }

    #[test]
    fn the_technicians_claim_after_the_agents_hang_up_it_caused_is_the_reason() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        assert!(matches!(
            session.handle(agent_left(false), now),
            Decision::KeepGoing
        ));
        let until = claim_window(&session, now);
        let ending = over(session.handle(technician_left(), until - Duration::from_millis(1)));
        assert_eq!(ending.end, SessionEnd::TechnicianEnded);
        assert_eq!(ending.reason, EndReason::TechnicianEnded);
    }

    #[test]
    fn the_first_claim_wins() {
        let now = Instant::now();
        let mut user_first = Lifecycle::new(GRACE);
        over(user_first.handle(Event::AgentLeaving(SessionEnd::UserEnded), now));
        assert!(matches!(
            user_first.handle(technician_left(), now),
            Decision::KeepGoing
        ));
        let mut technician_first = Lifecycle::new(GRACE);
        over(technician_first.handle(technician_left(), now));
        assert!(matches!(
            technician_first.handle(Event::AgentLeaving(SessionEnd::UserEnded), now),
            Decision::KeepGoing
        ));
    }

    #[test]
    fn when_both_hang_up_without_a_word_the_first_is_the_reason() {
        let now = Instant::now();
        let mut viewer_first = Lifecycle::new(GRACE);
        viewer_first.handle(ended(LegEnd::Closed), now);
        let ending = over(viewer_first.handle(agent_left(false), now));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
        assert!(ending.leaving.is_none());

        let mut agent_first = Lifecycle::new(GRACE);
        agent_first.handle(agent_left(false), now);
        let ending = over(agent_first.handle(ended(LegEnd::Closed), now));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Close))));
        // Nor is a viewer lost after the agent hung up kept for a resume.
        let mut lost_after = Lifecycle::new(GRACE);
        lost_after.handle(agent_left(false), now);
        let ending = over(lost_after.handle(ended(LegEnd::Lost), now));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
    }

    #[test]
    fn a_lost_agent_ends_the_session_at_once_as_lost() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        let ending = over(session.handle(agent_left(true), now));
        assert_eq!(ending.end, SessionEnd::AgentLost);
        assert_eq!(ending.reason, EndReason::AgentLost);
        assert!(ending.leaving.is_none(), "the viewer is told the reason");
        // After a viewer's hang-up without a word, that hang-up came first.
        let mut hung_up = Lifecycle::new(GRACE);
        hung_up.handle(ended(LegEnd::Closed), now);
        let ending = over(hung_up.handle(agent_left(true), now));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
    }

    #[test]
    fn a_shutdown_while_waiting_for_a_claim_ends_the_session_for_the_relay() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        session.handle(ended(LegEnd::Closed), now);
        let ending = over(session.handle(Event::RelayShutdown, now));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
        assert_eq!(ending.reason, EndReason::RelayShutdown);
        // A hang-up once the relay shuts down waits for nobody.
        let mut shutting_down = Lifecycle::new(GRACE);
        shutting_down.relay_shutting_down();
        let ending = over(shutting_down.handle(ended(LegEnd::Closed), now));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Close))));
    }

    #[test]
    fn a_grace_deadline_and_a_claim_window_wake_the_task_in_their_order() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        let deadline = lose(&mut session, now);
        // The agent hangs up while the technician is away: nobody is left to claim.
        let ending = over(session.handle(agent_left(false), deadline - Duration::from_millis(1)));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
        assert_eq!(session.next_deadline(), None);
    }

    #[test]
    fn a_lost_viewer_is_waited_for_and_may_come_back() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        lose(&mut session, now);
        let back = session.handle(resume(), now + GRACE / 2);
        assert_eq!(told(&back), Some(AgentNotice::Nothing));
        assert!(matches!(
            back,
            Decision::Resume {
                leg: LEG,
                replaces: false
            }
        ));
        assert_eq!(session.next_deadline(), None);
        // Lost again later: a new grace period from then.
        lose(&mut session, now + GRACE);
    }

    #[test]
    fn a_lost_viewer_that_does_not_come_back_ends_the_session_at_the_deadline() {
        let mut session = Lifecycle::new(GRACE);
        let deadline = lose(&mut session, Instant::now());
        let ending = over(session.handle(grace_over(false), deadline));
        assert_eq!(ending.end, SessionEnd::ViewerLost);
        assert!(
            ending.leaving.is_none(),
            "its connection was released already"
        );
        assert_eq!(session.next_deadline(), None);
    }

    #[test]
    fn without_resumption_a_lost_viewer_ends_the_session_as_lost() {
        let mut session = Lifecycle::new(Duration::ZERO);
        let ending = over(session.handle(ended(LegEnd::Lost), Instant::now()));
        assert_eq!(ending.end, SessionEnd::ViewerLost);
        assert_eq!(ending.reason, EndReason::ViewerLost);
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Close))));
    }

    #[test]
    fn a_viewer_that_breaks_the_protocol_is_closed_with_its_error() {
        let mut session = Lifecycle::new(GRACE);
        let ending = over(session.handle(ended(violation()), Instant::now()));
        assert_eq!(ending.end, SessionEnd::ProtocolError);
        assert!(matches!(
            ending.leaving,
            Some((LEG, Farewell::Error(RelayError::TooManyStreams(16))))
        ));
    }

    #[test]
    fn a_resume_before_the_relay_notices_the_loss_replaces_the_connection() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        let back = session.handle(resume(), now);
        assert!(matches!(
            back,
            Decision::Resume {
                leg: LEG,
                replaces: true
            }
        ));
        assert_eq!(session.next_deadline(), None);
        // The new connection goes on being forwarded: closing it later ends the session.
        let ending = closed_for_good(&mut session, now);
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
    }

    #[test]
    fn a_resume_waiting_while_the_relay_notices_the_loss_takes_the_leg_back() {
        // The book took the ticket while the leg was attached, then the old connection's loss
        // reached the task before the new connection did.
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        lose(&mut session, now);
        assert!(matches!(
            session.handle(resume(), now),
            Decision::Resume {
                leg: LEG,
                replaces: false
            }
        ));
        assert_eq!(session.next_deadline(), None);
    }

    #[test]
    fn a_deadline_a_resume_beat_waits_for_its_connection_without_a_timer() {
        let mut session = Lifecycle::new(GRACE);
        let deadline = lose(&mut session, Instant::now());
        assert!(matches!(
            session.handle(grace_over(true), deadline),
            Decision::KeepGoing
        ));
        assert_eq!(session.next_deadline(), None, "the timer is off");
        assert!(matches!(
            session.handle(resume(), deadline + Duration::from_millis(1)),
            Decision::Resume {
                leg: LEG,
                replaces: false
            }
        ));
    }

    #[test]
    fn a_late_timer_after_a_resume_changes_nothing() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        let deadline = lose(&mut session, now);
        session.handle(resume(), now);
        assert!(matches!(
            session.handle(grace_over(false), deadline),
            Decision::KeepGoing
        ));
        let ending = closed_for_good(&mut session, deadline);
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
    }

    #[test]
    fn the_agent_leaving_ends_the_session_attached_or_suspended() {
        // Attached, once no technician's claim explains the hang-up.
        let mut attached = Lifecycle::new(GRACE);
        let now = Instant::now();
        assert!(matches!(
            attached.handle(agent_left(false), now),
            Decision::KeepGoing
        ));
        let until = claim_window(&attached, now);
        let ending = over(attached.handle(Event::ClaimWindowOver, until));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
        assert_eq!(ending.reason, EndReason::AgentDisconnected);
        assert!(ending.leaving.is_none(), "the viewer is told the reason");

        let mut suspended = Lifecycle::new(GRACE);
        let deadline = lose(&mut suspended, Instant::now());
        let ending = over(suspended.handle(agent_left(false), deadline));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
        assert_eq!(suspended.next_deadline(), None);
        assert!(matches!(
            suspended.handle(grace_over(false), deadline),
            Decision::KeepGoing
        ));
    }

    #[test]
    fn a_shutdown_during_the_suspension_ends_the_session_for_the_relay() {
        let mut session = Lifecycle::new(GRACE);
        let now = Instant::now();
        lose(&mut session, now);
        let ending = over(session.handle(Event::RelayShutdown, now));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
        assert_eq!(ending.reason, EndReason::RelayShutdown);
        assert!(ending.leaving.is_none());
    }

    #[test]
    fn once_the_relay_shuts_down_any_end_is_the_shutdown_and_nobody_is_suspended() {
        let now = Instant::now();
        let mut lost = Lifecycle::new(GRACE);
        lost.relay_shutting_down();
        let ending = over(lost.handle(ended(LegEnd::Lost), now));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
        // The lost connection is closed (not told), as one that closed itself.
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Close))));

        let mut rude = Lifecycle::new(GRACE);
        rude.relay_shutting_down();
        let ending = over(rude.handle(ended(violation()), now));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Error(_)))));

        let mut agent_gone = Lifecycle::new(GRACE);
        agent_gone.relay_shutting_down();
        let ending = over(agent_gone.handle(agent_left(false), now));
        assert_eq!(ending.reason, EndReason::RelayShutdown);

        let mut suspended = Lifecycle::new(GRACE);
        let deadline = lose(&mut suspended, now);
        suspended.relay_shutting_down();
        let ending = over(suspended.handle(grace_over(false), deadline));
        assert_eq!(ending.end, SessionEnd::RelayShutdown);
    }

    #[test]
    fn a_resume_after_the_end_is_told_why_the_session_ended() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        lose(&mut session, now);
        over(session.handle(agent_left(false), now));
        assert!(matches!(
            session.handle(resume(), now),
            Decision::TurnAway(EndReason::AgentDisconnected)
        ));

        let mut expired = Lifecycle::new(GRACE);
        let deadline = lose(&mut expired, now);
        over(expired.handle(grace_over(false), deadline));
        assert!(matches!(
            expired.handle(resume(), deadline),
            Decision::TurnAway(EndReason::ViewerLost)
        ));
    }

    #[test]
    fn nothing_after_the_end_ends_it_again() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        closed_for_good(&mut session, now);
        for event in [
            agent_left(false),
            agent_left(true),
            Event::AgentLeaving(SessionEnd::UserEnded),
            Event::ClaimWindowOver,
            Event::RelayShutdown,
            ended(LegEnd::Lost),
            grace_over(false),
        ] {
            assert!(matches!(session.handle(event, now), Decision::KeepGoing));
        }
    }

    #[test]
    fn a_lost_connection_is_told_from_a_closed_one_by_its_close_reason() {
        // As the task classifies a forwarding that ended because the viewer's connection went.
        let hung_up = || Err(TransportError::from(quinn::ConnectionError::LocallyClosed).into());
        let mut session = Lifecycle::new(GRACE);
        let lost = LegEnd::classify(hung_up(), Some(quinn::ConnectionError::TimedOut));
        assert!(matches!(
            session.handle(ended(lost), Instant::now()),
            Decision::Suspend { .. }
        ));
        let mut session = Lifecycle::new(GRACE);
        let closed = LegEnd::classify(hung_up(), Some(quinn::ConnectionError::LocallyClosed));
        let now = Instant::now();
        assert!(matches!(
            session.handle(ended(closed), now),
            Decision::KeepGoing
        ));
        let until = claim_window(&session, now);
        assert_eq!(
            over(session.handle(Event::ClaimWindowOver, until)).end,
            SessionEnd::ViewerDisconnected
        );
    }
}
