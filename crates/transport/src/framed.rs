//! Typed message streams: length-prefixed postcard messages over quinn streams.

use std::{marker::PhantomData, time::Duration};

use quinn::{RecvStream, SendStream};
use serde::{de::DeserializeOwned, Serialize};
use tether_proto::{
    control::{ClientMessage, RelayMessage},
    encode_message, Deframer, MAX_MESSAGE_SIZE, PROTOCOL_VERSION,
};

use crate::TransportError;

/// Largest read from the QUIC stream at once, bounding what the deframer buffers beyond one
/// message.
const READ_CHUNK: usize = 64 * 1024;

/// Opens a client's control stream to the relay and says hello as `software` (e.g.
/// "tether-agent 0.1.0"); the relay's answer is the caller's to read.
pub async fn open_control(
    connection: &quinn::Connection,
    software: &str,
) -> Result<(MessageSender<ClientMessage>, MessageReceiver<RelayMessage>), TransportError> {
    let (send, recv) = connection.open_bi().await?;
    let mut send = MessageSender::new(send);
    send.send(&ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        software: software.to_owned(),
    })
    .await?;
    Ok((send, MessageReceiver::new(recv)))
}

/// Sends messages of type `T` on a QUIC stream.
pub struct MessageSender<T> {
    stream: SendStream,
    buf: Vec<u8>,
    _message: PhantomData<fn(T)>,
}

impl<T: Serialize> MessageSender<T> {
    /// Wraps the sending half of a stream.
    pub fn new(stream: SendStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            _message: PhantomData,
        }
    }

    /// Sends one message; waits while QUIC flow control has no room.
    pub async fn send(&mut self, message: &T) -> Result<(), TransportError> {
        self.buf.clear();
        encode_message(message, &mut self.buf)?;
        self.stream.write_all(&self.buf).await?;
        Ok(())
    }

    /// Finishes the stream: the peer reads the end after the messages sent so far.
    pub fn finish(&mut self) -> Result<(), TransportError> {
        Ok(self.stream.finish()?)
    }

    /// Finishes the stream and waits (at most `linger`) until the peer has read it to the
    /// end, so that closing the connection next does not discard the last messages.
    pub async fn finish_and_linger(&mut self, linger: Duration) -> Result<(), TransportError> {
        self.stream.finish()?;
        let _ = tokio::time::timeout(linger, self.stream.stopped()).await;
        Ok(())
    }

    /// The underlying stream.
    pub fn into_inner(self) -> SendStream {
        self.stream
    }

    /// Continues on the same stream with another message type.
    pub fn retype<U: Serialize>(self) -> MessageSender<U> {
        MessageSender {
            stream: self.stream,
            buf: self.buf,
            _message: PhantomData,
        }
    }
}

/// Receives messages of type `T` from a QUIC stream.
pub struct MessageReceiver<T> {
    stream: RecvStream,
    deframer: Deframer,
    buf: Vec<u8>,
    _message: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> MessageReceiver<T> {
    /// Wraps the receiving half of a stream.
    pub fn new(stream: RecvStream) -> Self {
        Self::with_limit(stream, MAX_MESSAGE_SIZE)
    }

    /// Wraps the receiving half of a stream whose messages are at most `max` bytes each (e.g.
    /// [`tether_proto::control::MAX_CLIENT_MESSAGE`]): a longer one is refused from its length.
    pub fn with_limit(stream: RecvStream, max: usize) -> Self {
        Self {
            stream,
            deframer: Deframer::new(max),
            buf: vec![0; READ_CHUNK],
            _message: PhantomData,
        }
    }

    /// The next message, or `None` when the peer finished the stream cleanly between messages.
    /// Oversized, malformed or truncated input is an error; the caller drops the connection.
    pub async fn recv(&mut self) -> Result<Option<T>, TransportError> {
        loop {
            if let Some(message) = self.deframer.next_message()? {
                return Ok(Some(message));
            }
            match self.stream.read(&mut self.buf).await? {
                Some(n) => self.deframer.feed(&self.buf[..n]),
                None => {
                    self.deframer.finish()?;
                    return Ok(None);
                }
            }
        }
    }

    /// Continues on the same stream with another message type, keeping bytes already read:
    /// used when a stream starts with a header of one type followed by messages of another.
    pub fn retype<U: DeserializeOwned>(self) -> MessageReceiver<U> {
        MessageReceiver {
            stream: self.stream,
            deframer: self.deframer,
            buf: self.buf,
            _message: PhantomData,
        }
    }
}
