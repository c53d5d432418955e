//! The relay's session model, which every side of the relay uses and which uses none of them:
//! who takes part in a session, how a session ends and what each side is told then, and what
//! connection tasks hand each other.
//!
//! A session joins one agent leg (the agent's connection) with a list of technician legs (the
//! viewers, each named by a [`LegId`]), each with its own connection, forwarding and byte
//! tally. An attended session admits one technician today; a technician's session with an
//! enrolled machine always has one.
//!
//! - [`end`]: [`SessionEnd`] as the audit log records it, what the agent and late viewers are
//!   told ([`end_reason`]), how a viewer's forwarding ended ([`LegEnd`]), and the
//!   `session_ended` row ([`SessionEnded`]).
//! - [`lifecycle`]: an attended session's decisions, as a state machine ([`Lifecycle`]): when
//!   it ends, who is told what, when a lost technician may come back.
//! - [`presence`]: what the agent's side learns about the technicians ([`Presence`]) and tells
//!   the agent ([`AgentNotice`]).
//! - [`handover`]: the connections and messages passed between tasks.

mod end;
mod handover;
mod lifecycle;
mod presence;

use std::{net::SocketAddr, time::Duration};

pub(crate) use end::{end_reason, LegEnd};
pub use end::{SessionEnd, SessionEnded};
pub(crate) use handover::{
    farewell, resumable, Attachment, Farewell, Pairing, SessionLink, ViewerArrived, WaitingAgent,
};
pub(crate) use lifecycle::{Decision, Ending, Event, Lifecycle};
pub(crate) use presence::{AgentNotice, Presence};

/// One side of a session as the relay sees it: where it connects from and the name it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The client's self-declared name.
    pub name: String,
}

/// One technician leg of a session, named within its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LegId(u32);

impl LegId {
    /// The leg of the technician who joined first (today, the only one).
    pub const FIRST: LegId = LegId(0);
}

/// A grace period in whole seconds, as the protocol states it.
pub(crate) fn grace_secs(grace: Duration) -> u32 {
    u32::try_from(grace.as_secs()).unwrap_or(u32::MAX)
}
