//! How a session ends: the reason the audit log records, what the sides that remain are told,
//! what each party may claim when it ends a session, and how the end of a viewer's forwarding
//! is told apart (it said why it left, went away without a word, was lost, or broke the
//! protocol).

use std::time::Duration;

use quinn::ConnectionError;
use tether_proto::control::{ClientMessage, EndReason};

use crate::error::RelayError;

/// Why a session ended, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The user ended the session at the agent: the agent said so before hanging up.
    UserEnded,
    /// The technician ended the session at the viewer: the viewer said so before hanging up.
    TechnicianEnded,
    /// The agent closed its connection without saying why.
    AgentDisconnected,
    /// The viewer closed its connection without saying why.
    ViewerDisconnected,
    /// The agent's connection was lost (timed out or reset): the user's network dropped.
    AgentLost,
    /// The viewer's connection was lost and it did not come back within the grace period
    /// (at once, when the relay keeps no session for lost viewers).
    ViewerLost,
    /// The relay shut down.
    RelayShutdown,
    /// The viewer broke the control protocol and was disconnected.
    ProtocolError,
    /// The technician's certificate was revoked: the relay ended the session.
    TechnicianRevoked,
    /// The technician's certificate expired: the relay ended the session.
    TechnicianExpired,
}

impl SessionEnd {
    /// The reason as stored in the audit log.
    pub fn label(self) -> &'static str {
        match self {
            SessionEnd::UserEnded => "user_ended",
            SessionEnd::TechnicianEnded => "technician_ended",
            SessionEnd::AgentDisconnected => "agent_disconnected",
            SessionEnd::ViewerDisconnected => "viewer_disconnected",
            SessionEnd::AgentLost => "agent_lost",
            SessionEnd::ViewerLost => "viewer_lost",
            SessionEnd::RelayShutdown => "relay_shutdown",
            SessionEnd::ProtocolError => "protocol_error",
            SessionEnd::TechnicianRevoked => "technician_revoked",
            SessionEnd::TechnicianExpired => "technician_expired",
        }
    }

    /// The end of a session whose forwarding came to `outcome`: its own end, or the viewer's
    /// error, which ends it as [`SessionEnd::ViewerDisconnected`] if the viewer merely went
    /// away and as [`SessionEnd::ProtocolError`] otherwise.
    pub(crate) fn of(outcome: &Result<SessionEnd, RelayError>) -> SessionEnd {
        match outcome {
            Ok(end) => *end,
            Err(e) if e.is_disconnect() => SessionEnd::ViewerDisconnected,
            Err(_) => SessionEnd::ProtocolError,
        }
    }

    /// The end as recorded: once the relay shuts down, it ends every session, so whatever
    /// else ended one meanwhile (the peers' connections close in any order), the session is
    /// recorded as ended by the shutdown.
    pub(crate) fn recorded(self, relay_shutting_down: bool) -> SessionEnd {
        if relay_shutting_down {
            SessionEnd::RelayShutdown
        } else {
            self
        }
    }
}

/// Whether a connection closed for `close_reason` was lost (timed out, or reset by the
/// network) rather than closed by either side.
pub(crate) fn is_lost(close_reason: Option<&ConnectionError>) -> bool {
    matches!(
        close_reason,
        Some(ConnectionError::TimedOut | ConnectionError::Reset)
    )
}

/// A side of a session, as it may claim to end the session with `Leaving { reason }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    /// The agent: its user ended the session.
    Agent,
    /// A viewer: its technician ended the session.
    Technician,
}

impl Party {
    /// The end this party claims with `Leaving { reason }`. Each may claim only its own
    /// reason (a viewer cannot say the user ended the session); anything else breaks the
    /// protocol.
    pub fn claim(self, reason: EndReason) -> Result<SessionEnd, RelayError> {
        match (self, reason) {
            (Party::Agent, EndReason::UserEnded) => Ok(SessionEnd::UserEnded),
            (Party::Technician, EndReason::TechnicianEnded) => Ok(SessionEnd::TechnicianEnded),
            (Party::Agent, _) => Err(RelayError::unexpected(
                &ClientMessage::Leaving { reason },
                "from an agent",
            )),
            (Party::Technician, _) => Err(RelayError::unexpected(
                &ClientMessage::Leaving { reason },
                "from a viewer",
            )),
        }
    }
}

/// What the agent (or a viewer that comes back too late) is told about a session that ended
/// this way: the same reason, except where only the technician's side is concerned (a broken
/// protocol, a certificate), which the agent hears of as the viewer having gone.
pub(crate) fn end_reason(end: SessionEnd) -> EndReason {
    match end {
        SessionEnd::UserEnded => EndReason::UserEnded,
        SessionEnd::TechnicianEnded => EndReason::TechnicianEnded,
        SessionEnd::AgentDisconnected => EndReason::AgentDisconnected,
        SessionEnd::AgentLost => EndReason::AgentLost,
        SessionEnd::ViewerLost => EndReason::ViewerLost,
        SessionEnd::RelayShutdown => EndReason::RelayShutdown,
        SessionEnd::ViewerDisconnected
        | SessionEnd::ProtocolError
        | SessionEnd::TechnicianRevoked
        | SessionEnd::TechnicianExpired => EndReason::ViewerDisconnected,
    }
}

/// How a technician's connection stopped carrying its leg of a session.
#[derive(Debug)]
pub(crate) enum LegEnd {
    /// The viewer said it leaves, and why ([`Party::claim`]): its technician ended the
    /// session.
    Left(SessionEnd),
    /// The viewer went away without a word: it closed its control stream or its connection.
    Closed,
    /// The viewer's connection timed out or was reset: it did not choose to leave, and may
    /// come back with its resume ticket.
    Lost,
    /// The viewer broke the protocol.
    Violation(RelayError),
}

impl LegEnd {
    /// How forwarding that came to `outcome` (`Ok(Some(end))`: the viewer said it leaves;
    /// `Ok(None)`: it hung up) ended, on a connection now closed for `close_reason` (`None`
    /// while it is open).
    pub fn classify(
        outcome: Result<Option<SessionEnd>, RelayError>,
        close_reason: Option<ConnectionError>,
    ) -> Self {
        match outcome {
            Ok(Some(end)) => LegEnd::Left(end),
            Err(e) if !e.is_disconnect() => LegEnd::Violation(e),
            _ if is_lost(close_reason.as_ref()) => LegEnd::Lost,
            _ => LegEnd::Closed,
        }
    }
}

/// A session's end as its audit row (`session_ended`) records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnded {
    /// The relay's session id.
    pub session_id: u64,
    /// Why it ended.
    pub end: SessionEnd,
    /// From pairing to end.
    pub duration: Duration,
    /// Bytes forwarded to the agent, from every technician of the session.
    pub bytes_to_agent: u64,
    /// Bytes forwarded from the agent, to every technician of the session.
    pub bytes_to_viewer: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_transport::TransportError;

    fn hung_up() -> RelayError {
        TransportError::from(ConnectionError::LocallyClosed).into()
    }

    #[test]
    fn a_viewer_that_went_away_is_told_from_one_that_broke_the_protocol() {
        let closed = LegEnd::classify(Ok(None), Some(ConnectionError::LocallyClosed));
        assert!(matches!(closed, LegEnd::Closed));
        let still_open = LegEnd::classify(Err(hung_up()), None);
        assert!(matches!(still_open, LegEnd::Closed));
        for lost in [ConnectionError::TimedOut, ConnectionError::Reset] {
            assert!(matches!(
                LegEnd::classify(Ok(None), Some(lost.clone())),
                LegEnd::Lost
            ));
            assert!(matches!(
                LegEnd::classify(Err(hung_up()), Some(lost)),
                LegEnd::Lost
            ));
        }
        let flood = LegEnd::classify(
            Err(RelayError::TooManyStreams(16)),
            Some(ConnectionError::TimedOut),
        );
        assert!(matches!(
            flood,
            LegEnd::Violation(RelayError::TooManyStreams(16))
        ));
    }

    #[test]
    fn a_viewer_that_said_why_it_leaves_left_for_that_reason_however_its_connection_ended() {
        let said = || Ok(Some(SessionEnd::TechnicianEnded));
        for close_reason in [None, Some(ConnectionError::TimedOut)] {
            assert!(matches!(
                LegEnd::classify(said(), close_reason),
                LegEnd::Left(SessionEnd::TechnicianEnded)
            ));
        }
    }

    #[test]
    fn each_party_may_claim_only_its_own_reason() {
        assert_eq!(
            Party::Agent.claim(EndReason::UserEnded).unwrap(),
            SessionEnd::UserEnded
        );
        assert_eq!(
            Party::Technician.claim(EndReason::TechnicianEnded).unwrap(),
            SessionEnd::TechnicianEnded
        );
        let forged = Party::Technician.claim(EndReason::UserEnded).unwrap_err();
        assert_eq!(
            forged.report(),
            "unexpected Leaving { reason: UserEnded } from a viewer"
        );
        assert!(!forged.is_disconnect());
        for reason in [
            EndReason::TechnicianEnded,
            EndReason::RelayShutdown,
            EndReason::AgentLost,
        ] {
            assert!(Party::Agent.claim(reason).is_err(), "{reason:?}");
        }
    }

    #[test]
    fn a_connection_is_lost_only_when_it_timed_out_or_was_reset() {
        assert!(is_lost(Some(&ConnectionError::TimedOut)));
        assert!(is_lost(Some(&ConnectionError::Reset)));
        assert!(!is_lost(Some(&ConnectionError::LocallyClosed)));
        assert!(!is_lost(None));
    }

    #[test]
    fn the_relays_shutdown_is_recorded_whatever_else_ended_the_session() {
        assert_eq!(
            SessionEnd::of(&Err(hung_up())),
            SessionEnd::ViewerDisconnected
        );
        let flood = SessionEnd::of(&Err(RelayError::TooManyStreams(16)));
        assert_eq!(flood, SessionEnd::ProtocolError);
        assert_eq!(flood.recorded(false), SessionEnd::ProtocolError);
        assert_eq!(flood.recorded(true), SessionEnd::RelayShutdown);
    }

    #[test]
    fn the_other_side_hears_the_same_reason_the_audit_log_records() {
        for (end, reason) in [
            (SessionEnd::UserEnded, EndReason::UserEnded),
            (SessionEnd::TechnicianEnded, EndReason::TechnicianEnded),
            (SessionEnd::AgentDisconnected, EndReason::AgentDisconnected),
            (
                SessionEnd::ViewerDisconnected,
                EndReason::ViewerDisconnected,
            ),
            (SessionEnd::AgentLost, EndReason::AgentLost),
            (SessionEnd::ViewerLost, EndReason::ViewerLost),
            (SessionEnd::RelayShutdown, EndReason::RelayShutdown),
        ] {
            assert_eq!(end_reason(end), reason);
        }
    }

    #[test]
    fn the_agent_hears_of_a_technician_cut_off_as_the_viewer_gone() {
        for end in [
            SessionEnd::ProtocolError,
            SessionEnd::TechnicianRevoked,
            SessionEnd::TechnicianExpired,
        ] {
            assert_eq!(end_reason(end), EndReason::ViewerDisconnected);
        }
    }
}
