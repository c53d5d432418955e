//! Text a peer chose, made safe to print on a terminal.

use std::fmt::{self, Write};

/// Shows a string that came from the network with its control characters escaped (`\u{1b}`,
/// `\n`). Terminal escape sequences all start with a control character, so a hostile relay or
/// agent cannot move the cursor, rewrite what is on screen, retitle the window or set the
/// clipboard of the terminal its names and reasons are printed on. Everything else, non-ASCII
/// letters included, is shown as is. Width and alignment flags are not applied: format
/// `Printable(s).to_string()` to pad.
#[derive(Debug, Clone, Copy)]
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Printable;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let hostile = "web-01\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\r\nok";
        assert_eq!(
            Printable(hostile).to_string(),
            "web-01\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}\\u{1b}[2J\\r\\nok"
        );
        assert_eq!(Printable("Zoë's büro-1").to_string(), "Zoë's büro-1");
        assert_eq!(Printable("\u{9b}31m").to_string(), "\\u{9b}31m", "C1 CSI");
    }
}
