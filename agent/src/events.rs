//! What the attended agent reports to whoever runs it, as it goes.

use std::time::Duration;

use tether_certs::Fingerprint;
use tether_proto::{session::Capabilities, SessionCode};

/// Progress the agent reports to whoever runs it (a terminal, the demo, a tray icon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// Connected to the relay, whose certificate has this fingerprint.
    Connected {
        /// The relay's verified fingerprint.
        fingerprint: Fingerprint,
        /// Whether the relay was trusted for the first time.
        first_use: bool,
    },
    /// A one-time code to show the user.
    Code {
        /// The code.
        code: SessionCode,
        /// Seconds until it expires.
        expires_in_secs: u32,
    },
    /// The code expired unused; a new one follows.
    CodeExpired,
    /// A viewer used the code but the session could not be secured (wrong code, tampering, or
    /// it gave up); the code is burnt and, below [`MAX_SPENT_CODES`](crate::MAX_SPENT_CODES),
    /// a new one follows.
    CodeBurned {
        /// Why, in words for the user.
        reason: String,
    },
    /// A session is live: the technician's key is confirmed and the user consented.
    SessionStarted {
        /// The relay's session id.
        session_id: u64,
        /// The technician's self-declared name.
        viewer: String,
        /// What the session may do.
        granted: Capabilities,
    },
    /// The user (or the policy) declined a technician.
    SessionDeclined {
        /// The technician's self-declared name.
        viewer: String,
    },
    /// The relay went away (or could not be reached) while the agent waited; it tries again
    /// after `retry_in`, and shows a new code once back.
    RelayLost {
        /// Why, in words for the user.
        reason: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
    /// The technician's connection was lost mid-session: the session is kept (its input
    /// released) while the relay waits for the technician to come back.
    ViewerLost,
    /// The technician came back and proved it is the same one: the session goes on.
    SessionResumed,
    /// The agent was stopped (Ctrl-C, SIGTERM) before a session began, and hung up.
    Stopped,
    /// The session is over.
    SessionEnded {
        /// Why, in words for the user.
        reason: String,
    },
}
