//! The viewer's connection to the relay and its control stream, which also brings the
//! session's resume tickets.

use std::time::Duration;

use quinn::{Connection, ConnectionError, Endpoint};
use tether_proto::control::{ClientMessage, RelayMessage, ResumeTicket};
use tether_transport::{
    close_and_wait, connect_to_relay, open_control, ConnectError, MessageReceiver, MessageSender,
    RelayTarget, TransportError,
};

use crate::{ending::StreamBroke, ViewerError};

/// How the viewer names itself to the relay.
const SOFTWARE: &str = concat!("tether-viewer ", env!("CARGO_PKG_VERSION"));
/// How long hanging up waits for the relay to hear of it, so that it ends the session now
/// rather than at its idle timeout.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The relay's latest resume ticket for the session, and how long the relay keeps the session
/// for a viewer whose connection was lost.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    /// The ticket.
    pub ticket: ResumeTicket,
    /// The relay's grace period.
    pub grace: Duration,
}

/// A connection to the relay with its control stream open and hello said.
pub(crate) struct RelayLink {
    endpoint: Endpoint,
    /// The QUIC connection, on which session streams are opened.
    pub connection: Connection,
    send: MessageSender<ClientMessage>,
    recv: MessageReceiver<RelayMessage>,
}

impl RelayLink {
    /// Dials the relay (pinned as `target` says) and says hello.
    pub async fn open(target: &RelayTarget) -> Result<Self, LinkError> {
        let relay = connect_to_relay(target).await?;
        let (send, recv) = open_control(&relay.connection, SOFTWARE).await?;
        Ok(Self {
            endpoint: relay.endpoint,
            connection: relay.connection,
            send,
            recv,
        })
    }

    /// Sends one control message.
    pub async fn say(&mut self, message: &ClientMessage) -> Result<(), TransportError> {
        self.send.send(message).await
    }

    /// The relay's next word, skipping its welcome and keeping any resume ticket it gives in
    /// `ticket` on the way; `None` when it finished the stream.
    pub async fn next(
        &mut self,
        ticket: &mut Option<Ticket>,
    ) -> Result<Option<RelayMessage>, TransportError> {
        loop {
            match self.recv.recv().await? {
                Some(RelayMessage::Resumable {
                    ticket: given,
                    grace_secs,
                }) => {
                    *ticket = Some(Ticket {
                        ticket: given,
                        grace: Duration::from_secs(grace_secs.into()),
                    });
                }
                Some(RelayMessage::Welcome { .. }) => {}
                other => return Ok(other),
            }
        }
    }

    /// The ticket the relay gives right after `Paired` or `Resumed`.
    pub async fn next_ticket(&mut self) -> anyhow::Result<Ticket> {
        match self.recv.recv().await? {
            Some(RelayMessage::Resumable { ticket, grace_secs }) => Ok(Ticket {
                ticket,
                grace: Duration::from_secs(grace_secs.into()),
            }),
            other => anyhow::bail!("expected a resume ticket from the relay, got {other:?}"),
        }
    }

    /// The session stream `broke` and only the relay may say why: waits a little for its
    /// reason, noting any ticket it gives on the way in `ticket`.
    pub async fn explain(
        &mut self,
        ticket: &mut Option<Ticket>,
        broke: StreamBroke,
    ) -> ViewerError {
        broke.settle(StreamBroke::TRAILING.wait(self.next(ticket)).await)
    }

    /// Whether the connection was lost (it timed out, or the network reset it) rather than
    /// closed by either side: only then may the session be taken back.
    pub fn lost(&self) -> bool {
        matches!(
            self.connection.close_reason(),
            Some(ConnectionError::TimedOut | ConnectionError::Reset)
        )
    }

    /// Hangs up, and waits briefly until the relay has been told.
    pub async fn close(self) {
        close_and_wait(&self.connection, &self.endpoint, b"viewer done", CLOSE_WAIT).await;
    }
}

/// Opening a link failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// Dialling failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The control stream failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}
