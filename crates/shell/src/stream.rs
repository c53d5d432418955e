//! The two directions of a shell stream, as traits, so the shell logic does not depend on QUIC.

use std::future::Future;

use serde::{de::DeserializeOwned, Serialize};
use tether_transport::{SecureReceiver, SecureSender};

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

#[cfg(test)]
mod tests {
    use tether_proto::shell::{ShellRequest, ShellResponse};

    use super::*;

    #[test]
    fn secure_streams_carry_both_sides_of_a_shell() {
        // Compiles only if the QUIC stream halves fit where the agent and the viewer need them.
        fn agent<O: MessageOut<ShellResponse>, I: MessageIn<ShellRequest>>() {}
        fn viewer<O: MessageOut<ShellRequest>, I: MessageIn<ShellResponse>>() {}
        agent::<SecureSender<ShellResponse>, SecureReceiver<ShellRequest>>();
        viewer::<SecureSender<ShellRequest>, SecureReceiver<ShellResponse>>();
    }
}
