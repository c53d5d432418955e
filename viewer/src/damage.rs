//! What the window must upload: the remote rectangles updated since it last took them. Kept
//! small: past a limit, the whole picture counts as changed.

use tether_codec::{Frame, Rect};

/// Rectangles remembered before the whole picture counts as changed.
const MAX_RECTS: usize = 256;

/// Changes waiting for the window.
#[derive(Debug, Default)]
pub struct PendingDamage {
    everything: bool,
    rects: Vec<Rect>,
}

/// What changed since the window last looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Nothing.
    Nothing,
    /// These remote rectangles.
    Rects(Vec<Rect>),
    /// The whole picture (a new size, a first frame, or too many rectangles).
    Everything,
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

    /// Takes what is pending, leaving nothing.
    pub fn take(&mut self) -> Damage {
        let pending = std::mem::take(self);
        if pending.everything {
            Damage::Everything
        } else if pending.rects.is_empty() {
            Damage::Nothing
        } else {
            Damage::Rects(pending.rects)
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
    fn taking_empties_what_is_pending() {
        let mut damage = PendingDamage::default();
        assert_eq!(damage.take(), Damage::Nothing);
        damage.add(&[rect(1), rect(2)]);
        assert_eq!(damage.take(), Damage::Rects(vec![rect(1), rect(2)]));
        assert_eq!(damage.take(), Damage::Nothing, "taking empties it");
        damage.everything();
        damage.add(&[rect(3)]);
        assert_eq!(damage.take(), Damage::Everything);
    }

    #[test]
    fn too_many_rects_become_everything() {
        let mut damage = PendingDamage::default();
        let many: Vec<Rect> = (0..MAX_RECTS as u32 + 1).map(rect).collect();
        damage.add(&many);
        assert_eq!(damage.take(), Damage::Everything);
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
