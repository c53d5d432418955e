//! The relay's end of a client's control stream.

use std::time::Duration;

use quinn::Connection;
use tether_proto::control::{ClientMessage, RelayMessage, MAX_CLIENT_MESSAGE};
use tether_transport::{MessageReceiver, MessageSender, TransportError};

use crate::error::RelayError;

/// How long a client may take to open its control stream and say hello, and then to register
/// or join.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the relay waits for a client to read a final message and hang up.
const LINGER: Duration = Duration::from_secs(2);

/// QUIC application close code: normal end.
pub const CLOSE_OK: u32 = 0;
/// QUIC application close code: the peer broke the protocol.
pub const CLOSE_PROTOCOL_ERROR: u32 = 1;
/// QUIC application close code: the technician's certificate was revoked mid-session.
pub const CLOSE_REVOKED: u32 = 3;
/// QUIC application close code: the source network holds the most connections allowed (the
/// handshake finished before that showed, as for handshakes begun before a Retry).
pub const CLOSE_TOO_MANY: u32 = 4;
/// QUIC application close code: the technician's certificate expired mid-session.
pub const CLOSE_EXPIRED: u32 = 5;

/// Both halves of a control stream.
pub struct Control {
    pub send: MessageSender<RelayMessage>,
    pub recv: MessageReceiver<ClientMessage>,
}

impl Control {
    /// Waits for the client to open its control stream.
    pub async fn accept(connection: &Connection) -> Result<Self, RelayError> {
        let (send, recv) = tokio::time::timeout(HELLO_TIMEOUT, connection.accept_bi())
            .await
            .map_err(|elapsed| RelayError::Timeout {
                what: "no control stream opened in time",
                elapsed,
            })??;
        Ok(Self {
            send: MessageSender::new(send),
            recv: MessageReceiver::with_limit(recv, MAX_CLIENT_MESSAGE),
        })
    }

    /// The client's next message; `None` when it finished the stream or hung up.
    pub async fn next(&mut self) -> Result<Option<ClientMessage>, TransportError> {
        match self.recv.recv().await {
            Ok(message) => Ok(message),
            Err(e) if e.is_disconnect() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends a last message, then gives the client a moment to read it and hang up before
    /// closing the connection.
    pub async fn last_word(&mut self, connection: &Connection, message: RelayMessage) {
        if self.send.send(&message).await.is_ok() && self.send.finish().is_ok() {
            let _ = tokio::time::timeout(LINGER, connection.closed()).await;
        }
        connection.close(CLOSE_OK.into(), b"done");
    }
}
