//! What connection tasks and a session's task hand each other. Each connection's own task
//! owns its connection's ending (and its slot and gauges); the session, which outlives the
//! connections that carry it, borrows them:
//!
//! - an agent waits in the registry as a [`WaitingAgent`], and learns of its viewer as a
//!   [`ViewerArrived`] holding the session's [`Presence`], and where to pass on the agent's
//!   claim when it says it leaves;
//! - a viewer's join, once paired with its agent, is a [`Pairing`], which its attended session
//!   starts from;
//! - a viewer connection goes to the session's task as an [`Attachment`] (through its
//!   [`SessionLink`] when it resumes), and comes back as [`Detached`], with its [`Farewell`].

use std::time::{Duration, Instant};

use quinn::Connection;
use tether_proto::control::{EndReason, RelayMessage, ResumeTicket};
use tokio::sync::{mpsc, oneshot, watch};

use super::{grace_secs, LegId, Peer, Presence, SessionEnd};
use crate::{
    control::{Control, CLOSE_OK},
    error::RelayError,
};

/// What the registry holds for an agent waiting with a code.
pub(crate) struct WaitingAgent {
    pub name: String,
    pub connection: Connection,
    pub pair: oneshot::Sender<ViewerArrived>,
}

/// Handed from the viewer's task to the agent's when a code is claimed.
pub(crate) struct ViewerArrived {
    pub session_id: u64,
    pub name: String,
    /// The session's technicians, as its task follows them.
    pub presence: watch::Receiver<Presence>,
    /// Where the agent's claim goes when it says it leaves (checked: [`super::Party::Agent`]).
    pub leaving: mpsc::Sender<SessionEnd>,
}

/// A viewer paired with the agent that waited under its code: what its attended session
/// starts from.
pub(crate) struct Pairing {
    pub session_id: u64,
    pub agent: Peer,
    pub agent_connection: Connection,
    pub viewer: Peer,
    /// The viewer's control stream.
    pub control: Control,
    /// When the viewer asked to join.
    pub received: Instant,
    /// How a resuming connection reaches the session.
    pub link: SessionLink,
    /// The ends of `link` the session's task keeps.
    pub inbox: SessionInbox,
    /// The agent's claim, when it says it leaves.
    pub agent_leaving: mpsc::Receiver<SessionEnd>,
}

/// A viewer connection handed to a session's task.
pub(crate) struct Attachment {
    /// The technician leg it carries.
    pub leg: LegId,
    /// The viewer's connection.
    pub connection: Connection,
    /// Its control stream.
    pub control: Control,
    /// For a resuming connection, the next ticket: the session says `Resumed` and hands it
    /// over when it takes the connection. (A joining viewer was greeted by its own task.)
    pub resumed_with: Option<ResumeTicket>,
    /// Where the session's task gives the connection back.
    pub detached: oneshot::Sender<Detached>,
}

impl Attachment {
    /// Gives the connection back to its own task, which ends it as `farewell` says.
    pub fn detach(self, farewell: Farewell) {
        let detached = Detached {
            control: self.control,
            farewell,
        };
        // Its task may be gone (e.g. its connection task was cancelled at shutdown).
        let _ = self.detached.send(detached);
    }
}

/// A connection the session's task is done with, and what its own task should do with it.
pub(crate) struct Detached {
    /// The control stream, handed back.
    pub control: Control,
    /// What to do.
    pub farewell: Farewell,
}

/// How a connection leaves its session.
#[derive(Debug)]
pub(crate) enum Farewell {
    /// The session ended: say `Ended { reason }`, then close.
    Ended(EndReason),
    /// The session ended by the viewer's choice: close.
    Close,
    /// The viewer broke the protocol: close the connection with this error.
    Error(RelayError),
    /// The session goes on without this connection (lost, or replaced by a resume).
    Released,
}

/// How a resuming connection reaches a session's task: what the resume book holds.
#[derive(Clone)]
pub(crate) struct SessionLink {
    /// The technician leg a resume takes back.
    pub leg: LegId,
    /// Where to hand the connection.
    pub attach: mpsc::Sender<Attachment>,
    /// How the session is, to explain a session that ended just before the hand-over.
    pub presence: watch::Receiver<Presence>,
}

/// The ends of a [`SessionLink`] its session's task keeps.
pub(crate) struct SessionInbox {
    /// Resuming connections.
    pub attachments: mpsc::Receiver<Attachment>,
    /// Where the task publishes how the session's technicians are.
    pub presence: watch::Sender<Presence>,
}

impl SessionLink {
    /// A link to a session whose first technician leg, `leg`, is attached; and the ends its
    /// task keeps.
    pub fn new(leg: LegId) -> (Self, SessionInbox) {
        // One hand-over at a time: a resuming connection waits for the task to take it.
        let (attach, attachments) = mpsc::channel(1);
        let (presence_tx, presence) = watch::channel(Presence::Attached(leg));
        let link = Self {
            leg,
            attach,
            presence,
        };
        let inbox = SessionInbox {
            attachments,
            presence: presence_tx,
        };
        (link, inbox)
    }
}

/// The message that gives the viewer its next ticket, good for `grace`.
pub(crate) fn resumable(ticket: ResumeTicket, grace: Duration) -> RelayMessage {
    RelayMessage::Resumable {
        ticket,
        grace_secs: grace_secs(grace),
    }
}

/// Ends a connection the way its session said.
pub(crate) async fn farewell(
    connection: &Connection,
    detached: Detached,
) -> Result<(), RelayError> {
    let Detached {
        mut control,
        farewell,
    } = detached;
    match farewell {
        Farewell::Ended(reason) => {
            control
                .last_word(connection, RelayMessage::Ended { reason })
                .await
        }
        Farewell::Close => connection.close(CLOSE_OK.into(), b"session ended"),
        // The connection's task closes it with the error as the reason.
        Farewell::Error(e) => return Err(e),
        Farewell::Released => {}
    }
    Ok(())
}
