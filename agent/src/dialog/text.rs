//! What the dialog says, in words for the user, and how it is encoded for the X server's font.

use tether_proto::session::Capabilities;

use crate::consent::describe;

/// The longest technician name shown, in characters: the name is the technician's own claim,
/// so a long one must not push the security digits or the buttons out of sight.
const MAX_NAME: usize = 32;

/// How a line of text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The question itself, in bold.
    Heading,
    /// Plain explanations.
    Body,
    /// The security digits, bold in a highlighted box.
    Digits,
}

/// One line of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The words.
    pub text: String,
    /// How they are drawn.
    pub style: Style,
}

impl Line {
    fn new(text: String, style: Style) -> Self {
        Self { text, style }
    }
}

/// The lines of the request dialog: who asks, for what, and the digits to compare.
pub(crate) fn request_lines(technician: &str, wants: Capabilities, sas: &str) -> Vec<Line> {
    vec![
        Line::new(
            format!(
                "Technician \"{}\" asks to {}.",
                shown_name(technician),
                describe(wants)
            ),
            Style::Heading,
        ),
        Line::new(
            "Compare these security digits with your technician:".into(),
            Style::Body,
        ),
        Line::new(sas.to_owned(), Style::Digits),
        Line::new(
            "Allow only if the technician reads you the same digits.".into(),
            Style::Body,
        ),
    ]
}

/// The indicator's sentence while a session is live.
pub(crate) fn live_line(technician: &str, granted: Capabilities) -> String {
    format!(
        "Your screen is shared with {} ({granted})",
        shown_name(technician)
    )
}

/// `name` made safe to show: control characters become `?`, and a long name is cut short with
/// "..." so that it cannot crowd out the rest of the dialog.
pub(crate) fn shown_name(name: &str) -> String {
    let name = name.trim();
    let mut shown: String = name
        .chars()
        .take(MAX_NAME)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().count() > MAX_NAME {
        shown.push_str("...");
    }
    shown
}

/// `text` as ISO 8859-1 bytes, the encoding of the core X fonts the dialog draws with; any
/// character the font cannot show becomes `?`.
pub(crate) fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_technician_the_wish_and_the_digits() {
        let lines = request_lines("Alice", Capabilities::VIEW_AND_CONTROL, "123 456");
        assert_eq!(
            lines[0].text,
            "Technician \"Alice\" asks to see and control your screen."
        );
        assert_eq!(lines[0].style, Style::Heading);
        assert!(lines.contains(&Line::new("123 456".into(), Style::Digits)));
    }

    #[test]
    fn the_indicator_says_with_whom_and_what() {
        assert_eq!(
            live_line("Alice", Capabilities::VIEW_AND_CONTROL),
            "Your screen is shared with Alice (view + control)"
        );
        assert_eq!(
            live_line("Bob", Capabilities::VIEW_ONLY),
            "Your screen is shared with Bob (view)"
        );
    }

    #[test]
    fn names_are_cut_short_and_cleaned() {
        assert_eq!(shown_name("  Alice  "), "Alice");
        assert_eq!(shown_name("a\nb\u{1b}[2J"), "a?b?[2J");
        let long = "x".repeat(100);
        let shown = shown_name(&long);
        assert_eq!(shown, format!("{}...", "x".repeat(MAX_NAME)));
    }

    #[test]
    fn text_the_font_cannot_show_becomes_question_marks() {
        assert_eq!(latin1("Zoë"), b"Zo\xeb");
        assert_eq!(latin1("李\t€"), b"???");
    }
}
