//! What a live session does next, decided without IO: the async code in `resume.rs` and
//! `shell_session.rs` reports what happened (a stream ended, the relay spoke, a resume attempt
//! failed, time passed) and does what the [`Lifecycle`] says. Instants are passed in, so the
//! tests run every ordering on a clock of their own.
//!
//! ```text
//! Streaming ── the stream ends first: the viewer's close ──▶ Over(TechnicianEnded)
//!    ▲   │                            the user's stop ────▶ Over(USER_ENDED), after saying
//!    │   │                                                  Leaving, then the close
//!    │   │                            lost (no close) ────▶ Suspended { lost_at }
//!    │   └──── the relay's news first (Ended, a broken control stream), then the
//!    │         stream's own end within Trailing::PeerLeaving:
//!    │                                the viewer's close ─▶ Over(TechnicianEnded)
//!    │                                anything else ──────▶ Over(the news)
//!    │
//! any live phase ── the relay's connection lost ─────────▶ Over(AGENT_LOST)
//!
//! Suspended ── the relay's Suspended { grace } ───────────▶ the deadline moves
//!    │   │     the relay's Ended { reason } ──────────────▶ Over(reason)
//!    │   │     the deadline passes ───────────────────────▶ Over("… did not come back …")
//!    │   │     the user's stop ───────────────────────────▶ Over(USER_ENDED)
//!    │   └──── a resume that broke off or was too slow ───▶ Suspended, as it was
//!    │         a resume refused end to end ───────────────▶ Over, with the error
//!    └──────── a returning viewer proves the secret
//! ```
//!
//! The viewer's authenticated close means the technician ended the session, and the relay's
//! `Ended { reason }` says who else did (in the agent's words: the user is "you"); a stream
//! that breaks without that close is a lost connection, which the technician may come back
//! from. The user's own stop is told to the relay first and then end to end (see
//! `resume.rs`), so both hear it as the user's.
//!
//! The deadline is the relay's grace period (from its `Suspended`, and never above
//! [`MAX_SUSPENSION`]) counted from the loss, plus [`RELAY_SLACK`]: the relay ends the session
//! first and says why, and the agent's own deadline only covers a relay that went silent.

use std::time::{Duration, Instant};

use anyhow::bail;
use tether_proto::control::{EndReason, RelayMessage};
use tether_transport::{is_disconnect, TransportError};

/// The longest a session waits for a lost viewer, whatever the relay says (the relay's own
/// longest grace period).
const MAX_SUSPENSION: Duration = Duration::from_secs(3600);
/// How much longer than the relay's grace period the agent waits, so that the relay's word
/// on how the session ended arrives first.
const RELAY_SLACK: Duration = Duration::from_secs(2);
/// Why a session ended when its user ended it, in words for the user.
pub(crate) const USER_ENDED: &str = "you ended the session";
/// Why a session ended when this side's connection to the relay was lost, in words for the
/// user: what the technician hears as [`EndReason::AgentLost`].
const AGENT_LOST: &str = "your connection was lost";
/// Why a session ended when its lost viewer did not come back, in words for the user.
const NOT_BACK: &str = "the viewer did not come back in time";

/// Why the session ended, as the relay (or the viewer's close) says it, in words for the
/// user: the technician's words, except that the user is "you".
pub(crate) fn told(reason: EndReason) -> String {
    match reason {
        EndReason::UserEnded => USER_ENDED.to_owned(),
        EndReason::AgentLost => AGENT_LOST.to_owned(),
        other => other.to_string(),
    }
}

/// Whether `error` says the connection to the relay was lost (it timed out, or the network
/// reset it) rather than closed by either side.
fn connection_lost(error: &TransportError) -> bool {
    let connection = match error {
        TransportError::Connection(e)
        | TransportError::Read(quinn::ReadError::ConnectionLost(e))
        | TransportError::Write(quinn::WriteError::ConnectionLost(e)) => e,
        _ => return false,
    };
    matches!(
        connection,
        quinn::ConnectionError::TimedOut | quinn::ConnectionError::Reset
    )
}

/// Why streaming stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The viewer closed the session stream.
    ViewerLeft,
    /// The user ended the session here.
    Stopped,
    /// The stream broke without the viewer's close (its connection was lost): the viewer may
    /// come back on a new stream.
    Lost,
}

/// Where a live session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A stream carries the session.
    Streaming,
    /// The viewer's connection was lost at `lost_at`; it may come back.
    Suspended {
        /// When the agent noticed.
        lost_at: Instant,
    },
    /// The session is over.
    Over,
}

/// A live session's lifecycle, and the relay's terms for it.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    phase: Phase,
    /// Seconds the relay keeps the session for a lost viewer, once it has said.
    grace_secs: Option<u32>,
}

impl Lifecycle {
    /// A session a first stream now carries.
    pub fn new() -> Self {
        Self {
            phase: Phase::Streaming,
            grace_secs: None,
        }
    }

    /// Where the session stands.
    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The relay's next word on the control stream (or its failure); returns why the session
    /// ended, in words for the user, once the relay ended it. A `Suspended` only notes the
    /// relay's grace period; anything the relay should not say, or a broken control stream,
    /// is an error.
    pub fn relay_said(
        &mut self,
        message: Result<Option<RelayMessage>, TransportError>,
    ) -> anyhow::Result<Option<String>> {
        let suspended = matches!(self.phase, Phase::Suspended { .. });
        match message {
            Ok(Some(RelayMessage::Suspended { grace_secs })) => {
                self.grace_secs = Some(grace_secs);
                Ok(None)
            }
            Ok(Some(RelayMessage::Ended { reason })) => {
                self.phase = Phase::Over;
                Ok(Some(told(reason)))
            }
            Ok(None) if suspended => {
                bail!("the relay went away while the session waited for its viewer")
            }
            Ok(other) => bail!("unexpected message from the relay: {other:?}"),
            Err(e) => self.relay_failed(e).map(Some),
        }
    }

    /// The connection to the relay failed with `error` (its control stream, or waiting for a
    /// stream on it): a lost connection ends the session as the network's doing, as the
    /// relay tells the technician; anything else is an error.
    pub fn relay_failed(&mut self, error: TransportError) -> anyhow::Result<String> {
        self.phase = Phase::Over;
        if connection_lost(&error) {
            return Ok(AGENT_LOST.to_owned());
        }
        bail!("lost the relay: {error}")
    }

    /// A stream of the session ended at `now`, before any news of the relay's: returns why the
    /// session is over, or `None` when the viewer may come back (its connection was lost).
    pub fn stream_ended(&mut self, end: StreamEnd, now: Instant) -> Option<String> {
        let over = match end {
            StreamEnd::ViewerLeft => told(EndReason::TechnicianEnded),
            StreamEnd::Stopped => USER_ENDED.to_owned(),
            StreamEnd::Lost => {
                self.phase = Phase::Suspended { lost_at: now };
                return None;
            }
        };
        self.phase = Phase::Over;
        Some(over)
    }

    /// The relay's `news` (why it ended the session, or why its control stream failed) came
    /// while the stream was still open, and the stream ended with `trailing` within
    /// [`tether_transport::Trailing::PeerLeaving`] (`None`: it did not, or failed). A
    /// technician who ends the session tells the relay, which tells this side at once, before
    /// the viewer's close reaches it: that close, end to end, is the one to report. The user's
    /// stop after the news comes too late: the session was over.
    pub fn news_overtook(
        &mut self,
        news: anyhow::Result<String>,
        trailing: Option<StreamEnd>,
    ) -> anyhow::Result<String> {
        self.phase = Phase::Over;
        match trailing {
            Some(StreamEnd::ViewerLeft) => Ok(told(EndReason::TechnicianEnded)),
            _ => news,
        }
    }

    /// When a suspended session stops waiting for its viewer; `None` unless suspended.
    pub fn deadline(&self) -> Option<Instant> {
        let Phase::Suspended { lost_at } = self.phase else {
            return None;
        };
        let kept = self
            .grace_secs
            .map_or(MAX_SUSPENSION, |secs| Duration::from_secs(secs.into()))
            .min(MAX_SUSPENSION);
        Some(lost_at + kept + RELAY_SLACK)
    }

    /// The time is `now`: returns why the session is over if its lost viewer is too late.
    pub fn tick(&mut self, now: Instant) -> Option<String> {
        let late = self.deadline().is_some_and(|deadline| now >= deadline);
        late.then(|| {
            self.phase = Phase::Over;
            NOT_BACK.to_owned()
        })
    }

    /// The user ended the session here: why it is over.
    pub fn stopped(&mut self) -> String {
        self.phase = Phase::Over;
        USER_ENDED.to_owned()
    }

    /// A returning viewer proved the session's secret: a new stream carries the session.
    pub fn resumed(&mut self) {
        self.phase = Phase::Streaming;
    }

    /// A resume attempt failed with `error`. One that broke off (its stream or connection went
    /// away) leaves the session waiting for the next; any other failed end-to-end verification
    /// or broke the protocol, and the session is over: the error says so.
    pub fn attempt_failed(&mut self, error: anyhow::Error) -> anyhow::Result<()> {
        if is_disconnect(&error) {
            return Ok(());
        }
        self.phase = Phase::Over;
        Err(error.context(
            "a viewer's attempt to resume the session failed end-to-end verification, so the \
             session is over",
        ))
    }
}

#[cfg(test)]
mod tests {
    use tether_e2e::E2eError;

    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn ended(reason: EndReason) -> Result<Option<RelayMessage>, TransportError> {
        Ok(Some(RelayMessage::Ended { reason }))
    }

    fn suspended(grace_secs: u32) -> Result<Option<RelayMessage>, TransportError> {
        Ok(Some(RelayMessage::Suspended { grace_secs }))
    }

    fn timed_out() -> TransportError {
        TransportError::Connection(quinn::ConnectionError::TimedOut)
    }

    /// A session whose stream was lost at `lost_at`.
    fn lost(lost_at: Instant) -> Lifecycle {
        let mut lifecycle = Lifecycle::new();
        assert_eq!(lifecycle.stream_ended(StreamEnd::Lost, lost_at), None);
        lifecycle
    }

    #[test]
    fn a_closed_or_stopped_stream_ends_the_session_and_a_lost_one_suspends_it() {
        let now = Instant::now();
        let mut left = Lifecycle::new();
        let reason = left.stream_ended(StreamEnd::ViewerLeft, now);
        assert_eq!(reason.as_deref(), Some("the technician ended the session"));
        assert_eq!(left.phase(), Phase::Over);
        let mut stopped = Lifecycle::new();
        let reason = stopped.stream_ended(StreamEnd::Stopped, now);
        assert_eq!(reason.as_deref(), Some(USER_ENDED));
        assert_eq!(lost(now).phase(), Phase::Suspended { lost_at: now });
    }

    #[test]
    fn the_viewers_close_trailing_the_relays_news_means_the_technician_ended_it() {
        // The technician ended it; the relay heard so first and told this side before the
        // viewer's close came through.
        let mut lifecycle = Lifecycle::new();
        let news = Ok(told(EndReason::ViewerDisconnected));
        let reason = lifecycle.news_overtook(news, Some(StreamEnd::ViewerLeft));
        assert_eq!(reason.unwrap(), "the technician ended the session");
        assert_eq!(lifecycle.phase(), Phase::Over);
    }

    #[test]
    fn the_relays_news_stands_when_no_close_trailed_it() {
        // A stop after the news comes after the end.
        for trailing in [None, Some(StreamEnd::Stopped), Some(StreamEnd::Lost)] {
            let mut lifecycle = Lifecycle::new();
            let news = Ok(EndReason::AgentDisconnected.to_string());
            let reason = lifecycle.news_overtook(news, trailing).unwrap();
            assert_eq!(
                reason,
                EndReason::AgentDisconnected.to_string(),
                "{trailing:?}"
            );
        }
        let mut lifecycle = Lifecycle::new();
        let broken = lifecycle.news_overtook(Err(anyhow::anyhow!("lost the relay")), None);
        assert_eq!(broken.unwrap_err().to_string(), "lost the relay");
    }

    #[test]
    fn the_relays_reason_reads_as_the_technician_reads_it_but_the_user_is_you() {
        for (reason, words) in [
            (EndReason::UserEnded, "you ended the session"),
            (
                EndReason::TechnicianEnded,
                "the technician ended the session",
            ),
            (
                EndReason::ViewerLost,
                "the technician's connection was lost",
            ),
            (EndReason::RelayShutdown, "the relay shut down"),
        ] {
            let mut lifecycle = Lifecycle::new();
            let said = lifecycle.relay_said(ended(reason)).unwrap();
            assert_eq!(said.as_deref(), Some(words), "{reason:?}");
            assert_eq!(lifecycle.phase(), Phase::Over);
        }
    }

    #[test]
    fn while_streaming_the_relay_notes_its_grace_or_ends_the_session() {
        let mut lifecycle = Lifecycle::new();
        assert_eq!(lifecycle.relay_said(suspended(30)).unwrap(), None);
        assert_eq!(lifecycle.phase(), Phase::Streaming);
        let reason = lifecycle.relay_said(ended(EndReason::ViewerDisconnected));
        assert_eq!(reason.unwrap().as_deref(), Some("the viewer disconnected"));
        assert_eq!(lifecycle.phase(), Phase::Over);
    }

    #[test]
    fn a_relay_that_goes_quiet_or_says_something_else_is_an_error() {
        let finished = Lifecycle::new().relay_said(Ok(None)).unwrap_err();
        assert_eq!(
            finished.to_string(),
            "unexpected message from the relay: None"
        );
        let waiting = lost(Instant::now()).relay_said(Ok(None)).unwrap_err();
        assert!(waiting
            .to_string()
            .contains("went away while the session waited"));
        let other = Ok(Some(RelayMessage::Resumed));
        let unexpected = Lifecycle::new().relay_said(other).unwrap_err();
        assert!(unexpected.to_string().contains("unexpected message"));
        let closed = TransportError::Connection(quinn::ConnectionError::LocallyClosed);
        let broken = Lifecycle::new().relay_said(Err(closed)).unwrap_err();
        assert!(broken.to_string().starts_with("lost the relay"));
    }

    #[test]
    fn a_lost_connection_to_the_relay_ends_the_session_as_the_technician_hears_it() {
        let reset = || {
            TransportError::Read(quinn::ReadError::ConnectionLost(
                quinn::ConnectionError::Reset,
            ))
        };
        let streaming = Lifecycle::new;
        let suspended = || lost(Instant::now());
        for fresh in [&streaming as &dyn Fn() -> Lifecycle, &suspended] {
            for error in [timed_out(), reset()] {
                let mut lifecycle = fresh();
                let said = lifecycle.relay_said(Err(error)).unwrap();
                assert_eq!(said.as_deref(), Some("your connection was lost"));
                assert_eq!(said.as_deref(), Some(told(EndReason::AgentLost).as_str()));
                assert_eq!(lifecycle.phase(), Phase::Over);
            }
        }
        let mut waiting = lost(Instant::now());
        assert_eq!(
            waiting.relay_failed(timed_out()).unwrap(),
            "your connection was lost"
        );
    }

    #[test]
    fn without_the_relays_word_a_lost_viewer_is_waited_for_the_longest_grace_and_slack() {
        let lost_at = Instant::now();
        let mut lifecycle = lost(lost_at);
        let deadline = lost_at + MAX_SUSPENSION + RELAY_SLACK;
        assert_eq!(lifecycle.deadline(), Some(deadline));
        assert_eq!(lifecycle.tick(deadline - SEC), None);
        assert_eq!(lifecycle.tick(deadline).as_deref(), Some(NOT_BACK));
        assert_eq!(lifecycle.phase(), Phase::Over);
    }

    #[test]
    fn the_relays_grace_sets_the_deadline_even_when_it_comes_after_the_loss() {
        let lost_at = Instant::now();
        let mut lifecycle = lost(lost_at);
        assert_eq!(lifecycle.relay_said(suspended(30)).unwrap(), None);
        assert_eq!(lifecycle.deadline(), Some(lost_at + 30 * SEC + RELAY_SLACK));
        assert_eq!(lifecycle.tick(lost_at + 31 * SEC), None);
        // The relay ends the session at its deadline and says so, before the agent's own.
        let reason = lifecycle.relay_said(ended(EndReason::ViewerDisconnected));
        assert_eq!(reason.unwrap().as_deref(), Some("the viewer disconnected"));
        assert_eq!(lifecycle.deadline(), None);
    }

    #[test]
    fn a_grace_period_said_while_streaming_holds_for_a_later_loss_and_is_capped() {
        let mut lifecycle = Lifecycle::new();
        assert_eq!(lifecycle.relay_said(suspended(u32::MAX)).unwrap(), None);
        let lost_at = Instant::now();
        assert_eq!(lifecycle.stream_ended(StreamEnd::Lost, lost_at), None);
        let capped = lost_at + MAX_SUSPENSION + RELAY_SLACK;
        assert_eq!(lifecycle.deadline(), Some(capped));
    }

    #[test]
    fn a_resumed_session_streams_again_and_keeps_the_relays_grace_for_the_next_loss() {
        let first = Instant::now();
        let mut lifecycle = lost(first);
        assert_eq!(lifecycle.relay_said(suspended(20)).unwrap(), None);
        lifecycle.resumed();
        assert_eq!(lifecycle.phase(), Phase::Streaming);
        assert_eq!(lifecycle.deadline(), None);
        let second = first + 60 * SEC;
        assert_eq!(lifecycle.stream_ended(StreamEnd::Lost, second), None);
        assert_eq!(lifecycle.deadline(), Some(second + 20 * SEC + RELAY_SLACK));
    }

    #[test]
    fn the_user_may_end_a_suspended_session() {
        let mut lifecycle = lost(Instant::now());
        assert_eq!(lifecycle.stopped(), USER_ENDED);
        assert_eq!(lifecycle.phase(), Phase::Over);
    }

    #[test]
    fn a_resume_that_broke_off_is_waited_past_and_a_refused_one_ends_the_session() {
        let mut lifecycle = lost(Instant::now());
        lifecycle.attempt_failed(timed_out().into()).unwrap();
        assert!(matches!(lifecycle.phase(), Phase::Suspended { .. }));
        let forged = TransportError::E2e(E2eError::ResumeRejected);
        let error = lifecycle.attempt_failed(forged.into()).unwrap_err();
        assert!(error.to_string().contains("failed end-to-end verification"));
        assert_eq!(lifecycle.phase(), Phase::Over);
        let mut lifecycle = lost(Instant::now());
        let bad_header = anyhow::anyhow!("forwarded stream has a bad header: None");
        assert!(lifecycle.attempt_failed(bad_header).is_err());
    }
}
