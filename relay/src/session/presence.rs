//! What the agent's side of the relay learns about a session's technicians, and what it tells
//! the agent in turn.

use tether_proto::control::EndReason;

use super::{end_reason, LegId, SessionEnd};

/// The latest change among a session's technicians, as the session's task publishes it and the
/// agent's side of the relay follows it. Each change names its technician leg, so the agent's
/// side can tell one technician's blip from another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// A connection carries the leg: the technician joined, or came back.
    Attached(LegId),
    /// The leg's connection was lost; the technician may come back within `grace_secs`.
    Suspended {
        /// The leg.
        leg: LegId,
        /// How long the session waits for it.
        grace_secs: u32,
    },
    /// The session is over.
    Ended(SessionEnd),
}

/// What the agent's side of the relay does about a [`Presence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentNotice {
    /// Nothing: a technician being attached is the agent's own business, end to end.
    Nothing,
    /// Tell the agent `Suspended { grace_secs }`: keep the session for a technician who may
    /// come back.
    Suspended {
        /// How long the relay keeps the session.
        grace_secs: u32,
    },
    /// Tell the agent `Ended { reason }`; it may then ask for another code.
    Ended(EndReason),
    /// Tell the agent the relay is shutting down, and let it go.
    RelayShutdown,
}

impl Presence {
    /// What the agent is told about this change.
    pub fn agent_notice(self) -> AgentNotice {
        match self {
            Presence::Attached(_) => AgentNotice::Nothing,
            Presence::Suspended { grace_secs, .. } => AgentNotice::Suspended { grace_secs },
            Presence::Ended(SessionEnd::RelayShutdown) => AgentNotice::RelayShutdown,
            Presence::Ended(end) => AgentNotice::Ended(end_reason(end)),
        }
    }

    /// Why a session is over, for a resuming connection that reached its task only after
    /// the task had stopped taking connections: the session's end if it was published, and
    /// otherwise (the task is gone without a word) that its viewer left.
    pub fn too_late(self) -> EndReason {
        match self {
            Presence::Ended(end) => end_reason(end),
            Presence::Attached(_) | Presence::Suspended { .. } => EndReason::ViewerDisconnected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_hears_of_suspensions_and_ends_but_not_of_attachments() {
        let leg = LegId::FIRST;
        assert_eq!(Presence::Attached(leg).agent_notice(), AgentNotice::Nothing);
        let suspended = Presence::Suspended {
            leg,
            grace_secs: 30,
        };
        assert_eq!(
            suspended.agent_notice(),
            AgentNotice::Suspended { grace_secs: 30 }
        );
        assert_eq!(
            Presence::Ended(SessionEnd::ViewerLost).agent_notice(),
            AgentNotice::Ended(EndReason::ViewerLost)
        );
        assert_eq!(
            Presence::Ended(SessionEnd::RelayShutdown).agent_notice(),
            AgentNotice::RelayShutdown
        );
    }

    #[test]
    fn a_viewer_too_late_is_told_why_the_session_ended() {
        assert_eq!(
            Presence::Ended(SessionEnd::AgentDisconnected).too_late(),
            EndReason::AgentDisconnected
        );
        assert_eq!(
            Presence::Attached(LegId::FIRST).too_late(),
            EndReason::ViewerDisconnected
        );
    }
}
