//! How a session ends: the reason the audit log records, what the sides that remain are told,
//! and how the end of a viewer's forwarding is told apart (it went away, or it broke the
//! protocol).

use std::time::Duration;

use quinn::ConnectionError;
use tether_proto::control::EndReason;

use crate::error::RelayError;

/// Why a session ended, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The agent closed its connection or vanished.
    AgentDisconnected,
    /// The viewer closed its connection or vanished.
    ViewerDisconnected,
    /// The relay shut down.
    RelayShutdown,
    /// The viewer broke the control protocol and was disconnected.
    ProtocolError,
    /// The viewer's connection was lost and it did not come back within the grace period.
    ViewerLost,
    /// The technician's certificate was revoked: the relay ended the session.
    TechnicianRevoked,
    /// The technician's certificate expired: the relay ended the session.
    TechnicianExpired,
}

impl SessionEnd {
    /// The reason as stored in the audit log.
    pub fn label(self) -> &'static str {
        match self {
            SessionEnd::AgentDisconnected => "agent_disconnected",
            SessionEnd::ViewerDisconnected => "viewer_disconnected",
            SessionEnd::RelayShutdown => "relay_shutdown",
            SessionEnd::ProtocolError => "protocol_error",
            SessionEnd::ViewerLost => "viewer_lost",
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

/// What the agent (or a viewer that comes back too late) is told about a session that ended
/// this way.
pub(crate) fn end_reason(end: SessionEnd) -> EndReason {
    match end {
        SessionEnd::AgentDisconnected => EndReason::AgentDisconnected,
        SessionEnd::RelayShutdown => EndReason::RelayShutdown,
        SessionEnd::ViewerDisconnected
        | SessionEnd::ViewerLost
        | SessionEnd::ProtocolError
        | SessionEnd::TechnicianRevoked
        | SessionEnd::TechnicianExpired => EndReason::ViewerDisconnected,
    }
}

/// How a technician's connection stopped carrying its leg of a session.
#[derive(Debug)]
pub(crate) enum LegEnd {
    /// The viewer left: it closed its control stream or its connection.
    Closed,
    /// The viewer's connection timed out or was reset: it did not choose to leave, and may
    /// come back with its resume ticket.
    Lost,
    /// The viewer broke the protocol.
    Violation(RelayError),
}

impl LegEnd {
    /// How forwarding that came to `outcome` (`Ok`: the viewer hung up) ended, on a connection
    /// now closed for `close_reason` (`None` while it is open).
    pub fn classify(
        outcome: Result<(), RelayError>,
        close_reason: Option<ConnectionError>,
    ) -> Self {
        match outcome {
            Err(e) if !e.is_disconnect() => LegEnd::Violation(e),
            _ if matches!(
                close_reason,
                Some(ConnectionError::TimedOut | ConnectionError::Reset)
            ) =>
            {
                LegEnd::Lost
            }
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
        let closed = LegEnd::classify(Ok(()), Some(ConnectionError::LocallyClosed));
        assert!(matches!(closed, LegEnd::Closed));
        let still_open = LegEnd::classify(Err(hung_up()), None);
        assert!(matches!(still_open, LegEnd::Closed));
        for lost in [ConnectionError::TimedOut, ConnectionError::Reset] {
            assert!(matches!(
                LegEnd::classify(Ok(()), Some(lost.clone())),
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
    fn the_agent_hears_of_a_viewer_that_left_whatever_the_audit_log_says() {
        for end in [
            SessionEnd::ViewerDisconnected,
            SessionEnd::ViewerLost,
            SessionEnd::ProtocolError,
            SessionEnd::TechnicianRevoked,
            SessionEnd::TechnicianExpired,
        ] {
            assert_eq!(end_reason(end), EndReason::ViewerDisconnected);
        }
        assert_eq!(
            end_reason(SessionEnd::AgentDisconnected),
            EndReason::AgentDisconnected
        );
        assert_eq!(
            end_reason(SessionEnd::RelayShutdown),
            EndReason::RelayShutdown
        );
    }
}
