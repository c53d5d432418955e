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
//!   join ──────────────▶ Attached ── LegEnded(Closed | Violation) ───────────▶ Over
//!                        ▲   │                                                  ▲
//!                        │   │ LegEnded(Lost): Suspend { deadline }             │
//!        ResumeArrived:  │   ▼                                                  │
//!        Resume ─────── Suspended { timer } ── GraceOver(not taken back) ──────┤
//!                        ▲   │                                  (ViewerLost)    │
//!                        │   │ GraceOver(taken back): timer off                 │
//!                        └───┘                                                  │
//!   any live state ── AgentLeft | RelayShutdown ────────────────────────────────┘
//!   Over ── ResumeArrived: TurnAway(why it ended)
//! ```
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
    /// The agent's connection closed.
    AgentLeft,
    /// The relay began shutting down.
    RelayShutdown,
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
    /// The leg whose connection ended the session, if one did, and that connection's
    /// farewell.
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

/// An attended session's decisions. See the module's documentation.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    /// How long a lost leg may take to come back; zero turns resumption off.
    grace: Duration,
    legs: BTreeMap<LegId, Leg>,
    relay_shutting_down: bool,
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
            over: None,
        }
    }

    /// The relay began shutting down (the task noticed, whatever event it handles now): any
    /// end is recorded as [`SessionEnd::RelayShutdown`] from now on, and no leg is suspended.
    pub fn relay_shutting_down(&mut self) {
        self.relay_shutting_down = true;
    }

    /// The next grace deadline the task must wake up for, and its leg.
    pub fn next_deadline(&self) -> Option<(LegId, Instant)> {
        if self.over.is_some() {
            return None;
        }
        self.legs
            .iter()
            .filter_map(|(&leg, state)| match *state {
                Leg::Suspended {
                    deadline,
                    timer: true,
                } => Some((leg, deadline)),
                _ => None,
            })
            .min_by_key(|&(_, deadline)| deadline)
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
            Event::AgentLeft => self.end(SessionEnd::AgentDisconnected, None),
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
        let resumable = !self.grace.is_zero() && !self.relay_shutting_down;
        match how {
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
            LegEnd::Lost | LegEnd::Closed => {
                self.end(SessionEnd::ViewerDisconnected, Some((leg, Farewell::Close)))
            }
            LegEnd::Violation(e) => {
                self.end(SessionEnd::ProtocolError, Some((leg, Farewell::Error(e))))
            }
        }
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
        assert_eq!(session.next_deadline(), Some((LEG, deadline)));
        deadline
    }

    #[test]
    fn a_viewer_that_closes_ends_the_session_and_its_connection_is_closed() {
        let mut session = Lifecycle::new(GRACE);
        let ending = over(session.handle(ended(LegEnd::Closed), Instant::now()));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
        assert!(matches!(ending.leaving, Some((LEG, Farewell::Close))));
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
    fn without_resumption_a_lost_viewer_ends_the_session_as_disconnected() {
        let mut session = Lifecycle::new(Duration::ZERO);
        let ending = over(session.handle(ended(LegEnd::Lost), Instant::now()));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
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
        let ending = over(session.handle(ended(LegEnd::Closed), now));
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
        let ending = over(session.handle(ended(LegEnd::Closed), deadline));
        assert_eq!(ending.end, SessionEnd::ViewerDisconnected);
    }

    #[test]
    fn the_agent_leaving_ends_the_session_attached_or_suspended() {
        let mut attached = Lifecycle::new(GRACE);
        let ending = over(attached.handle(Event::AgentLeft, Instant::now()));
        assert_eq!(ending.end, SessionEnd::AgentDisconnected);
        assert_eq!(ending.reason, EndReason::AgentDisconnected);
        assert!(ending.leaving.is_none(), "the viewer is told the reason");

        let mut suspended = Lifecycle::new(GRACE);
        let deadline = lose(&mut suspended, Instant::now());
        let ending = over(suspended.handle(Event::AgentLeft, deadline));
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
        let ending = over(agent_gone.handle(Event::AgentLeft, now));
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
        over(session.handle(Event::AgentLeft, now));
        assert!(matches!(
            session.handle(resume(), now),
            Decision::TurnAway(EndReason::AgentDisconnected)
        ));

        let mut expired = Lifecycle::new(GRACE);
        let deadline = lose(&mut expired, now);
        over(expired.handle(grace_over(false), deadline));
        assert!(matches!(
            expired.handle(resume(), deadline),
            Decision::TurnAway(EndReason::ViewerDisconnected)
        ));
    }

    #[test]
    fn nothing_after_the_end_ends_it_again() {
        let now = Instant::now();
        let mut session = Lifecycle::new(GRACE);
        over(session.handle(ended(LegEnd::Closed), now));
        for event in [
            Event::AgentLeft,
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
        assert_eq!(
            over(session.handle(ended(closed), Instant::now())).end,
            SessionEnd::ViewerDisconnected
        );
    }
}
