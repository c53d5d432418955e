//! A scripted agent and viewer speaking the relay's real control protocol, for the tests that
//! need a whole session to happen.

use std::{
    io::{BufRead, BufReader, Lines},
    path::Path,
    process::{Child, ChildStdout, Command, Stdio},
};

use tether_certs::Fingerprint;
use tether_proto::{
    control::{ClientMessage, EndReason, Refusal, RelayMessage},
    Nameplate,
};
use tether_transport::{
    connect_to_relay, open_control, MessageReceiver, MessageSender, RelayConnection, RelayTarget,
};

/// Bytes the viewer sends to the agent in [`one_session`].
pub const TO_AGENT: usize = 1000;
/// Bytes the agent sends back.
pub const TO_VIEWER: usize = 500;

/// A client with its control stream open and the relay's welcome read.
pub struct Client {
    pub relay: RelayConnection,
    pub send: MessageSender<ClientMessage>,
    pub recv: MessageReceiver<RelayMessage>,
}

/// A QUIC connection to the relay, pinned to `fingerprint`, with nothing said yet.
pub async fn connect_raw(
    relay: &str,
    fingerprint: Fingerprint,
    known_relays: &Path,
) -> Result<RelayConnection, tether_transport::ConnectError> {
    let target = RelayTarget {
        relay: relay.to_owned(),
        fingerprint: Some(fingerprint),
        known_relays: known_relays.to_owned(),
    };
    connect_to_relay(&target).await
}

impl Client {
    pub async fn connect(relay: &str, fingerprint: Fingerprint, known_relays: &Path) -> Self {
        let relay = connect_raw(relay, fingerprint, known_relays)
            .await
            .expect("connect");
        let (send, mut recv) = open_control(&relay.connection, "relay-test 0")
            .await
            .expect("control stream");
        let welcome = recv.recv().await.expect("welcome");
        assert!(
            matches!(welcome, Some(RelayMessage::Welcome { .. })),
            "{welcome:?}"
        );
        Self { relay, send, recv }
    }

    pub async fn say(&mut self, message: ClientMessage) -> RelayMessage {
        self.send.send(&message).await.expect("send");
        self.hear().await
    }

    pub async fn hear(&mut self) -> RelayMessage {
        self.recv.recv().await.expect("receive").expect("a message")
    }

    /// Closes the connection and waits until the relay has been told, so the relay does not
    /// wait for an idle timeout when the test's runtime stops right after.
    pub async fn hang_up(self) {
        self.relay.connection.close(0u32.into(), b"done");
        self.relay.endpoint.wait_idle().await;
    }
}

/// A paired agent `desk-1` and viewer `tech`.
pub struct Paired {
    pub agent: Client,
    pub viewer: Client,
    pub nameplate: Nameplate,
    pub session_id: u64,
}

/// An agent `desk-1` registers and viewer `tech` joins it; both are told they are paired, and
/// the viewer gets its resume ticket.
pub async fn pair(relay: &str, fingerprint: Fingerprint, known: &Path) -> Paired {
    let mut agent = Client::connect(relay, fingerprint, known).await;
    let registered = agent
        .say(ClientMessage::Register {
            name: "desk-1".to_owned(),
            auto_accept: false,
        })
        .await;
    let RelayMessage::Registered { nameplate, .. } = registered else {
        panic!("expected a nameplate, got {registered:?}");
    };

    let mut viewer = Client::connect(relay, fingerprint, known).await;
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
    pub nameplate: Nameplate,
    pub session_id: u64,
}

/// [`pair`]s `desk-1` and `tech`, which exchange [`TO_AGENT`] and [`TO_VIEWER`] bytes on one
/// stream; a second viewer `late` tries the used code and is refused; `tech` hangs up and the
/// agent, told so, hangs up too.
pub async fn one_session(relay: &str, fingerprint: Fingerprint, dir: &Path) -> SessionReport {
    let known = dir.join("known_relays");
    let Paired {
        mut agent,
        viewer,
        nameplate,
        session_id,
    } = pair(relay, fingerprint, &known).await;

    let (mut up, mut from_agent) = viewer.relay.connection.open_bi().await.expect("open");
    up.write_all(&[7; TO_AGENT]).await.expect("write");
    up.finish().expect("finish");
    let (mut down, mut from_viewer) = agent.relay.connection.accept_bi().await.expect("accept");
    let received = from_viewer.read_to_end(1 << 20).await.expect("read");
    assert!(
        received.ends_with(&[7; TO_AGENT]),
        "the header, then the bytes"
    );
    down.write_all(&[9; TO_VIEWER]).await.expect("write");
    down.finish().expect("finish");
    let echoed = from_agent.read_to_end(1 << 20).await.expect("read");
    assert_eq!(echoed, [9; TO_VIEWER]);

    let mut late = Client::connect(relay, fingerprint, &known).await;
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

/// The relay binary started by a test, killed even when an assertion fails.
pub struct RunningRelay {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The fingerprint it printed.
    pub fingerprint: Fingerprint,
    /// Its stdout after the readiness lines.
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl RunningRelay {
    /// Starts `tether-relay --listen 127.0.0.1:0 --data-dir DATA ARGS…` and reads its
    /// `listening on` and `fingerprint:` lines.
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut line = || stdout.next().unwrap().unwrap();
        let addr = line().strip_prefix("listening on ").unwrap().to_owned();
        let fingerprint = line()
            .strip_prefix("fingerprint: ")
            .unwrap()
            .parse()
            .unwrap();
        Self {
            child,
            addr,
            fingerprint,
            stdout,
        }
    }

    /// The next line it prints.
    pub fn line(&mut self) -> String {
        self.stdout.next().unwrap().unwrap()
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
