//! Taking a suspended session back on a new stream: the resume exchange of `tether-e2e` over
//! QUIC, ending in a secure stream with fresh keys.

use quinn::{RecvStream, SendStream};
use rand::rngs::OsRng;
use serde::{de::DeserializeOwned, Serialize};
use tether_e2e::{AgentResumption, ResumptionSecret, ViewerResuming};
use tether_proto::secure::Handshake;

use crate::{
    secure::{established, expect_message},
    MessageReceiver, MessageSender, SecureStream, TransportError,
};

/// Runs the viewer's side of a resume on a stream it opened to the agent, proving `secret`.
/// On success the stream's `resumption` replaces `secret`; on failure `secret` stays valid for
/// another attempt unless the error is an [`TransportError::E2e`] one (the agent refused).
pub async fn viewer_resume<Out: Serialize, In: DeserializeOwned>(
    (send, recv): (SendStream, RecvStream),
    secret: &ResumptionSecret,
    session_id: u64,
) -> Result<SecureStream<Out, In>, TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let (viewer, request) = ViewerResuming::start(secret, session_id, &mut OsRng);
    send.send(&request).await?;
    let result = async {
        let (established, confirm) = viewer.on_resumed(expect_message(&mut recv).await?)?;
        send.send(&confirm).await?;
        Ok(established)
    }
    .await;
    established(send, recv, result).await
}

/// Runs the agent's side of a resume on a stream the relay forwarded (its header already
/// read). A [`TransportError::E2e`] error means the request was forged or replayed and the
/// session must end; any other leaves `resumption` ready for the viewer's next attempt. On
/// success, the caller starts a new [`AgentResumption`] from the stream's `resumption`.
pub async fn agent_resume<Out: Serialize, In: DeserializeOwned>(
    send: SendStream,
    mut recv: MessageReceiver<Handshake>,
    resumption: &mut AgentResumption,
    session_id: u64,
) -> Result<SecureStream<Out, In>, TransportError> {
    let mut send = MessageSender::<Handshake>::new(send);
    let result = async {
        let request = expect_message(&mut recv).await?;
        let (agent, answer) = resumption.respond(session_id, request, &mut OsRng)?;
        send.send(&answer).await?;
        Ok(agent.on_confirm(expect_message(&mut recv).await?)?)
    }
    .await;
    established(send, recv, result).await
}
