//! Clients run inside the test process, for checks the binaries cannot show: the viewer's
//! framebuffer as it changes, and a modified viewer that breaks the rules.

use std::{
    sync::{Arc, Mutex},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use tether_codec::Frame;
use tether_input::{InputEvent, Key, MouseButton, Press};
use tether_proto::session::{Capabilities, ViewerMessage};
use tether_viewer::{join, FrameObserver, JoinOptions, ViewOutcome};
use tokio::sync::Notify;

use crate::{relay_client::pinned_target, scripted_viewer::ScriptedViewer, within, Relay, TIMEOUT};

/// A viewer joined in this process; stopped (and waited for) by [`ViewerSession::stop`].
pub struct ViewerSession {
    stop: Arc<Notify>,
    thread: Option<JoinHandle<Option<ViewOutcome>>>,
}

impl ViewerSession {
    /// Ends the viewing and waits for it; returns its outcome unless it failed.
    pub fn stop(mut self) -> Option<ViewOutcome> {
        self.stop.notify_one();
        let thread = self.thread.take()?;
        let deadline = Instant::now() + TIMEOUT;
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the in-process viewer did not stop within {TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        thread.join().expect("viewer thread")
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
        target: pinned_target(relay, &relay.addr),
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
            .into_result()
            .map_err(|e| eprintln!("in-process viewer: {e}"))
            .ok()
    });
    ViewerSession {
        stop,
        thread: Some(thread),
    }
}

/// A modified viewer: asks only to view, is granted that, and sends input anyway (a pointer
/// move to (300, 300), a click, a key, text), then ends the session. Returns how many input
/// events it sent once the agent has read them all: the agent reads the session stream in
/// order, and it ends its side only after the close that follows the input.
pub fn send_input_while_view_only(relay: &Relay, code: &str) -> usize {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut rogue = ScriptedViewer::join(relay, &relay.addr, code, "rogue").await;
        assert!(!rogue.granted.control, "granted control: {}", rogue.granted);
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
            within(
                "send",
                rogue
                    .session
                    .send
                    .send(&ViewerMessage::Input(event.clone())),
            )
            .await
            .expect("input");
        }
        within("close", rogue.session.send.close())
            .await
            .expect("close");
        within("the agent's end of the session", async {
            while let Ok(Some(_)) = rogue.session.recv.recv().await {}
        })
        .await;
        rogue.control.hang_up().await;
        events.len()
    })
}
