//! Clients run inside the test process, for checks the binaries cannot show: the viewer's
//! framebuffer as it changes, and a modified viewer that breaks the rules.

use std::{
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use tether_codec::Frame;
use tether_input::{InputEvent, Key, MouseButton, Press};
use tether_proto::{
    control::{ClientMessage, RelayMessage},
    session::{AgentMessage, Capabilities, ViewerMessage},
    SessionCode, PROTOCOL_VERSION,
};
use tether_transport::{
    connect_to_relay, open_control, viewer_handshake, RelayTarget, SecureStream,
};
use tether_viewer::{join, FrameObserver, JoinOptions, ViewOutcome};
use tokio::sync::Notify;

use crate::Relay;

fn target(relay: &Relay, known: &str) -> RelayTarget {
    RelayTarget {
        relay: relay.addr.clone(),
        fingerprint: Some(relay.fingerprint.parse().expect("fingerprint")),
        known_relays: relay.path(known).into(),
    }
}

/// A viewer joined in this process; stopped (and waited for) by [`ViewerSession::stop`].
pub struct ViewerSession {
    stop: Arc<Notify>,
    thread: Option<JoinHandle<Option<ViewOutcome>>>,
}

impl ViewerSession {
    /// Ends the viewing and waits for it; returns its outcome unless it failed.
    pub fn stop(mut self) -> Option<ViewOutcome> {
        self.stop.notify_one();
        self.thread
            .take()
            .and_then(|thread| thread.join().expect("viewer thread"))
    }
}

/// Joins `code` through `relay` with the viewer library; every applied update's framebuffer
/// is stored in `latest`.
pub fn in_process_viewer(
    relay: &Relay,
    code: &str,
    latest: Arc<Mutex<Option<Frame>>>,
) -> ViewerSession {
    let options = JoinOptions {
        target: target(relay, "in_process_viewer_known_relays"),
        code: code.parse().expect("code"),
        name: "in-process viewer".into(),
        wants: Capabilities::VIEW_ONLY,
        frames: None,
        observer: Some(FrameObserver::new(move |frame, _| {
            *latest.lock().expect("lock") = Some(frame.clone());
        })),
        cursor: None,
        stop: None,
        events: None,
        input: None,
    };
    let stop = Arc::new(Notify::new());
    let options = JoinOptions {
        stop: Some(stop.clone()),
        ..options
    };
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime
            .block_on(join(&options))
            .map_err(|e| eprintln!("in-process viewer: {e}"))
            .ok()
    });
    ViewerSession {
        stop,
        thread: Some(thread),
    }
}

/// A modified viewer: asks only to view, is granted that, and sends input anyway (a pointer
/// move to (300, 300), a click, a key, text). Returns how many input events it sent.
pub fn send_input_while_view_only(relay: &Relay, code: &str) -> usize {
    let code: SessionCode = code.parse().expect("code");
    let target = target(relay, "rogue_known_relays");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let relay = connect_to_relay(&target).await.expect("connect");
        let (mut control, mut answers) = open_control(&relay.connection, "rogue viewer")
            .await
            .expect("control");
        control
            .send(&ClientMessage::Join {
                nameplate: code.nameplate(),
                name: "rogue".into(),
            })
            .await
            .expect("join");
        let session_id = loop {
            match answers.recv().await.expect("relay") {
                Some(RelayMessage::Welcome { .. }) => {}
                Some(RelayMessage::Paired { session_id, .. }) => break session_id,
                other => panic!("not paired: {other:?}"),
            }
        };
        let stream = relay.connection.open_bi().await.expect("stream");
        let mut session: SecureStream<ViewerMessage, AgentMessage> =
            viewer_handshake(stream, code, session_id)
                .await
                .expect("handshake");
        session
            .send
            .send(&ViewerMessage::Hello {
                version: PROTOCOL_VERSION,
                window: 2,
                technician: "rogue".into(),
                wants: Capabilities::VIEW_ONLY,
            })
            .await
            .expect("hello");
        loop {
            match session.recv.recv().await.expect("agent") {
                Some(AgentMessage::Hello { granted, .. }) => {
                    assert!(!granted.control, "granted control: {granted}");
                    break;
                }
                Some(_) => {}
                None => panic!("the agent ended the session"),
            }
        }
        let events = [
            InputEvent::PointerMove { x: 300, y: 300 },
            InputEvent::Button {
                button: MouseButton::Left,
                press: Press::Down,
            },
            InputEvent::Button {
                button: MouseButton::Left,
                press: Press::Up,
            },
            InputEvent::Key {
                key: Key::KeyA,
                press: Press::Down,
            },
            InputEvent::Key {
                key: Key::KeyA,
                press: Press::Up,
            },
            InputEvent::Text("x".into()),
        ];
        for event in &events {
            session
                .send
                .send(&ViewerMessage::Input(event.clone()))
                .await
                .expect("input");
        }
        // Give the agent time to read (and drop) them before the session ends.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = session.send.close().await;
        relay.connection.close(0u32.into(), b"done");
        relay.endpoint.wait_idle().await;
        events.len()
    })
}
