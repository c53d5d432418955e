//! How a viewing ended ([`Viewing`]): what it received, and whether the technician's side ended
//! it ([`Finished`]) or why else it ended.

use crate::{ViewOutcome, ViewerError};

/// How a viewing ended when nothing went wrong: the technician's side ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The number of updates asked for arrived.
    FramesReceived,
    /// The technician ended the session (`stop`), or stopped before it began.
    Stopped,
}

/// A viewing's end: what it received, and how it ended (an error says why it ended otherwise:
/// from the other side, declined, lost, not secure, or failed).
#[derive(Debug)]
pub struct Viewing {
    /// What was received.
    pub outcome: ViewOutcome,
    /// How it ended.
    pub ended: Result<Finished, ViewerError>,
}

impl Viewing {
    /// What was received, if the viewing ended as the technician's side asked; else why not.
    pub fn into_result(self) -> Result<ViewOutcome, ViewerError> {
        self.ended.map(|_| self.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewing_is_a_result_only_when_the_technicians_side_ended_it() {
        let stopped = Viewing {
            outcome: ViewOutcome::default(),
            ended: Ok(Finished::Stopped),
        };
        assert_eq!(stopped.into_result().unwrap().frames, 0);
        let declined = Viewing {
            outcome: ViewOutcome::default(),
            ended: Err(ViewerError::Declined),
        };
        assert!(matches!(declined.into_result(), Err(ViewerError::Declined)));
    }
}
