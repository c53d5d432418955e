//! The two directions of a shell stream, as traits, so the shell logic does not depend on QUIC.

use std::future::Future;

use serde::{de::DeserializeOwned, Serialize};
use tether_transport::{
    MessageReceiver, MessageSender, SecureReceiver, SecureSender, CLOSE_LINGER,
};

use crate::ShellError;

/// Sends messages of type `T` to the peer.
pub trait MessageOut<T>: Send {
    /// Sends one message; waits while the peer is not keeping up (backpressure).
    fn send(&mut self, message: &T) -> impl Future<Output = Result<(), ShellError>> + Send;

    /// Ends this direction cleanly: the peer reads the end after the messages sent so far.
    fn close(&mut self) -> impl Future<Output = Result<(), ShellError>> + Send;
}

/// Receives messages of type `T` from the peer.
pub trait MessageIn<T>: Send {
    /// The next message, or `None` once the peer closed its direction cleanly.
    fn recv(&mut self) -> impl Future<Output = Result<Option<T>, ShellError>> + Send;
}

impl<T: Serialize + Sync> MessageOut<T> for SecureSender<T> {
    async fn send(&mut self, message: &T) -> Result<(), ShellError> {
        Ok(SecureSender::send(self, message).await?)
    }

    async fn close(&mut self) -> Result<(), ShellError> {
        Ok(SecureSender::close(self).await?)
    }
}

impl<T: DeserializeOwned + Send> MessageIn<T> for SecureReceiver<T> {
    async fn recv(&mut self) -> Result<Option<T>, ShellError> {
        Ok(SecureReceiver::recv(self).await?)
    }
}

/// Plain message streams: on a connection that is itself end to end (the data path).
impl<T: Serialize + Sync> MessageOut<T> for MessageSender<T> {
    async fn send(&mut self, message: &T) -> Result<(), ShellError> {
        Ok(MessageSender::send(self, message).await?)
    }

    async fn close(&mut self) -> Result<(), ShellError> {
        Ok(self.finish_and_linger(CLOSE_LINGER).await?)
    }
}

impl<T: DeserializeOwned + Send> MessageIn<T> for MessageReceiver<T> {
    async fn recv(&mut self) -> Result<Option<T>, ShellError> {
        Ok(MessageReceiver::recv(self).await?)
    }
}

#[cfg(test)]
mod tests {
    use tether_proto::shell::{ShellRequest, ShellResponse};

    use super::*;

    #[test]
    fn secure_streams_carry_both_sides_of_a_shell() {
        // Compiles only if the stream halves (sealed on relayed streams, plain on the data
        // path) fit where the agent and the viewer need them.
        fn agent<O: MessageOut<ShellResponse>, I: MessageIn<ShellRequest>>() {}
        fn viewer<O: MessageOut<ShellRequest>, I: MessageIn<ShellResponse>>() {}
        agent::<SecureSender<ShellResponse>, SecureReceiver<ShellRequest>>();
        viewer::<SecureSender<ShellRequest>, SecureReceiver<ShellResponse>>();
        agent::<MessageSender<ShellResponse>, MessageReceiver<ShellRequest>>();
        viewer::<MessageSender<ShellRequest>, MessageReceiver<ShellResponse>>();
    }
}
