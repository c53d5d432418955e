//! What the window must redraw: the remote rectangles updated since the last present, and
//! whether the pointer moved. Kept small: past a limit, everything is redrawn.

use tether_codec::{Frame, Rect};

/// Rectangles remembered before the whole picture counts as changed.
const MAX_RECTS: usize = 256;

/// Changes waiting for the next present.
#[derive(Debug, Default)]
pub struct PendingDamage {
    everything: bool,
    rects: Vec<Rect>,
    cursor: bool,
}

impl PendingDamage {
    /// The whole picture changed (a new size, a first frame).
    pub fn everything(&mut self) {
        self.everything = true;
        self.rects.clear();
    }

    /// These remote rectangles changed.
    pub fn add(&mut self, rects: &[Rect]) {
        if self.everything {
            return;
        }
        if self.rects.len() + rects.len() > MAX_RECTS {
            self.everything();
        } else {
            self.rects.extend_from_slice(rects);
        }
    }

    /// The pointer moved or changed shape.
    pub fn cursor(&mut self) {
        self.cursor = true;
    }

    /// Takes what is pending: `None` means redraw everything (as asked, or because nothing
    /// is pending, so the redraw came from the system, e.g. the window was uncovered);
    /// otherwise the remote rectangles to redraw (the pointer's area is always redrawn).
    pub fn take(&mut self) -> Option<Vec<Rect>> {
        let pending = std::mem::take(self);
        if pending.everything || (pending.rects.is_empty() && !pending.cursor) {
            None
        } else {
            Some(pending.rects)
        }
    }
}

/// Copies the `rects` of `from` into `into` (same size).
pub fn copy_rects(into: &mut Frame, from: &Frame, rects: &[Rect]) {
    let stride = from.width() as usize * 4;
    for rect in rects {
        for y in rect.y..(rect.y + rect.height).min(from.height()) {
            let start = y as usize * stride + rect.x as usize * 4;
            let end = (start + rect.width as usize * 4).min((y as usize + 1) * stride);
            if let (Some(dst), Some(src)) = (
                into.pixels_mut().get_mut(start..end),
                from.pixels().get(start..end),
            ) {
                dst.copy_from_slice(src);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u32) -> Rect {
        Rect {
            x,
            y: 0,
            width: 1,
            height: 1,
        }
    }

    #[test]
    fn nothing_pending_means_a_system_redraw_of_everything() {
        assert_eq!(PendingDamage::default().take(), None);
        let mut damage = PendingDamage::default();
        damage.cursor();
        assert_eq!(damage.take(), Some(vec![]));
        assert_eq!(damage.take(), None, "taking empties it");
    }

    #[test]
    fn too_many_rects_become_everything() {
        let mut damage = PendingDamage::default();
        damage.add(&[rect(1), rect(2)]);
        assert_eq!(damage.take(), Some(vec![rect(1), rect(2)]));
        let many: Vec<Rect> = (0..MAX_RECTS as u32 + 1).map(rect).collect();
        damage.add(&many);
        assert_eq!(damage.take(), None);
    }

    #[test]
    fn copying_rects_copies_exactly_those_pixels() {
        let from = Frame::new(4, 2, (0..32).collect()).unwrap();
        let mut into = Frame::new(4, 2, vec![0; 32]).unwrap();
        copy_rects(
            &mut into,
            &from,
            &[Rect {
                x: 1,
                y: 1,
                width: 2,
                height: 1,
            }],
        );
        let mut expected = vec![0u8; 32];
        expected[20..28].copy_from_slice(&(20..28).collect::<Vec<u8>>());
        assert_eq!(into.pixels(), expected.as_slice());
    }
}
