//! The relay's session model, which every side of the relay uses and which uses none of them:
//! who takes part in a session, how a session ends and what each side is told then, and what
//! connection tasks hand each other.
//!
//! A session joins one agent leg (the agent's connection) with a list of technician legs (the
//! viewers, each named by a [`LegId`]), each with its own connection, forwarding and byte
//! tally. An attended session admits one technician today; a technician's session with an
//! enrolled machine always has one.
//!
//! # Who ended a session, and why
//!
//! One reason per session, the same on the agent's screen, in the viewer's output and in the
//! audit row ([`SessionEnd`], told to the clients as [`EndReason`](tether_proto::control::EndReason)):
//! the user ended it, the technician ended it, a side's network dropped, the relay shut down,
//! the technician's certificate was revoked or expired. The relay cannot see what the two
//! sides say to each other, and a hang-up alone does not say who chose it: the side that was
//! told the session is over hangs up too, sometimes before the side that ended it. So the side
//! that ends a session says so twice, first to the relay and then end to end:
//!
//! 1. on its control stream, `Leaving { reason }` ([`Party::claim`] accepts only the party's
//!    own reason: `UserEnded` from the agent, `TechnicianEnded` from a viewer). The relay
//!    records it as that party's claim, as it records an agent's auto-accept: what a client
//!    says of itself, bounded and checked, not proof. The claim ends the session at once,
//!    for that reason, and the other side is told the same `Ended { reason }`;
//! 2. on its session stream, its authenticated close: from the agent it means "the user
//!    ended the session", from the viewer "the technician ended the session", which the other
//!    side believes whatever the relay says, since the relay cannot forge it. A stream that
//!    breaks without that close is a transport loss, not anyone's choice;
//! 3. then it hangs up.
//!
//! What the relay observes on its own fills in the rest: a connection that timed out or was
//! reset is the network's doing (`agent_lost`, or `viewer_lost` once a technician's grace
//! period passed), a shutdown is its own, a certificate's end is the organisation's. A
//! connection closed without a claim is a party that went without a word, believed only once
//! the other party's claim had [`Trailing::Claim`](tether_transport::Trailing::Claim) to
//! arrive, since the hang-up it causes can overtake it ([`lifecycle`]'s decisions). Each
//! client applies the same rules to what it hears: its own choice first, then the other's
//! close, then the relay's reason.
//!
//! - [`end`]: [`SessionEnd`] as the audit log records it, what the agent and late viewers are
//!   told ([`end_reason`]), what a party may claim ([`Party`]), how a viewer's forwarding
//!   ended ([`LegEnd`]), and the `session_ended` row ([`SessionEnded`]).
//! - [`lifecycle`]: an attended session's decisions, as a state machine ([`Lifecycle`]): when
//!   it ends and why, who is told what, when a lost technician may come back.
//! - [`presence`]: what the agent's side learns about the technicians ([`Presence`]) and tells
//!   the agent ([`AgentNotice`]).
//! - [`handover`]: the connections and messages passed between tasks.

mod end;
mod handover;
mod lifecycle;
mod presence;

use std::{net::SocketAddr, time::Duration};

pub(crate) use end::{end_reason, is_lost, LegEnd, Party};
pub use end::{SessionEnd, SessionEnded};
pub(crate) use handover::{
    farewell, resumable, Attachment, Farewell, Pairing, SessionLink, ViewerArrived, WaitingAgent,
};
pub(crate) use lifecycle::{Decision, Ending, Event, Lifecycle, Timer};
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
