//! Applying input events to a real display.

use thiserror::Error;

use crate::ValidEvent;

/// Something that applies input events to a display and can let go of everything it holds.
pub trait Injector {
    /// Applies one event. A release of a key or button this injector does not hold is
    /// skipped, so the remote's own user's keys are never released from afar.
    fn apply(&mut self, event: &ValidEvent) -> Result<(), InjectError>;

    /// Releases every key and button this injector holds (at a session's end). Every release
    /// is attempted even when one fails; the first failure is returned.
    fn release_all(&mut self) -> Result<(), InjectError>;
}

/// Why an injector could not be opened or could not apply an event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InjectError {
    /// No display name was given (`DISPLAY` unset or empty).
    #[error("no X display to inject input into: DISPLAY is unset or empty")]
    NoDisplay,
    /// The display could not be opened or lacks what injection needs.
    #[error("cannot inject input into X display {display:?}: {reason}")]
    Open {
        /// The display name, e.g. `:0`.
        display: String,
        /// What went wrong.
        reason: String,
    },
    /// The display refused an event.
    #[error("injecting a {what} failed: {reason}")]
    Inject {
        /// The kind of event (`"key"`, `"text"`…); text itself is never repeated in errors.
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
}
