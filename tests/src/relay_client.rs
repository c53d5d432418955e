//! Scripted clients speaking the relay's real control protocol, for tests that need the relay
//! to see exactly one message, or a whole session, without an agent or viewer binary: an
//! agent `desk-1` and a viewer `tech` paired and exchanging bytes, a late viewer refused.

use tether_proto::{
    control::{ClientMessage, EndReason, Refusal, RelayMessage},
    Nameplate,
};
use tether_transport::{
    connect_to_relay, open_control, ConnectError, MessageReceiver, MessageSender, RelayConnection,
    RelayTarget,
};

use crate::{within, Relay};

/// Bytes the viewer sends to the agent in [`one_session`].
pub const TO_AGENT: usize = 1000;
/// Bytes the agent sends back.
pub const TO_VIEWER: usize = 500;

/// Where a client dials `via` (the relay, or a proxy in front of it), pinned to `relay`'s
/// fingerprint.
pub fn pinned_target(relay: &Relay, via: &str) -> RelayTarget {
    RelayTarget {
        relay: via.to_owned(),
        fingerprint: Some(relay.fingerprint.parse().expect("fingerprint")),
        known_relays: relay.path("scripted_known_relays").into(),
    }
}

/// A QUIC connection to `relay`, pinned, with nothing said yet.
pub async fn connect_raw(relay: &Relay) -> Result<RelayConnection, ConnectError> {
    within(
        "QUIC connection to the relay",
        connect_to_relay(&pinned_target(relay, &relay.addr)),
    )
    .await
}

/// A client with its control stream open and the relay's welcome read.
pub struct Client {
    /// The connection (kept open while this lives).
    pub relay: RelayConnection,
    /// What the client says.
    pub send: MessageSender<ClientMessage>,
    /// What the relay says.
    pub recv: MessageReceiver<RelayMessage>,
}

impl Client {
    /// Connects to `relay`, opens the control stream and reads the welcome.
    pub async fn connect(relay: &Relay) -> Self {
        Self::connect_via(relay, &relay.addr).await
    }

    /// Like [`Client::connect`], dialling `via` (a proxy in front of the relay, say).
    pub async fn connect_via(relay: &Relay, via: &str) -> Self {
        let target = pinned_target(relay, via);
        let relay = within("QUIC connection to the relay", connect_to_relay(&target))
            .await
            .expect("connect");
        let (send, recv) = within(
            "control stream",
            open_control(&relay.connection, "scripted client"),
        )
        .await
        .expect("control stream");
        let mut client = Self { relay, send, recv };
        let welcome = client.hear().await;
        assert!(
            matches!(welcome, RelayMessage::Welcome { .. }),
            "{welcome:?}"
        );
        client
    }

    /// Sends `message` and returns the relay's answer.
    pub async fn say(&mut self, message: ClientMessage) -> RelayMessage {
        within("send", self.send.send(&message))
            .await
            .expect("send");
        self.hear().await
    }

    /// The relay's next message.
    pub async fn hear(&mut self) -> RelayMessage {
        within("message from the relay", self.recv.recv())
            .await
            .expect("receive")
            .expect("the relay finished the control stream")
    }

    /// Closes the connection and waits until the relay has been told, so the relay does not
    /// wait for an idle timeout when the test's runtime stops right after.
    pub async fn hang_up(self) {
        self.relay.connection.close(0u32.into(), b"done");
        within("hang-up", self.relay.endpoint.wait_idle()).await;
    }
}

/// A paired agent `desk-1` and viewer `tech`.
pub struct Paired {
    /// The agent.
    pub agent: Client,
    /// The viewer.
    pub viewer: Client,
    /// The agent's nameplate, which the viewer claimed.
    pub nameplate: Nameplate,
    /// The relay's session id.
    pub session_id: u64,
}

/// An agent `desk-1` registers and viewer `tech` joins it; both are told they are paired, and
/// the viewer gets its resume ticket.
pub async fn pair(relay: &Relay) -> Paired {
    let mut agent = Client::connect(relay).await;
    let registered = agent
        .say(ClientMessage::Register {
            name: "desk-1".to_owned(),
            auto_accept: false,
        })
        .await;
    let RelayMessage::Registered { nameplate, .. } = registered else {
        panic!("expected a nameplate, got {registered:?}");
    };

    let mut viewer = Client::connect(relay).await;
    let paired = viewer
        .say(ClientMessage::Join {
            nameplate,
            name: "tech".to_owned(),
        })
        .await;
    let RelayMessage::Paired { session_id, peer } = paired else {
        panic!("expected pairing, got {paired:?}");
    };
    assert_eq!(peer, "desk-1");
    // A ticket to take the session back with, should the viewer's connection be lost.
    let resumable = viewer.hear().await;
    assert!(
        matches!(resumable, RelayMessage::Resumable { grace_secs: 30, .. }),
        "{resumable:?}"
    );
    assert_eq!(
        agent.hear().await,
        RelayMessage::Paired {
            session_id,
            peer: "tech".to_owned()
        }
    );
    Paired {
        agent,
        viewer,
        nameplate,
        session_id,
    }
}

/// What [`one_session`] did, for the tests to check the relay's record of it.
pub struct SessionReport {
    /// The nameplate the session was paired on.
    pub nameplate: Nameplate,
    /// The relay's session id.
    pub session_id: u64,
}

/// [`pair`]s `desk-1` and `tech`, which exchange [`TO_AGENT`] and [`TO_VIEWER`] bytes on one
/// stream; a second viewer `late` tries the used code and is refused; `tech` hangs up and the
/// agent, told so, hangs up too.
pub async fn one_session(relay: &Relay) -> SessionReport {
    let Paired {
        mut agent,
        viewer,
        nameplate,
        session_id,
    } = pair(relay).await;

    let (mut up, mut from_agent) = within("stream", viewer.relay.connection.open_bi())
        .await
        .expect("open");
    within("write", up.write_all(&[7; TO_AGENT]))
        .await
        .expect("write");
    up.finish().expect("finish");
    let (mut down, mut from_viewer) = within("stream", agent.relay.connection.accept_bi())
        .await
        .expect("accept");
    let received = within("the viewer's bytes", from_viewer.read_to_end(1 << 20))
        .await
        .expect("read");
    assert!(
        received.ends_with(&[7; TO_AGENT]),
        "the header, then the bytes"
    );
    within("write", down.write_all(&[9; TO_VIEWER]))
        .await
        .expect("write");
    down.finish().expect("finish");
    let echoed = within("the agent's bytes", from_agent.read_to_end(1 << 20))
        .await
        .expect("read");
    assert_eq!(echoed, [9; TO_VIEWER]);

    let mut late = Client::connect(relay).await;
    let refused = late
        .say(ClientMessage::Join {
            nameplate,
            name: "late".to_owned(),
        })
        .await;
    assert_eq!(
        refused,
        RelayMessage::Refused {
            reason: Refusal::CodeAlreadyUsed
        }
    );
    late.hang_up().await;

    viewer.hang_up().await;
    assert_eq!(
        agent.hear().await,
        RelayMessage::Ended {
            reason: EndReason::ViewerDisconnected
        }
    );
    agent.hang_up().await;
    SessionReport {
        nameplate,
        session_id,
    }
}
