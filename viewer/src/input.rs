//! The technician's mouse and keyboard in the viewer window, turned into remote input events
//! and handed to the session.

use std::sync::Arc;

use tether_input::{
    from_winit::{self, WheelAccumulator},
    HeldInput, InputEvent, Key, Press,
};
use tokio::sync::{mpsc, Mutex};
use winit::{
    dpi::PhysicalPosition,
    event::{Ime, WindowEvent},
};

use crate::view::View;

/// Events the window may queue ahead of the session; beyond it, new ones are dropped (the
/// session is stalled anyway, and a pointer position is superseded by the next).
const QUEUE: usize = 1024;

/// The session's end of the window's input: a cloneable handle on the receiving queue.
#[derive(Clone)]
pub struct InputFeed(Arc<Mutex<mpsc::Receiver<InputEvent>>>);

impl std::fmt::Debug for InputFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InputFeed")
    }
}

impl InputFeed {
    /// The next event from the window; `None` once the window is gone.
    pub async fn next(&self) -> Option<InputEvent> {
        self.0.lock().await.recv().await
    }
}

/// The window's end: converts winit events and queues them.
pub struct InputCapture {
    queue: mpsc::Sender<InputEvent>,
    wheel: WheelAccumulator,
    pointer: Option<PhysicalPosition<f64>>,
    /// What the remote has been told is down, to release it before a key chord.
    held: HeldInput,
}

/// A connected pair: the window's [`InputCapture`] and the session's [`InputFeed`].
pub fn input_channel() -> (InputCapture, InputFeed) {
    let (queue, events) = mpsc::channel(QUEUE);
    (
        InputCapture {
            queue,
            wheel: WheelAccumulator::new(),
            pointer: None,
            held: HeldInput::new(),
        },
        InputFeed(Arc::new(Mutex::new(events))),
    )
}

impl InputCapture {
    /// Handles one window event; `view` maps the pointer to the remote screen (`None` before
    /// the first picture: the pointer then goes nowhere).
    pub fn handle(&mut self, event: &WindowEvent, view: Option<&View>) {
        let events = match event {
            WindowEvent::CursorMoved { position, .. } => {
                self.pointer = Some(*position);
                self.pointer_at(view).into_iter().collect()
            }
            WindowEvent::MouseInput { state, button, .. } => {
                // Clicks land where the pointer is; send its position first in case the
                // window was entered without motion.
                let mut events: Vec<InputEvent> = self.pointer_at(view).into_iter().collect();
                events.extend(from_winit::mouse_button(*button, *state));
                events
            }
            WindowEvent::MouseWheel { delta, .. } => self.wheel.push(*delta).into_iter().collect(),
            // On focus changes X11 synthesizes presses of keys already held and releases of
            // keys still held: only the releases are worth passing on (no stuck keys remote).
            WindowEvent::KeyboardInput {
                event,
                is_synthetic,
                ..
            } if !*is_synthetic || !event.state.is_pressed() => from_winit::keyboard(
                event.physical_key,
                event.state,
                event.text.as_ref().map(|text| text.as_str()),
            ),
            WindowEvent::Ime(Ime::Commit(text)) => from_winit::ime_commit(text),
            _ => Vec::new(),
        };
        for event in events {
            self.send(event);
        }
    }

    /// Presses `keys` in order and releases them in reverse, as one chord (e.g. Ctrl+Alt+Del),
    /// after releasing whatever the remote holds (the local shortcut's modifiers among them).
    pub fn send_chord(&mut self, keys: &[Key]) {
        for event in self.held.release_all() {
            self.queue_event(event);
        }
        let downs = keys.iter().map(|&key| InputEvent::Key {
            key,
            press: Press::Down,
        });
        let ups = keys.iter().rev().map(|&key| InputEvent::Key {
            key,
            press: Press::Up,
        });
        for event in downs.chain(ups).collect::<Vec<_>>() {
            self.send(event);
        }
    }

    /// Releases whatever the remote was told is down (e.g. when input stops going there).
    pub fn release_all(&mut self) {
        for event in self.held.release_all() {
            self.queue_event(event);
        }
    }

    fn send(&mut self, event: InputEvent) {
        self.held.apply(&event);
        self.queue_event(event);
    }

    fn queue_event(&self, event: InputEvent) {
        // A full queue means a stalled session; dropping is better than blocking the UI.
        let _ = self.queue.try_send(event);
    }

    /// Follows the pointer without telling the remote (e.g. over the console's toolbar).
    pub fn pointer_moved(&mut self, position: PhysicalPosition<f64>) {
        self.pointer = Some(position);
    }

    /// Where the pointer last was in the window, if it was seen.
    pub fn pointer(&self) -> Option<PhysicalPosition<f64>> {
        self.pointer
    }

    /// A pointer move to the remote pixel under the pointer (e.g. after the view scrolled).
    pub fn move_pointer(&mut self, view: &View) {
        if let Some(event) = self.pointer_at(Some(view)) {
            self.send(event);
        }
    }

    fn pointer_at(&self, view: Option<&View>) -> Option<InputEvent> {
        let position = self.pointer?;
        let (x, y) = view?.to_remote(position.x, position.y)?;
        Some(InputEvent::PointerMove { x, y })
    }
}
