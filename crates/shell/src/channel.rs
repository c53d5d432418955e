//! In-memory shell streams over bounded tokio channels: for tests, and for wiring a viewer to an
//! agent inside one process.

use tokio::sync::mpsc;

use crate::{MessageIn, MessageOut, ShellError};

/// Creates a one-way stream holding at most `capacity` messages in flight.
pub fn channel<T>(capacity: usize) -> (ChannelOut<T>, ChannelIn<T>) {
    let (sender, receiver) = mpsc::channel(capacity);
    (ChannelOut(Some(sender)), ChannelIn(receiver))
}

/// The sending end of a [`channel`].
#[derive(Debug)]
pub struct ChannelOut<T>(Option<mpsc::Sender<T>>);

/// The receiving end of a [`channel`].
#[derive(Debug)]
pub struct ChannelIn<T>(mpsc::Receiver<T>);

impl<T: Clone + Send + Sync> MessageOut<T> for ChannelOut<T> {
    async fn send(&mut self, message: &T) -> Result<(), ShellError> {
        let sender = self.0.as_ref().ok_or(ShellError::Closed)?;
        sender
            .send(message.clone())
            .await
            .map_err(|_| ShellError::Closed)
    }

    async fn close(&mut self) -> Result<(), ShellError> {
        // Dropping the only sender is what ends the receiver's stream.
        self.0 = None;
        Ok(())
    }
}

impl<T: Send> MessageIn<T> for ChannelIn<T> {
    async fn recv(&mut self) -> Result<Option<T>, ShellError> {
        Ok(self.0.recv().await)
    }
}
