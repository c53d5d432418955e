//! The text being typed into the window: one character every [`FRAMES_PER_CHAR`] frames,
//! word-wrapped to the window width, with a blinking block cursor.

/// The paragraph typed into the demo window (ASCII only).
pub(crate) const TEXT: &str = "Tether is an open-source remote desktop. \
The agent captures this screen, the codec finds what changed since the last frame, \
and the viewer paints exactly those pixels back.\n\
Everything travels over QUIC with TLS, directly or through a relay.\n\
You are looking at the built-in demo desktop: every frame is deterministic, \
which makes it perfect for tests and a fallback when no display exists.";

/// Frames per typed character.
pub(crate) const FRAMES_PER_CHAR: u64 = 2;
/// Frames the fully typed text stays on screen before typing restarts.
pub(crate) const HOLD_FRAMES: u64 = 60;
/// Frames the cursor stays on, then off.
pub(crate) const BLINK_FRAMES: u64 = 15;

/// A text cell: line and column in the wrapped text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    /// Line, counted from the first line of the text.
    pub line: i32,
    /// Column, 0..cols.
    pub col: i32,
}

/// [`TEXT`] wrapped to a fixed number of columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Typing {
    /// `cells[i]` is where character `i` of [`TEXT`] goes; the extra last entry is where
    /// the cursor rests once everything is typed.
    cells: Vec<Cell>,
}

impl Typing {
    /// [`TEXT`] greedily word-wrapped to `cols` columns (at least 1); words longer than a
    /// line are broken, spaces at line ends are swallowed by the break.
    pub fn new(cols: i32) -> Typing {
        let cols = cols.max(1);
        let bytes = TEXT.as_bytes();
        let mut cells = Vec::with_capacity(bytes.len() + 1);
        let mut at = Cell { line: 0, col: 0 };
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    cells.push(at);
                    at = Cell {
                        line: at.line + 1,
                        col: 0,
                    };
                    i += 1;
                }
                b' ' if at.col >= cols => {
                    at = Cell {
                        line: at.line + 1,
                        col: 0,
                    };
                    cells.push(at);
                    i += 1;
                }
                b' ' => {
                    cells.push(at);
                    at.col += 1;
                    i += 1;
                }
                _ => {
                    let end = bytes[i..]
                        .iter()
                        .position(|b| matches!(b, b' ' | b'\n'))
                        .map_or(bytes.len(), |n| i + n);
                    let len = i32::try_from(end - i).unwrap_or(i32::MAX);
                    if at.col > 0 && at.col.saturating_add(len) > cols {
                        at = Cell {
                            line: at.line + 1,
                            col: 0,
                        };
                    }
                    for _ in i..end {
                        if at.col >= cols {
                            at = Cell {
                                line: at.line + 1,
                                col: 0,
                            };
                        }
                        cells.push(at);
                        at.col += 1;
                    }
                    i = end;
                }
            }
        }
        if at.col >= cols {
            at = Cell {
                line: at.line + 1,
                col: 0,
            };
        }
        cells.push(at);
        Typing { cells }
    }

    /// How many characters of [`TEXT`] are typed at frame `index`.
    pub fn typed(&self, index: u64) -> usize {
        let len = TEXT.len() as u64;
        let cycle = len * FRAMES_PER_CHAR + HOLD_FRAMES;
        let typed = ((index % cycle) / FRAMES_PER_CHAR).min(len);
        // typed <= TEXT.len(), a usize.
        typed as usize
    }

    /// Whether the blinking cursor is drawn at frame `index`.
    pub fn cursor_visible(index: u64) -> bool {
        (index / BLINK_FRAMES) % 2 == 0
    }

    /// The typed characters at frame `index` with their cells, and the cursor's cell.
    pub fn state(&self, index: u64) -> (impl Iterator<Item = (char, Cell)> + '_, Cell) {
        let typed = self.typed(index);
        let chars = TEXT.chars().zip(self.cells.iter().copied()).take(typed);
        (chars, self.cells[typed])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible lines: every drawn character at its cell, blanks elsewhere.
    fn lines(typing: &Typing) -> Vec<String> {
        let mut grid: Vec<Vec<char>> = Vec::new();
        for (c, cell) in TEXT.chars().zip(&typing.cells) {
            if c == ' ' || c == '\n' {
                continue;
            }
            let (line, col) = (cell.line as usize, cell.col as usize);
            if grid.len() <= line {
                grid.resize(line + 1, Vec::new());
            }
            let row = &mut grid[line];
            if row.len() <= col {
                row.resize(col + 1, ' ');
            }
            assert_eq!(row[col], ' ', "two characters share {cell:?}");
            row[col] = c;
        }
        grid.iter().map(|row| row.iter().collect()).collect()
    }

    #[test]
    fn text_is_printable_ascii() {
        assert!(TEXT
            .bytes()
            .all(|b| b == b'\n' || (b' '..=b'~').contains(&b)));
    }

    #[test]
    fn wraps_at_word_boundaries_within_the_width() {
        let typing = Typing::new(20);
        assert_eq!(typing.cells.len(), TEXT.len() + 1);
        for cell in &typing.cells {
            assert!((0..20).contains(&cell.col), "{cell:?}");
        }
        let lines = lines(&typing);
        assert_eq!(lines[0], "Tether is an");
        assert_eq!(lines[1], "open-source remote");
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&lines.join(" ")), words(TEXT), "no word is split");
    }

    #[test]
    fn breaks_words_longer_than_a_line() {
        let typing = Typing::new(3);
        let lines = lines(&typing);
        assert_eq!(&lines[..4], ["Tet", "her", "is", "an"]);
        assert_eq!(Typing::new(0), Typing::new(1));
    }

    #[test]
    fn types_one_character_every_two_frames_then_holds_and_restarts() {
        let typing = Typing::new(40);
        let len = TEXT.len() as u64;
        assert_eq!(typing.typed(0), 0);
        assert_eq!(typing.typed(1), 0);
        assert_eq!(typing.typed(2), 1);
        assert_eq!(typing.typed(7), 3);
        assert_eq!(typing.typed(2 * len), TEXT.len());
        assert_eq!(typing.typed(2 * len + HOLD_FRAMES - 1), TEXT.len());
        assert_eq!(typing.typed(2 * len + HOLD_FRAMES), 0);
        let (chars, cursor) = typing.state(7);
        assert_eq!(chars.map(|(c, _)| c).collect::<String>(), "Tet");
        assert_eq!(cursor, Cell { line: 0, col: 3 });
    }

    #[test]
    fn cursor_blinks_every_fifteen_frames() {
        let on: Vec<bool> = [0, 14, 15, 29, 30].map(Typing::cursor_visible).to_vec();
        assert_eq!(on, [true, true, false, false, true]);
    }
}
