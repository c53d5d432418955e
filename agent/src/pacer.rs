//! The agent's pull window: at most `window` frame updates unacknowledged at once.
//!
//! While the window is full the agent captures nothing; when an acknowledgement opens room it
//! captures the current screen and encodes it against the last update sent, so changes made
//! meanwhile merge into one update instead of queueing as stale frames.

use std::collections::VecDeque;

/// The viewer acknowledged something the agent never sent (or out of order).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("viewer acknowledged update {acked}, but the oldest update in flight is {expected:?}")]
pub struct UnexpectedAck {
    /// What the viewer acknowledged.
    pub acked: u64,
    /// The update the agent expected to be acknowledged next, if any.
    pub expected: Option<u64>,
}

/// Tracks updates in flight.
#[derive(Debug)]
pub struct FramePacer {
    window: usize,
    in_flight: VecDeque<u64>,
}

impl FramePacer {
    /// Largest window the agent grants, whatever the viewer asks.
    pub const MAX_WINDOW: u8 = 8;

    /// A pacer allowing `window` updates in flight (clamped to `1..=MAX_WINDOW`).
    pub fn new(window: u8) -> Self {
        let window = usize::from(window.clamp(1, Self::MAX_WINDOW));
        Self {
            window,
            in_flight: VecDeque::with_capacity(window),
        }
    }

    /// Whether another update may be sent now.
    pub fn has_room(&self) -> bool {
        self.in_flight.len() < self.window
    }

    /// Records that update `seq` was sent.
    pub fn on_sent(&mut self, seq: u64) {
        self.in_flight.push_back(seq);
    }

    /// Records the viewer's acknowledgement of `seq`; acknowledgements come in sending order.
    pub fn on_ack(&mut self, seq: u64) -> Result<(), UnexpectedAck> {
        match self.in_flight.front() {
            Some(&expected) if expected == seq => {
                self.in_flight.pop_front();
                Ok(())
            }
            expected => Err(UnexpectedAck {
                acked: seq,
                expected: expected.copied(),
            }),
        }
    }

    /// Updates sent but not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fills_and_drains_in_order() {
        let mut pacer = FramePacer::new(2);
        assert!(pacer.has_room());
        pacer.on_sent(0);
        pacer.on_sent(3);
        assert!(!pacer.has_room());
        assert_eq!(pacer.on_ack(0), Ok(()));
        assert!(pacer.has_room());
        assert_eq!(pacer.on_ack(3), Ok(()));
        assert_eq!(pacer.in_flight(), 0);
    }

    #[test]
    fn window_is_clamped() {
        assert!(FramePacer::new(0).has_room());
        let mut pacer = FramePacer::new(200);
        for seq in 0..u64::from(FramePacer::MAX_WINDOW) {
            pacer.on_sent(seq);
        }
        assert!(!pacer.has_room());
    }

    #[test]
    fn unsent_or_out_of_order_acks_are_errors() {
        let mut pacer = FramePacer::new(4);
        assert_eq!(
            pacer.on_ack(1),
            Err(UnexpectedAck {
                acked: 1,
                expected: None
            })
        );
        pacer.on_sent(1);
        pacer.on_sent(2);
        assert_eq!(
            pacer.on_ack(2),
            Err(UnexpectedAck {
                acked: 2,
                expected: Some(1)
            })
        );
    }
}
