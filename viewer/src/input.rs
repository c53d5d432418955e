//! The technician's mouse and keyboard in the viewer window, turned into remote input events
//! and handed to the session.

use std::sync::Arc;

use tether_input::{
    from_winit::{self, WheelAccumulator},
    InputEvent,
};
use tokio::sync::{mpsc, Mutex};
use winit::{
    dpi::PhysicalPosition,
    event::{Ime, WindowEvent},
};

use crate::scale::fit;

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
}

/// A connected pair: the window's [`InputCapture`] and the session's [`InputFeed`].
pub fn input_channel() -> (InputCapture, InputFeed) {
    let (queue, events) = mpsc::channel(QUEUE);
    (
        InputCapture {
            queue,
            wheel: WheelAccumulator::new(),
            pointer: None,
        },
        InputFeed(Arc::new(Mutex::new(events))),
    )
}

impl InputCapture {
    /// Handles one window event. `frame` is the remote screen's size and `window` the window's
    /// inner size, both in pixels, to map the pointer into remote coordinates.
    pub fn handle(&mut self, event: &WindowEvent, frame: Option<(u32, u32)>, window: (u32, u32)) {
        let events = match event {
            WindowEvent::CursorMoved { position, .. } => {
                self.pointer = Some(*position);
                self.pointer_at(frame, window).into_iter().collect()
            }
            WindowEvent::MouseInput { state, button, .. } => {
                // Clicks land where the pointer is; send its position first in case the
                // window was entered without motion.
                let mut events: Vec<InputEvent> =
                    self.pointer_at(frame, window).into_iter().collect();
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
            // A full queue means a stalled session; dropping is better than blocking the UI.
            let _ = self.queue.try_send(event);
        }
    }

    fn pointer_at(&self, frame: Option<(u32, u32)>, window: (u32, u32)) -> Option<InputEvent> {
        let (position, (frame_w, frame_h)) = (self.pointer?, frame?);
        let (x, y) = to_remote(position, (frame_w, frame_h), window)?;
        Some(InputEvent::PointerMove { x, y })
    }
}

/// Maps a window position to the remote pixel under it (scale to fit, letterboxed); positions
/// in the letterbox clamp to the nearest edge.
pub fn to_remote(
    position: PhysicalPosition<f64>,
    (frame_w, frame_h): (u32, u32),
    (window_w, window_h): (u32, u32),
) -> Option<(u32, u32)> {
    let place = fit(frame_w, frame_h, window_w, window_h);
    if place.width == 0 || place.height == 0 || frame_w == 0 || frame_h == 0 {
        return None;
    }
    let along = |pos: f64, start: u32, shown: u32, remote: u32| -> u32 {
        let fraction = (pos - f64::from(start)) / f64::from(shown);
        // Truncation picks the remote pixel the window pixel shows (as the blit does).
        (fraction * f64::from(remote)).clamp(0.0, f64::from(remote - 1)) as u32
    };
    Some((
        along(position.x, place.x, place.width, frame_w),
        along(position.y, place.y, place.height, frame_h),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64) -> PhysicalPosition<f64> {
        PhysicalPosition::new(x, y)
    }

    #[test]
    fn one_to_one_maps_pixels_to_themselves() {
        assert_eq!(
            to_remote(at(0.0, 0.0), (640, 480), (640, 480)),
            Some((0, 0))
        );
        assert_eq!(
            to_remote(at(639.5, 479.5), (640, 480), (640, 480)),
            Some((639, 479))
        );
        assert_eq!(
            to_remote(at(100.2, 200.9), (640, 480), (640, 480)),
            Some((100, 200))
        );
    }

    #[test]
    fn a_scaled_down_picture_maps_back_up() {
        // 1920x1080 shown in 960x540: each window pixel covers two remote pixels.
        assert_eq!(
            to_remote(at(480.0, 270.0), (1920, 1080), (960, 540)),
            Some((960, 540))
        );
    }

    #[test]
    fn the_letterbox_clamps_to_the_picture_edge() {
        // 1000x500 in a 1000x1000 window: the picture spans rows 250..750.
        assert_eq!(
            to_remote(at(10.0, 100.0), (1000, 500), (1000, 1000)),
            Some((10, 0))
        );
        assert_eq!(
            to_remote(at(999.0, 900.0), (1000, 500), (1000, 1000)),
            Some((999, 499))
        );
    }

    #[test]
    fn an_empty_window_maps_nothing() {
        assert_eq!(to_remote(at(1.0, 1.0), (640, 480), (0, 0)), None);
    }
}
