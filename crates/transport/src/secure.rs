//! Session streams secured end to end: the handshake over a QUIC stream, then typed messages in
//! sealed records. The relay in between sees only the handshake's public values and ciphertext.

use std::{future::Future, marker::PhantomData, time::Duration};

use quinn::{RecvStream, SendStream};
use rand::rngs::OsRng;
use serde::{de::DeserializeOwned, Serialize};
use tether_e2e::{
    unattended::{
        MachineHandshake, Technician, TechnicianAuthority, TechnicianHandshake, TechnicianKey,
    },
    AgentHandshake, E2eError, Established, MachineKey, Opened, Opener, ResumptionSecret, Sealer,
    ShortAuthString, ViewerHandshake,
};
use tether_proto::{
    secure::{Handshake, Sealed},
    SessionCode,
};

use crate::{MessageReceiver, MessageSender, TransportError};

/// How long a side that aborts the handshake or closes a stream waits for its last words to
/// be read before it may close the connection.
pub const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How long either side gives its peer to complete an end-to-end handshake. Each answers at
/// once, so only a peer that is gone, or a party in the middle that stalls, takes longer; the
/// agent burns its code when the viewer's time is up, and the viewer gives up too.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Both halves of an established session stream and the digits to compare.
pub struct SecureStream<Out, In> {
    /// Sends to the peer.
    pub send: SecureSender<Out>,
    /// Receives from the peer.
    pub recv: SecureReceiver<In>,
    /// The short authentication string both sides show.
    pub sas: ShortAuthString,
    /// What a later stream may take the session back with (see [`crate::resume`]).
    pub resumption: ResumptionSecret,
}

/// Runs the viewer's side of the handshake on a stream it opened to the agent, for at most
/// [`HANDSHAKE_TIMEOUT`].
pub async fn viewer_handshake<Out: Serialize, In: DeserializeOwned>(
    (send, recv): (SendStream, RecvStream),
    code: SessionCode,
    session_id: u64,
) -> Result<SecureStream<Out, In>, TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let result = within_timeout(async {
        let (viewer, commit) = ViewerHandshake::start(code, session_id, &mut OsRng);
        send.send(&commit).await?;
        let (viewer, reveal) = viewer.on_reply(expect_message(&mut recv).await?)?;
        send.send(&reveal).await?;
        Ok(viewer.on_confirm(expect_message(&mut recv).await?)?)
    })
    .await;
    established(send, recv, result).await
}

/// `handshake`, or [`TransportError::HandshakeTimeout`] once [`HANDSHAKE_TIMEOUT`] has passed.
async fn within_timeout<T>(
    handshake: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .unwrap_or(Err(TransportError::HandshakeTimeout(HANDSHAKE_TIMEOUT)))
}

/// Runs the agent's side of the handshake on a stream the relay forwarded from the viewer
/// (its header already read). Any error must burn the code: it may have been a guess.
pub async fn agent_handshake<Out: Serialize, In: DeserializeOwned>(
    send: SendStream,
    mut recv: MessageReceiver<Handshake>,
    code: SessionCode,
    session_id: u64,
) -> Result<SecureStream<Out, In>, TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let result = async {
        let start = expect_message(&mut recv).await?;
        let (agent, reply) = AgentHandshake::respond(code, session_id, start, &mut OsRng)?;
        send.send(&reply).await?;
        let (established, confirm) = agent.on_confirm(expect_message(&mut recv).await?)?;
        send.send(&confirm).await?;
        Ok(established)
    }
    .await;
    established(send, recv, result).await
}

/// Runs the technician's side of an unattended handshake on a stream it opened to an enrolled
/// machine whose (CA-endorsed) key is `machine_key`, for at most [`HANDSHAKE_TIMEOUT`].
pub async fn technician_handshake<Out: Serialize, In: DeserializeOwned, K: TechnicianKey + Sync>(
    (send, recv): (SendStream, RecvStream),
    key: &K,
    machine_key: [u8; 32],
    session_id: u64,
) -> Result<SecureStream<Out, In>, TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let result = within_timeout(async {
        let (technician, start) = TechnicianHandshake::start(key, machine_key, session_id)?;
        send.send(&start).await?;
        // Awaited before the call, so no `&dyn` (which is not `Send`) is held across it.
        let reply = expect_message(&mut recv).await?;
        let (technician, proof) = technician.on_reply(key, reply)?;
        send.send(&proof).await?;
        Ok(technician.on_confirm(expect_message(&mut recv).await?)?)
    })
    .await;
    established(send, recv, result).await
}

/// Runs an enrolled machine's side of an unattended handshake on a stream the relay forwarded
/// (its header already read); returns the stream and the technician `authority` verified.
pub async fn machine_handshake<
    Out: Serialize,
    In: DeserializeOwned,
    A: TechnicianAuthority + Sync,
>(
    send: SendStream,
    mut recv: MessageReceiver<Handshake>,
    machine: &MachineKey,
    authority: &A,
    session_id: u64,
) -> Result<(SecureStream<Out, In>, Technician), TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut technician = None;
    let result = async {
        let start = expect_message(&mut recv).await?;
        let (machine, reply) = MachineHandshake::respond(machine, session_id, start)?;
        send.send(&reply).await?;
        let proof = expect_message(&mut recv).await?;
        let (established, verified, confirm) = machine.on_proof(authority, proof)?;
        send.send(&confirm).await?;
        technician = Some(verified);
        Ok(established)
    }
    .await;
    let stream = established(send, recv, result).await?;
    let technician = technician.ok_or(TransportError::E2e(E2eError::Truncated))?;
    Ok((stream, technician))
}

/// Turns the handshake's outcome into a secure stream, or tells the peer why it failed (when
/// that helps it) and returns the error.
pub(crate) async fn established<Out: Serialize, In: DeserializeOwned>(
    mut send: MessageSender<Handshake>,
    recv: MessageReceiver<Handshake>,
    result: Result<Established, TransportError>,
) -> Result<SecureStream<Out, In>, TransportError> {
    match result {
        Ok(established) => Ok(SecureStream {
            send: SecureSender {
                inner: send.retype(),
                sealer: established.sealer,
                buf: Vec::new(),
                _message: PhantomData,
            },
            recv: SecureReceiver {
                inner: recv.retype(),
                opener: established.opener,
                _message: PhantomData,
            },
            sas: established.sas,
            resumption: established.resumption,
        }),
        Err(error) => {
            if let TransportError::E2e(e2e) = &error {
                if let Some(reason) = e2e.abort_reason() {
                    // Best effort: the peer may already be gone. Waiting until the abort has
                    // been read keeps the caller's next step (closing the connection) from
                    // discarding it.
                    if send.send(&Handshake::Abort { reason }).await.is_ok() {
                        let _ = send.finish_and_linger(CLOSE_LINGER).await;
                    }
                }
            }
            Err(error)
        }
    }
}

pub(crate) async fn expect_message(
    recv: &mut MessageReceiver<Handshake>,
) -> Result<Handshake, TransportError> {
    recv.recv()
        .await?
        .ok_or(TransportError::E2e(E2eError::Truncated))
}

/// Sends messages of type `T`, each sealed in its own record.
pub struct SecureSender<T> {
    inner: MessageSender<Sealed>,
    sealer: Sealer,
    buf: Vec<u8>,
    _message: PhantomData<fn(T)>,
}

impl<T: Serialize> SecureSender<T> {
    /// Seals and sends one message; waits while QUIC flow control has no room.
    pub async fn send(&mut self, message: &T) -> Result<(), TransportError> {
        self.buf.clear();
        let plaintext = postcard::to_extend(message, std::mem::take(&mut self.buf))
            .map_err(tether_proto::ProtoError::from)?;
        let record = self.sealer.seal(&plaintext);
        self.buf = plaintext;
        self.inner.send(&Sealed(record?)).await
    }

    /// Continues on the same stream (and keys) with another message type.
    pub fn retype<U: Serialize>(self) -> SecureSender<U> {
        SecureSender {
            inner: self.inner,
            sealer: self.sealer,
            buf: self.buf,
            _message: PhantomData,
        }
    }

    /// Sends the authenticated close record, finishes the stream, and waits briefly until the
    /// peer has read it.
    pub async fn close(&mut self) -> Result<(), TransportError> {
        let record = self.sealer.seal_close()?;
        self.inner.send(&Sealed(record)).await?;
        self.inner.finish_and_linger(CLOSE_LINGER).await
    }
}

/// Receives messages of type `T` from sealed records.
pub struct SecureReceiver<T> {
    inner: MessageReceiver<Sealed>,
    opener: Opener,
    _message: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> SecureReceiver<T> {
    /// Continues on the same stream (and keys) with another message type.
    pub fn retype<U: DeserializeOwned>(self) -> SecureReceiver<U> {
        SecureReceiver {
            inner: self.inner,
            opener: self.opener,
            _message: PhantomData,
        }
    }

    /// The next message, or `None` once the peer closed its direction with its authenticated
    /// close record. A stream that ends without it is [`E2eError::Truncated`]; any altered,
    /// dropped, replayed or reordered record is [`E2eError::RecordRejected`].
    pub async fn recv(&mut self) -> Result<Option<T>, TransportError> {
        match self.inner.recv().await? {
            Some(Sealed(record)) => match self.opener.open(record)? {
                Opened::Data(bytes) => Ok(Some(
                    postcard::from_bytes(&bytes).map_err(tether_proto::ProtoError::from)?,
                )),
                Opened::Close => Ok(None),
            },
            None => {
                self.opener.finish()?;
                Ok(None)
            }
        }
    }
}
