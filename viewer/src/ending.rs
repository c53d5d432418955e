//! How the viewer reads the end of a session, decided without IO: the async code in
//! `join.rs`, `join_shell.rs` and `resume.rs` reports what it heard and in which order, and
//! these functions say what it means.
//!
//! Two channels can announce that a session is over: the agent on the session stream (its
//! user's no, its authenticated close, a handshake's abort, a program's exit status) and the
//! relay on the control stream (`Ended`, or the control stream itself breaking). The agent
//! speaks first but the relay's news can overtake it ([`tether_transport::race`]), so the
//! first to arrive is not always the one to believe:
//!
//! ```text
//! the relay's news first ─▶ the connection was lost ─────────────▶ Lost
//!   (RelaySpoke)           otherwise, the agent's word trailing
//!                          within Trailing::Answer: a no ────────▶ Failed(Declined)
//!                                                   else ────────▶ Failed(the news)
//! the stream ends first ─▶ the agent's close (its user ended it) ─▶ Failed(Ended(UserEnded))
//!   (StreamBroke)          a record failed to authenticate ───────▶ Failed(Insecure)
//!                          the connection was lost ───────────────▶ Lost
//!                          otherwise, the relay's reason trailing
//!                          within Trailing::RelayReason: Ended ───▶ Failed(Ended(reason))
//!                                                        else ────▶ Failed(what broke)
//! Lost, once admitted and holding a resume ticket ────────────────▶ take the session back
//! ```
//!
//! "Lost" means the connection to the relay timed out or was reset, not closed by either side:
//! only then does the relay keep the session for the viewer to take back.
//!
//! The agent's authenticated close means its user ended the session, whatever the relay says:
//! the relay cannot forge it. A stream that breaks without it is a transport loss. The
//! technician's own end is this side's: the viewer tells the relay (`Leaving`), then closes
//! its stream, which the agent reads as "the technician ended the session".

use anyhow::anyhow;
use tether_proto::{
    control::{EndReason, RelayMessage},
    session::AgentMessage,
};
use tether_shell::ShellError;
use tether_transport::{Raced, Trailing, TransportError};

use crate::{technician::ShellOutcome, ViewerError};

/// The relay's next word on the control stream, or how reading it failed.
pub(crate) type RelayWord = Result<Option<RelayMessage>, TransportError>;
/// The agent's next word on the session stream, or how reading it failed.
pub(crate) type AgentWord = Result<Option<AgentMessage>, TransportError>;

/// Why a session stream stopped before the viewing was done.
#[derive(Debug)]
pub(crate) enum Interrupted {
    /// The connection to the relay was lost: the session may be taken back.
    Lost(ViewerError),
    /// The session is over.
    Failed(ViewerError),
}

impl Interrupted {
    /// Whether to take the session back: only a lost one, which the agent admitted (it keeps
    /// only admitted sessions for a viewer that comes back) and the relay gave a resume ticket
    /// for. Returns why it was lost (to resume), or the error that ends the viewing.
    pub fn resumable(self, admitted: bool, ticket: bool) -> Result<ViewerError, ViewerError> {
        match self {
            Interrupted::Lost(error) if admitted && ticket => Ok(error),
            Interrupted::Lost(error) | Interrupted::Failed(error) => Err(error),
        }
    }

    /// A send on the session stream failed: lost with the connection (`lost`), or the
    /// session is over.
    pub fn broken(error: TransportError, lost: bool) -> Self {
        if error.is_disconnect() && lost {
            Interrupted::Lost(error.into())
        } else {
            Interrupted::Failed(error.into())
        }
    }
}

/// The relay spoke while the session stream was open, and the agent's answer (its user's no)
/// may trail it.
#[derive(Debug)]
pub(crate) struct RelaySpoke(RelayWord);

impl RelaySpoke {
    /// How long the agent's answer is waited for.
    pub const TRAILING: Trailing = Trailing::Answer;

    /// The relay's `word` came first; `lost` says whether the connection was lost. A control
    /// stream that broke with a lost connection is [`Interrupted::Lost`] at once.
    pub fn heard(word: RelayWord, lost: bool) -> Result<Self, Interrupted> {
        match word {
            Err(e) if e.is_disconnect() && lost => {
                Err(Interrupted::Lost(anyhow!("lost the relay: {e}").into()))
            }
            word => Ok(Self(word)),
        }
    }

    /// What the agent said within [`RelaySpoke::TRAILING`] (`None`: nothing, in time). A user
    /// who declines is answered and the agent hangs up at once: that answer may still be on its
    /// way when the relay reports the hang-up, and it is the one to report.
    pub fn settle(self, answer: Option<AgentWord>) -> Interrupted {
        match answer {
            Some(Ok(Some(AgentMessage::Declined))) => Interrupted::Failed(ViewerError::Declined),
            _ => Interrupted::Failed(relay_ended(self.0)),
        }
    }
}

/// The session stream ended or broke before the relay said anything, and the relay's reason
/// may trail it.
#[derive(Debug)]
pub(crate) struct StreamBroke(ViewerError);

impl StreamBroke {
    /// How long the relay's reason is waited for.
    pub const TRAILING: Trailing = Trailing::RelayReason;

    /// The session stream ended with `end` (`Ok`: the agent's authenticated close); `lost`
    /// says whether the connection was lost.
    pub fn heard(end: Result<(), TransportError>, lost: bool) -> Result<Self, Interrupted> {
        match end {
            // The agent's authenticated close: its user ended the session (exit 4).
            Ok(()) => Err(Interrupted::Failed(ViewerError::Ended(
                EndReason::UserEnded,
            ))),
            Err(e @ TransportError::E2e(_)) => Err(Interrupted::Failed(e.into())),
            Err(e) if e.is_disconnect() && lost => Err(Interrupted::Lost(e.into())),
            Err(e) => Ok(Self(e.into())),
        }
    }

    /// The stream broke with `error`, and only the relay may explain it.
    pub fn unexplained(error: ViewerError) -> Self {
        Self(error)
    }

    /// What the relay said within [`StreamBroke::TRAILING`] (`None`: nothing, in time). The
    /// relay usually says why at the same moment (e.g. the agent vanished), and that reason
    /// is the one worth reporting.
    pub fn settle(self, reason: Option<RelayWord>) -> ViewerError {
        match reason {
            Some(Ok(Some(RelayMessage::Ended { reason }))) => ViewerError::Ended(reason),
            _ => self.0,
        }
    }
}

/// The relay spoke (or vanished) on the control stream during the session.
pub(crate) fn relay_ended(word: RelayWord) -> ViewerError {
    match word {
        Ok(Some(RelayMessage::Ended { reason })) => ViewerError::Ended(reason),
        Ok(other) => anyhow!("unexpected message from the relay: {other:?}").into(),
        Err(e) => anyhow!("lost the relay: {e}").into(),
    }
}

/// The end-to-end handshake against the relay's news (raced within [`Trailing::Outcome`]):
/// an agent that rejects the key aborts the handshake and hangs up at once, and its reason,
/// racing the relay's news, is the one worth reporting. `Ok` is the handshake's own result.
pub(crate) fn handshake_or_news<S>(
    raced: Raced<Result<S, TransportError>, RelayWord>,
) -> Result<Result<S, TransportError>, ViewerError> {
    match raced {
        Raced::Word(secured) => Ok(secured),
        Raced::News {
            trailing: Some(refused @ Err(TransportError::E2e(_))),
            ..
        } => Ok(refused),
        Raced::News { news, .. } => Err(relay_ended(news)),
    }
}

/// The agent's answer to a hello against the relay's news (raced within
/// [`Trailing::Answer`]): the agent hangs up right after saying no, and its answer may trail
/// the relay's news.
pub(crate) fn answer_or_news(
    raced: Raced<AgentWord, RelayWord>,
) -> Result<Option<AgentMessage>, ViewerError> {
    match raced {
        Raced::Word(answer) => Ok(answer?),
        Raced::News {
            trailing: Some(Ok(answer @ Some(AgentMessage::Declined))),
            ..
        } => Ok(answer),
        Raced::News { news, .. } => Err(relay_ended(news)),
    }
}

/// A shell's outcome against the relay's news (raced within [`Trailing::Outcome`]): an agent
/// hangs up once the program's exit status (or its user's close) is out, and that, still
/// crossing the relay, may trail the relay's news of it. `Ok` is the shell's own outcome.
pub(crate) fn outcome_or_news(
    raced: Raced<Result<ShellOutcome, ShellError>, RelayWord>,
) -> Result<Result<ShellOutcome, ShellError>, ViewerError> {
    match raced {
        Raced::Word(outcome) => Ok(outcome),
        Raced::News {
            trailing: Some(outcome @ (Ok(_) | Err(ShellError::Closed))),
            ..
        } => Ok(outcome),
        Raced::News { news, .. } => Err(relay_ended(news)),
    }
}

#[cfg(test)]
mod tests {
    use tether_e2e::E2eError;
    use tether_proto::{session::FrameTiming, shell::ExitStatus};

    use super::*;

    fn ended(reason: EndReason) -> RelayWord {
        Ok(Some(RelayMessage::Ended { reason }))
    }

    fn declined() -> AgentWord {
        Ok(Some(AgentMessage::Declined))
    }

    fn timed_out() -> TransportError {
        TransportError::Connection(quinn::ConnectionError::TimedOut)
    }

    fn tampered() -> TransportError {
        TransportError::E2e(E2eError::RecordRejected { seq: 7 })
    }

    fn status(code: u32) -> ExitStatus {
        ExitStatus { code, signal: None }
    }

    #[test]
    fn a_no_that_trails_the_relays_ended_is_the_answer() {
        let spoke = RelaySpoke::heard(ended(EndReason::AgentDisconnected), false).unwrap();
        let interrupted = spoke.settle(Some(declined()));
        assert!(matches!(
            interrupted,
            Interrupted::Failed(ViewerError::Declined)
        ));
    }

    #[test]
    fn the_relays_ended_stands_when_no_answer_trails_it() {
        let late_frame = Ok(Some(AgentMessage::Timing(FrameTiming {
            seq: 1,
            captured_at_us: 0,
            capture_us: 0,
            encode_us: 0,
        })));
        for answer in [
            None,
            Some(Ok(None)),
            Some(Err(timed_out())),
            Some(late_frame),
        ] {
            let spoke = RelaySpoke::heard(ended(EndReason::AgentDisconnected), false).unwrap();
            let interrupted = spoke.settle(answer);
            assert!(
                matches!(
                    interrupted,
                    Interrupted::Failed(ViewerError::Ended(EndReason::AgentDisconnected))
                ),
                "{interrupted:?}"
            );
        }
    }

    #[test]
    fn the_users_end_reads_the_same_whether_the_relay_or_the_agents_close_comes_first() {
        // The relay first, the agent's close trailing it.
        let spoke = RelaySpoke::heard(ended(EndReason::UserEnded), false).unwrap();
        let Interrupted::Failed(relay_first) = spoke.settle(Some(Ok(None))) else {
            panic!("the session is over");
        };
        // The agent's close first.
        let Err(Interrupted::Failed(close_first)) = StreamBroke::heard(Ok(()), false) else {
            panic!("the session is over");
        };
        assert_eq!(relay_first.to_string(), close_first.to_string());
        assert_eq!(relay_first.exit_code(), close_first.exit_code());
    }

    #[test]
    fn a_control_stream_lost_with_the_connection_is_lost_at_once() {
        let lost = RelaySpoke::heard(Err(timed_out()), true).unwrap_err();
        assert!(matches!(lost, Interrupted::Lost(_)), "{lost:?}");
        // Closed rather than lost: the relay hung up, and the session is over.
        let closed = RelaySpoke::heard(Err(timed_out()), false).unwrap();
        let interrupted = closed.settle(None);
        let Interrupted::Failed(ViewerError::Other(error)) = interrupted else {
            panic!("{interrupted:?}");
        };
        assert!(error.to_string().starts_with("lost the relay"));
    }

    #[test]
    fn the_agents_close_means_its_user_ended_the_session() {
        for lost in [false, true] {
            let closed = StreamBroke::heard(Ok(()), lost).unwrap_err();
            let Interrupted::Failed(error) = closed else {
                panic!("{closed:?}");
            };
            assert!(matches!(error, ViewerError::Ended(EndReason::UserEnded)));
            assert_eq!(
                error.to_string(),
                "session ended: the user ended the session"
            );
        }
    }

    #[test]
    fn a_disconnect_is_lost_only_with_the_connection() {
        let lost = StreamBroke::heard(Err(timed_out()), true).unwrap_err();
        assert!(matches!(lost, Interrupted::Lost(_)), "{lost:?}");
        // The agent's side went away but this connection is fine: the relay says why.
        let broke = StreamBroke::heard(Err(timed_out()), false).unwrap();
        let reason = broke.settle(Some(ended(EndReason::AgentDisconnected)));
        assert!(matches!(
            reason,
            ViewerError::Ended(EndReason::AgentDisconnected)
        ));
    }

    #[test]
    fn a_tampered_stream_is_insecure_whatever_the_connection() {
        for lost in [false, true] {
            let insecure = StreamBroke::heard(Err(tampered()), lost).unwrap_err();
            assert!(
                matches!(insecure, Interrupted::Failed(ViewerError::Insecure(_))),
                "{insecure:?}"
            );
        }
    }

    #[test]
    fn a_break_the_relay_does_not_explain_keeps_its_own_error() {
        let broke = StreamBroke::unexplained(anyhow!("the stream broke while resuming").into());
        let error = broke.settle(Some(Ok(Some(RelayMessage::Resumed))));
        assert_eq!(error.to_string(), "the stream broke while resuming");
        let broke = StreamBroke::unexplained(anyhow!("the stream broke").into());
        assert_eq!(broke.settle(None).to_string(), "the stream broke");
    }

    #[test]
    fn only_a_lost_admitted_session_with_a_ticket_is_taken_back() {
        let lost = || Interrupted::Lost(anyhow!("timed out").into());
        assert!(lost().resumable(true, true).is_ok());
        assert!(lost().resumable(false, true).is_err());
        assert!(lost().resumable(true, false).is_err());
        let failed = Interrupted::Failed(ViewerError::Declined);
        assert!(matches!(
            failed.resumable(true, true),
            Err(ViewerError::Declined)
        ));
    }

    #[test]
    fn a_failed_send_is_lost_only_with_the_connection() {
        let lost = Interrupted::broken(timed_out(), true);
        assert!(matches!(lost, Interrupted::Lost(_)));
        let failed = Interrupted::broken(timed_out(), false);
        assert!(matches!(failed, Interrupted::Failed(_)));
        let insecure = Interrupted::broken(tampered(), true);
        assert!(matches!(
            insecure,
            Interrupted::Failed(ViewerError::Insecure(_))
        ));
    }

    #[test]
    fn an_aborted_handshake_that_trails_the_relays_news_is_the_reason() {
        let refused = Err(TransportError::E2e(E2eError::ConfirmationFailed));
        let raced = Raced::<Result<(), _>, _>::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: Some(refused),
        };
        assert!(matches!(
            handshake_or_news(raced),
            Ok(Err(TransportError::E2e(E2eError::ConfirmationFailed)))
        ));
        // A handshake that completes after the agent hung up is no use: the news stands.
        let raced = Raced::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: Some(Ok(())),
        };
        assert!(matches!(
            handshake_or_news(raced),
            Err(ViewerError::Ended(EndReason::AgentDisconnected))
        ));
        let raced = Raced::News {
            news: ended(EndReason::RelayShutdown),
            trailing: Some(Err::<(), _>(timed_out())),
        };
        assert!(matches!(
            handshake_or_news(raced),
            Err(ViewerError::Ended(EndReason::RelayShutdown))
        ));
        assert!(matches!(
            handshake_or_news(Raced::<_, RelayWord>::Word(Ok(()))),
            Ok(Ok(()))
        ));
    }

    #[test]
    fn a_shells_no_that_trails_the_relays_news_is_the_answer() {
        let raced = Raced::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: Some(declined()),
        };
        assert!(matches!(
            answer_or_news(raced),
            Ok(Some(AgentMessage::Declined))
        ));
        let raced = Raced::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: None,
        };
        assert!(matches!(
            answer_or_news(raced),
            Err(ViewerError::Ended(EndReason::AgentDisconnected))
        ));
        let first = Raced::<AgentWord, RelayWord>::Word(Err(tampered()));
        assert!(matches!(
            answer_or_news(first),
            Err(ViewerError::Insecure(_))
        ));
    }

    #[test]
    fn a_programs_exit_status_that_trails_the_relays_news_wins() {
        let raced = Raced::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: Some(Ok(ShellOutcome::Exited(status(5)))),
        };
        let Ok(Ok(ShellOutcome::Exited(exited))) = outcome_or_news(raced) else {
            panic!("the exit status should win");
        };
        assert_eq!(exited.code, 5);
        // The agent's close (its user ended the session) trails the news the same way.
        let raced = Raced::News {
            news: ended(EndReason::AgentDisconnected),
            trailing: Some(Err(ShellError::Closed)),
        };
        assert!(matches!(
            outcome_or_news(raced),
            Ok(Err(ShellError::Closed))
        ));
    }

    #[test]
    fn a_shell_cut_off_by_the_relays_news_reports_the_news() {
        let cut_off = [
            None,
            Some(Err(ShellError::Transport(timed_out()))),
            Some(Err(ShellError::Protocol("garbage".to_owned()))),
        ];
        for trailing in cut_off {
            let raced = Raced::News {
                news: ended(EndReason::RelayShutdown),
                trailing,
            };
            assert!(matches!(
                outcome_or_news(raced),
                Err(ViewerError::Ended(EndReason::RelayShutdown))
            ));
        }
    }
}
