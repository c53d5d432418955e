//! A viewer written out step by step, for tests that do by hand what the viewer binary would
//! not: take a session back with any ticket or end-to-end proof, or send input it was not
//! granted.

use tether_proto::{
    control::{ClientMessage, RelayMessage, ResumeTicket},
    secure::Handshake,
    session::{AgentMessage, Capabilities, ViewerMessage},
    SessionCode, PROTOCOL_VERSION,
};
use tether_transport::{viewer_handshake, MessageReceiver, MessageSender, SecureStream};

use crate::{relay_client::Client, within, Relay};

/// A viewer in a session, admitted by the agent.
pub struct ScriptedViewer {
    /// Its connection and control stream.
    pub control: Client,
    /// The relay's session id.
    pub session_id: u64,
    /// The relay's resume ticket.
    pub ticket: ResumeTicket,
    /// The relay's grace period.
    pub grace_secs: u32,
    /// What the agent granted (it was asked only to view).
    pub granted: Capabilities,
    /// The secured session stream.
    pub session: SecureStream<ViewerMessage, AgentMessage>,
}

impl ScriptedViewer {
    /// Joins `code` through `via` (the relay, or a proxy in front of it) as `name`, asking to
    /// view, secures the session and waits for the agent's hello.
    pub async fn join(relay: &Relay, via: &str, code: &str, name: &str) -> Self {
        let code: SessionCode = code.parse().expect("code");
        let mut control = Client::connect_via(relay, via).await;
        let paired = control
            .say(ClientMessage::Join {
                nameplate: code.nameplate(),
                name: name.into(),
            })
            .await;
        let RelayMessage::Paired { session_id, .. } = paired else {
            panic!("not paired: {paired:?}");
        };
        let resumable = control.hear().await;
        let RelayMessage::Resumable { ticket, grace_secs } = resumable else {
            panic!("no resume ticket: {resumable:?}");
        };
        let stream = within("session stream", control.relay.connection.open_bi())
            .await
            .expect("stream");
        let mut session = within("handshake", viewer_handshake(stream, code, session_id))
            .await
            .expect("handshake");
        let hello = ViewerMessage::Hello {
            version: PROTOCOL_VERSION,
            window: 2,
            technician: name.into(),
            wants: Capabilities::VIEW_ONLY,
        };
        within("send", session.send.send(&hello))
            .await
            .expect("hello");
        let granted = within("the agent's hello", async {
            loop {
                match session.recv.recv().await.expect("agent") {
                    Some(AgentMessage::Hello { granted, .. }) => return granted,
                    Some(_) => {}
                    None => panic!("the agent ended the session"),
                }
            }
        })
        .await;
        Self {
            control,
            session_id,
            ticket,
            grace_secs,
            granted,
            session,
        }
    }
}

/// Asks the relay (directly) to resume `session_id` with `ticket`; returns the connection and
/// the relay's answer.
pub async fn ask_to_resume(
    relay: &Relay,
    session_id: u64,
    ticket: ResumeTicket,
) -> (Client, RelayMessage) {
    let mut control = Client::connect(relay).await;
    let answer = control
        .say(ClientMessage::Resume { session_id, ticket })
        .await;
    (control, answer)
}

/// On a connection the relay resumed, opens a session stream and asks the agent to resume
/// with a proof made up without the session's secret; returns the agent's answer.
pub async fn forge_resume(control: &Client) -> Option<Handshake> {
    let (send, recv) = within("session stream", control.relay.connection.open_bi())
        .await
        .expect("stream");
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let forged = Handshake::Resume {
        version: PROTOCOL_VERSION,
        nonce: rand::random::<[u8; 32]>().to_vec(),
        mac: rand::random::<[u8; 32]>().to_vec(),
    };
    within("send", send.send(&forged))
        .await
        .expect("send the forged request");
    within("the agent's answer", recv.recv())
        .await
        .ok()
        .flatten()
}
