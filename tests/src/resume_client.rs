//! A viewer written out step by step, for tests that take a session back by hand: it joins
//! (through a proxy, say), keeps the relay's resume ticket, and can then ask the relay to
//! resume with any ticket, and the agent with any end-to-end proof.

use tether_proto::{
    control::{ClientMessage, RelayMessage, ResumeTicket},
    secure::Handshake,
    session::{AgentMessage, Capabilities, ViewerMessage},
    SessionCode, PROTOCOL_VERSION,
};
use tether_transport::{
    connect_to_relay, open_control, viewer_handshake, MessageReceiver, MessageSender,
    RelayConnection, RelayTarget, SecureStream,
};

use crate::Relay;

/// A client connection with its control stream open.
pub struct Control {
    /// The connection (kept open while this lives).
    pub relay: RelayConnection,
    /// What the client says.
    pub send: MessageSender<ClientMessage>,
    /// What the relay says.
    pub recv: MessageReceiver<RelayMessage>,
}

impl Control {
    /// Dials `via` (the relay, or a proxy in front of it), trusting `relay`'s fingerprint.
    pub async fn connect(relay: &Relay, via: &str, known_relays: &str) -> Self {
        let target = RelayTarget {
            relay: via.to_owned(),
            fingerprint: Some(relay.fingerprint.parse().expect("fingerprint")),
            known_relays: relay.path(known_relays).into(),
        };
        let relay = connect_to_relay(&target).await.expect("connect");
        let (send, recv) = open_control(&relay.connection, "scripted viewer")
            .await
            .expect("control stream");
        Self { relay, send, recv }
    }

    /// The relay's next message after its welcome.
    pub async fn hear(&mut self) -> RelayMessage {
        loop {
            match self.recv.recv().await.expect("relay") {
                Some(RelayMessage::Welcome { .. }) => {}
                Some(message) => return message,
                None => panic!("the relay finished the control stream"),
            }
        }
    }
}

/// A viewer in a session, admitted by the agent.
pub struct ScriptedViewer {
    /// Its connection and control stream.
    pub control: Control,
    /// The relay's session id.
    pub session_id: u64,
    /// The relay's resume ticket.
    pub ticket: ResumeTicket,
    /// The relay's grace period.
    pub grace_secs: u32,
    /// The secured session stream.
    pub session: SecureStream<ViewerMessage, AgentMessage>,
}

impl ScriptedViewer {
    /// Joins `code` through `via`, secures the session and waits for the agent's hello.
    pub async fn join(relay: &Relay, via: &str, code: &str) -> Self {
        let code: SessionCode = code.parse().expect("code");
        let mut control = Control::connect(relay, via, "scripted_viewer_known_relays").await;
        control
            .send
            .send(&ClientMessage::Join {
                nameplate: code.nameplate(),
                name: "scripted".into(),
            })
            .await
            .expect("join");
        let RelayMessage::Paired { session_id, .. } = control.hear().await else {
            panic!("not paired");
        };
        let RelayMessage::Resumable { ticket, grace_secs } = control.hear().await else {
            panic!("no resume ticket");
        };
        let stream = control.relay.connection.open_bi().await.expect("stream");
        let mut session = viewer_handshake(stream, code, session_id)
            .await
            .expect("handshake");
        session
            .send
            .send(&ViewerMessage::Hello {
                version: PROTOCOL_VERSION,
                window: 2,
                technician: "scripted".into(),
                wants: Capabilities::VIEW_ONLY,
            })
            .await
            .expect("hello");
        loop {
            match session.recv.recv().await.expect("agent") {
                Some(AgentMessage::Hello { .. }) => break,
                Some(_) => {}
                None => panic!("the agent ended the session"),
            }
        }
        Self {
            control,
            session_id,
            ticket,
            grace_secs,
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
) -> (Control, RelayMessage) {
    let mut control = Control::connect(relay, &relay.addr, "resuming_known_relays").await;
    control
        .send
        .send(&ClientMessage::Resume { session_id, ticket })
        .await
        .expect("resume");
    let answer = control.hear().await;
    (control, answer)
}

/// On a connection the relay resumed, opens a session stream and asks the agent to resume
/// with a proof made up without the session's secret; returns the agent's answer.
pub async fn forge_resume(control: &Control) -> Option<Handshake> {
    let (send, recv) = control.relay.connection.open_bi().await.expect("stream");
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let forged = Handshake::Resume {
        version: PROTOCOL_VERSION,
        nonce: rand::random::<[u8; 32]>().to_vec(),
        mac: rand::random::<[u8; 32]>().to_vec(),
    };
    send.send(&forged).await.expect("send the forged request");
    recv.recv().await.ok().flatten()
}
