//! ssh-style escape sequences in the keystrokes of an interactive shell, as a pure state
//! machine: bytes in, bytes to forward and actions out.
//!
//! A `~` right after Enter (or as the session's very first keystroke) starts an escape:
//! `~.` disconnects, `~?` lists the escapes, `~~` sends one `~`; any other byte after the `~`
//! sends both. A `~` anywhere else is an ordinary keystroke.

/// The character that starts an escape.
const ESCAPE: u8 = b'~';

/// What the technician asked for with an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapeAction {
    /// `~.`: drop the session, whatever state the remote program is in.
    Disconnect,
    /// `~?`: show the list of escapes.
    Help,
}

/// What one chunk of keystrokes amounts to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The bytes to send to the remote terminal.
    pub forward: Vec<u8>,
    /// The escapes typed, in order. Nothing typed after a [`EscapeAction::Disconnect`] is
    /// scanned.
    pub actions: Vec<EscapeAction>,
}

/// Finds escapes in the stream of keystrokes, across chunk boundaries.
#[derive(Debug, Clone)]
pub struct EscapeScanner {
    at_line_start: bool,
    after_escape: bool,
}

impl EscapeScanner {
    /// The list of escapes shown by `~?`, with `\r\n` line ends for a terminal in raw mode.
    pub const HELP: &'static str = "\r\nSupported escape sequences:\r\n \
        ~.   - disconnect\r\n \
        ~?   - this message\r\n \
        ~~   - send the escape character by typing it twice\r\n\
        (Note that escapes are only recognized immediately after newline.)\r\n";

    /// A scanner at the start of a session, where a `~` starts an escape.
    pub fn new() -> Self {
        Self {
            at_line_start: true,
            after_escape: false,
        }
    }

    /// Scans the next keystrokes.
    pub fn feed(&mut self, input: &[u8]) -> Scanned {
        let mut scanned = Scanned {
            forward: Vec::with_capacity(input.len()),
            actions: Vec::new(),
        };
        for &byte in input {
            if self.after_escape {
                self.after_escape = false;
                match byte {
                    b'.' => {
                        scanned.actions.push(EscapeAction::Disconnect);
                        return scanned;
                    }
                    // Nothing was sent, so the remote line is still empty: another escape may
                    // follow right away.
                    b'?' => {
                        scanned.actions.push(EscapeAction::Help);
                        continue;
                    }
                    ESCAPE => scanned.forward.push(ESCAPE),
                    other => scanned.forward.extend_from_slice(&[ESCAPE, other]),
                }
            } else if self.at_line_start && byte == ESCAPE {
                self.after_escape = true;
                continue;
            } else {
                scanned.forward.push(byte);
            }
            self.at_line_start = matches!(byte, b'\r' | b'\n');
        }
        scanned
    }
}

impl Default for EscapeScanner {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scan(chunks: &[&[u8]]) -> Scanned {
        let mut scanner = EscapeScanner::new();
        let mut all = Scanned::default();
        for chunk in chunks {
            let scanned = scanner.feed(chunk);
            all.forward.extend(scanned.forward);
            all.actions.extend(scanned.actions);
        }
        all
    }

    #[test]
    fn tilde_dot_after_enter_disconnects_and_drops_the_rest() {
        let scanned = scan(&[b"ls\r~.more"]);
        assert_eq!(scanned.forward, b"ls\r");
        assert_eq!(scanned.actions, [EscapeAction::Disconnect]);
    }

    #[test]
    fn the_first_keystroke_counts_as_after_enter() {
        assert_eq!(scan(&[b"~."]).actions, [EscapeAction::Disconnect]);
        assert_eq!(scan(&[b"\n~."]).actions, [EscapeAction::Disconnect]);
    }

    #[test]
    fn escapes_span_chunks() {
        let scanned = scan(&[b"echo\r", b"~", b"."]);
        assert_eq!(scanned.forward, b"echo\r");
        assert_eq!(scanned.actions, [EscapeAction::Disconnect]);
    }

    #[test]
    fn tilde_mid_line_is_a_keystroke() {
        let scanned = scan(&[b"cd ~/src; echo a~.b\r"]);
        assert_eq!(scanned.forward, b"cd ~/src; echo a~.b\r");
        assert!(scanned.actions.is_empty());
    }

    #[test]
    fn double_tilde_sends_one_and_the_line_goes_on() {
        let scanned = scan(&[b"~~.\r"]);
        assert_eq!(scanned.forward, b"~.\r");
        assert!(scanned.actions.is_empty());
    }

    #[test]
    fn unknown_escapes_send_both_bytes() {
        let scanned = scan(&[b"~x", b"\r~\r"]);
        assert_eq!(scanned.forward, b"~x\r~\r");
        assert!(scanned.actions.is_empty());
    }

    #[test]
    fn help_leaves_the_line_empty_for_another_escape() {
        let scanned = scan(&[b"~?~."]);
        assert!(scanned.forward.is_empty());
        assert_eq!(
            scanned.actions,
            [EscapeAction::Help, EscapeAction::Disconnect]
        );
        assert!(EscapeScanner::HELP.contains("~."));
        assert!(!EscapeScanner::HELP.replace("\r\n", "").contains('\n'));
    }

    /// Splits `bytes` at the given cut points (taken modulo its length).
    fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        cuts.windows(2)
            .map(|window| bytes[window[0]..window[1]].to_vec())
            .collect()
    }

    proptest! {
        #[test]
        fn input_without_escapes_is_forwarded_unchanged(
            bytes in proptest::collection::vec(any::<u8>().prop_filter("no ~", |b| *b != ESCAPE), 0..512),
            cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let chunks = chunked(&bytes, &cuts);
            let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let scanned = scan(&chunks);
            prop_assert_eq!(scanned.forward, bytes);
            prop_assert!(scanned.actions.is_empty());
        }

        #[test]
        fn chunking_never_changes_the_outcome(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'~'), Just(b'.'), Just(b'?'), Just(b'\r'), Just(b'\n'), any::<u8>()],
                0..256,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let chunks = chunked(&bytes, &cuts);
            let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            // After a disconnect the caller stops feeding, so compare up to the first one.
            let whole = scan(&[&bytes]);
            let mut scanner = EscapeScanner::new();
            let mut pieces = Scanned::default();
            for chunk in chunks {
                let scanned = scanner.feed(chunk);
                pieces.forward.extend(scanned.forward);
                pieces.actions.extend(scanned.actions);
                if pieces.actions.contains(&EscapeAction::Disconnect) {
                    break;
                }
            }
            prop_assert_eq!(pieces, whole);
        }
    }
}
