//! A screen source that remembers its latest frames by capture number, so the in-process demo
//! can check that the viewer's picture equals what the agent captured, whatever the screen.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tether_codec::Frame;
use tether_screen::{CaptureError, Captured, CursorState, ScreenSource};

/// Frames kept: the viewer's last update is at most the agent's pull window behind.
const KEPT: usize = 8;

/// The frames a [`Recording`] source captured most recently, by capture number.
#[derive(Clone, Default)]
pub struct Recorded(Arc<Mutex<VecDeque<(u64, Frame)>>>);

impl Recorded {
    /// The frame of capture `seq`, if still kept.
    pub fn frame(&self, seq: u64) -> Option<Frame> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(kept, _)| *kept == seq)
            .map(|(_, frame)| frame.clone())
    }

    fn keep(&self, seq: u64, frame: &Frame) {
        let mut frames = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if frames.len() == KEPT {
            frames.pop_front();
        }
        frames.push_back((seq, frame.clone()));
    }
}

/// Wraps a source and records every frame it captures, numbered as the agent's pipeline
/// numbers its captures (successful ones, from 0).
pub struct Recording {
    inner: Box<dyn ScreenSource>,
    captures: u64,
    recorded: Recorded,
}

impl Recording {
    /// Records what `inner` captures into the returned [`Recorded`].
    pub fn new(inner: Box<dyn ScreenSource>) -> (Self, Recorded) {
        let recorded = Recorded::default();
        (
            Self {
                inner,
                captures: 0,
                recorded: recorded.clone(),
            },
            recorded,
        )
    }
}

impl ScreenSource for Recording {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn capture(&mut self) -> Result<&Frame, CaptureError> {
        Ok(self.capture_with_damage()?.frame)
    }

    fn capture_with_damage(&mut self) -> Result<Captured<'_>, CaptureError> {
        let captured = self.inner.capture_with_damage()?;
        self.recorded.keep(self.captures, captured.frame);
        self.captures += 1;
        Ok(captured)
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, CaptureError> {
        self.inner.wait_for_change(timeout)
    }

    fn cursor(&mut self) -> Result<Option<CursorState<'_>>, CaptureError> {
        self.inner.cursor()
    }
}

#[cfg(test)]
mod tests {
    use tether_screen::DemoDesktop;

    use super::*;

    #[test]
    fn frames_are_kept_by_capture_number_and_the_oldest_go_first() {
        let (mut source, recorded) = Recording::new(Box::new(DemoDesktop::new(64, 48, 3)));
        for _ in 0..KEPT + 2 {
            source.capture().expect("capture");
        }
        let demo = DemoDesktop::new(64, 48, 3);
        assert_eq!(recorded.frame(0), None);
        assert_eq!(recorded.frame(2), Some(demo.frame(2)));
        assert_eq!(
            recorded.frame(KEPT as u64 + 1),
            Some(demo.frame(KEPT as u64 + 1))
        );
    }
}
