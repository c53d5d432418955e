//! Why the relay gives up on a client's connection: the one error type of connection handling.

use std::{error::Error as _, fmt::Debug};

use tether_transport::TransportError;
use tokio::time::error::Elapsed;

/// What ends a client's connection (or a session's forwarding) with an error. Each ends that
/// connection only; [`RelayError::is_disconnect`] tells a client that merely went away from
/// one that broke the protocol.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    /// The connection or one of its streams failed, or the client sent bytes that are no valid
    /// message.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The client did not do `what` in time.
    #[error("{what}")]
    Timeout {
        /// What the relay waited for, as the close reason says it (`no hello in time`).
        what: &'static str,
        /// The timer that ran out.
        #[source]
        elapsed: Elapsed,
    },
    /// The client sent something else than the only message allowed at this point.
    #[error("expected {expected}, got {got}")]
    Expected {
        /// The message the conversation allows.
        expected: &'static str,
        /// What came instead, as its `Debug` form.
        got: String,
    },
    /// The client sent a message its conversation does not allow at this point.
    #[error("unexpected {got} {when}")]
    Unexpected {
        /// The message, as its `Debug` form.
        got: String,
        /// At which point, as the close reason says it (`during a session`).
        when: &'static str,
    },
    /// A paired viewer opened more streams at once than a session may hold.
    #[error("opened more than {0} streams at once")]
    TooManyStreams(u32),
}

impl RelayError {
    /// `got` came where only `expected` may.
    pub fn expected(expected: &'static str, got: &impl Debug) -> Self {
        Self::Expected {
            expected,
            got: format!("{got:?}"),
        }
    }

    /// `got` came `when` no message may.
    pub fn unexpected(got: &impl Debug, when: &'static str) -> Self {
        Self::Unexpected {
            got: format!("{got:?}"),
            when,
        }
    }

    /// Whether the client (or its connection) simply went away, as opposed to misbehaving.
    pub fn is_disconnect(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_disconnect(),
            Self::Timeout { .. }
            | Self::Expected { .. }
            | Self::Unexpected { .. }
            | Self::TooManyStreams(_) => false,
        }
    }

    /// The error and its causes, as `error: cause: cause`: the reason a connection is closed
    /// with, and logged.
    pub fn report(&self) -> String {
        let mut report = self.to_string();
        let mut cause = self.source();
        while let Some(error) = cause {
            report.push_str(": ");
            report.push_str(&error.to_string());
            cause = error.source();
        }
        report
    }
}

impl From<quinn::ConnectionError> for RelayError {
    fn from(error: quinn::ConnectionError) -> Self {
        Self::Transport(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_report_names_each_cause_as_the_close_reason() {
        let elapsed = tokio::time::timeout(std::time::Duration::ZERO, std::future::pending::<()>())
            .await
            .unwrap_err();
        let error = RelayError::Timeout {
            what: "no hello in time",
            elapsed,
        };
        assert_eq!(error.report(), "no hello in time: deadline has elapsed");
        assert!(!error.is_disconnect());
    }

    #[test]
    fn only_a_peer_that_went_away_is_a_disconnect() {
        let closed = RelayError::from(quinn::ConnectionError::TimedOut);
        assert!(closed.is_disconnect());
        let flood = RelayError::TooManyStreams(16);
        assert_eq!(flood.report(), "opened more than 16 streams at once");
        assert!(!flood.is_disconnect());
        let early = RelayError::expected("hello", &None::<u8>);
        assert_eq!(early.report(), "expected hello, got None");
    }
}
