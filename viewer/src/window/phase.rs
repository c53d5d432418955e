//! What the console knows of the session: where joining stands, the digits to compare, what
//! the user granted, and how it ended. Fed the join's milestones; decides which overlay the
//! window shows. No windowing here.

use tether_proto::session::Capabilities;

use crate::JoinEvent;

/// Where the session stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// Reaching the relay and asking it for the agent behind the code.
    #[default]
    Connecting,
    /// Paired with the agent; keying the session end to end.
    Securing,
    /// Keyed; the user is being asked and sees the same digits.
    WaitingForUser,
    /// Admitted: the picture flows.
    Live,
    /// The connection was lost; the viewer is taking the session back.
    Paused,
    /// The user said no (in words, for the title).
    Declined(String),
    /// Over, for the reason given (e.g. "session ended: the agent disconnected").
    Ended(String),
}

/// How a session ended, as the window is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The user declined, in words.
    Declined(String),
    /// Any other end, in words.
    Reason(String),
}

/// The session as the console shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionState {
    /// Where it stands.
    pub phase: Phase,
    /// The agent's name, once paired.
    pub agent: Option<String>,
    /// The six security digits ("123 456"), once keyed.
    pub digits: Option<String>,
    /// What the user granted, once admitted.
    pub granted: Option<Capabilities>,
}

/// What covers the picture area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlay {
    /// Connecting to the relay.
    Connecting,
    /// Securing the session with the agent.
    Securing,
    /// Waiting for the user to accept, with the digits to compare.
    WaitingForUser,
    /// Admitted, the first picture not there yet.
    FirstPicture,
    /// Reconnecting, over the last picture.
    Paused,
    /// The user declined.
    Declined,
    /// The session is over.
    Ended,
}

impl SessionState {
    /// Takes in one of the join's milestones.
    pub fn apply(&mut self, event: JoinEvent) {
        if self.is_over() {
            return;
        }
        match event {
            JoinEvent::Paired { agent } => {
                self.agent = Some(agent);
                self.phase = Phase::Securing;
            }
            JoinEvent::Secured { sas } => {
                self.digits = Some(sas.to_string());
                self.phase = Phase::WaitingForUser;
            }
            JoinEvent::Admitted { granted } => {
                self.granted = Some(granted);
                self.phase = Phase::Live;
            }
            JoinEvent::ConnectionLost => self.phase = Phase::Paused,
            JoinEvent::Resumed { .. } => self.phase = Phase::Live,
        }
    }

    /// The session is over; the first end told is the one kept.
    pub fn end(&mut self, end: End) {
        if self.is_over() {
            return;
        }
        self.phase = match end {
            End::Declined(reason) => Phase::Declined(reason),
            End::Reason(reason) => Phase::Ended(reason),
        };
    }

    /// Whether the session is over.
    pub fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Declined(_) | Phase::Ended(_))
    }

    /// Why the session is over, in words, once it is.
    pub fn end_reason(&self) -> Option<&str> {
        match &self.phase {
            Phase::Declined(reason) | Phase::Ended(reason) => Some(reason),
            _ => None,
        }
    }

    /// Whether the technician's mouse and keyboard go to the remote screen now.
    pub fn controls(&self) -> bool {
        self.phase == Phase::Live && self.granted.is_some_and(|granted| granted.control)
    }

    /// What covers the picture area: `has_picture` tells whether one was received, and
    /// `covers_the_end` whether the end is shown over it (a console) or left to the title (a
    /// bare mirror window, whose last picture stays as it is).
    pub fn overlay(&self, has_picture: bool, covers_the_end: bool) -> Option<Overlay> {
        match self.phase {
            Phase::Connecting => Some(Overlay::Connecting),
            Phase::Securing => Some(Overlay::Securing),
            Phase::WaitingForUser => Some(Overlay::WaitingForUser),
            Phase::Live if has_picture => None,
            Phase::Live => Some(Overlay::FirstPicture),
            Phase::Paused => Some(Overlay::Paused),
            Phase::Declined(_) | Phase::Ended(_) if has_picture && !covers_the_end => None,
            Phase::Declined(_) => Some(Overlay::Declined),
            Phase::Ended(_) => Some(Overlay::Ended),
        }
    }

    /// A few words for the toolbar: "connecting", "waiting for the user", "view + control"...
    pub fn summary(&self) -> String {
        match &self.phase {
            Phase::Connecting => "connecting".to_owned(),
            Phase::Securing => "securing".to_owned(),
            Phase::WaitingForUser => "waiting for the user".to_owned(),
            Phase::Live => match self.granted {
                Some(granted) => granted.to_string(),
                None => "live".to_owned(),
            },
            Phase::Paused => "reconnecting".to_owned(),
            Phase::Declined(_) => "declined".to_owned(),
            Phase::Ended(_) => "ended".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_milestones_walk_the_phases_and_the_overlays() {
        let mut state = SessionState::default();
        assert_eq!(state.overlay(false, true), Some(Overlay::Connecting));
        state.apply(JoinEvent::Paired {
            agent: "desk-7".to_owned(),
        });
        assert_eq!(state.phase, Phase::Securing);
        assert_eq!(state.agent.as_deref(), Some("desk-7"));
        assert_eq!(state.overlay(false, true), Some(Overlay::Securing));
        state.phase = Phase::WaitingForUser;
        state.digits = Some("123 456".to_owned());
        assert_eq!(state.overlay(false, true), Some(Overlay::WaitingForUser));
        assert!(!state.controls());
        state.apply(JoinEvent::Admitted {
            granted: Capabilities::VIEW_AND_CONTROL,
        });
        assert!(state.controls());
        assert_eq!(state.summary(), "view + control");
        assert_eq!(state.overlay(false, true), Some(Overlay::FirstPicture));
        assert_eq!(state.overlay(true, true), None);
        state.apply(JoinEvent::ConnectionLost);
        assert!(!state.controls(), "no input while paused");
        assert_eq!(state.overlay(true, true), Some(Overlay::Paused));
        state.apply(JoinEvent::Resumed {
            after: Duration::from_millis(40),
        });
        assert!(state.controls());
        state.end(End::Reason(
            "session ended: the agent disconnected".to_owned(),
        ));
        assert!(!state.controls());
        assert_eq!(state.overlay(true, true), Some(Overlay::Ended));
        assert_eq!(
            state.overlay(true, false),
            None,
            "a mirror keeps its picture"
        );
        assert_eq!(state.overlay(false, false), Some(Overlay::Ended));
    }

    #[test]
    fn the_first_end_stays() {
        let mut state = SessionState::default();
        state.end(End::Declined("the user declined the session".to_owned()));
        state.end(End::Reason("later".to_owned()));
        state.apply(JoinEvent::Admitted {
            granted: Capabilities::VIEW_AND_CONTROL,
        });
        assert_eq!(state.end_reason(), Some("the user declined the session"));
        assert_eq!(state.overlay(false, true), Some(Overlay::Declined));
        assert_eq!(state.summary(), "declined");
    }

    #[test]
    fn view_only_never_controls() {
        let mut state = SessionState::default();
        state.apply(JoinEvent::Admitted {
            granted: Capabilities::VIEW_ONLY,
        });
        assert_eq!(state.phase, Phase::Live);
        assert!(!state.controls());
        assert_eq!(state.summary(), "view");
    }
}
