//! The dialog's buttons: their labels, their keys, and what each one grants.

use tether_proto::session::Capabilities;

/// A button of the request dialog or of the live-session indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Button {
    /// Grant what the technician asked for.
    Allow,
    /// Grant seeing the screen, nothing else.
    ViewOnly,
    /// Grant nothing.
    Deny,
    /// End the live session.
    EndSession,
}

impl Button {
    /// The buttons of a request for `wants`, left to right. "View only" is offered only when
    /// the technician asks for the screen and more, as the terminal prompt does.
    pub(crate) fn for_request(wants: Capabilities) -> Vec<Button> {
        if wants.offers_view_only() {
            vec![Button::Allow, Button::ViewOnly, Button::Deny]
        } else {
            vec![Button::Allow, Button::Deny]
        }
    }

    /// The label, which is also the button window's name (tests and accessibility tools find
    /// buttons by it).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Button::Allow => "Allow",
            Button::ViewOnly => "View only",
            Button::Deny => "Deny",
            Button::EndSession => "End session",
        }
    }

    /// The key that presses the button, shown next to its label.
    pub(crate) fn key(self) -> char {
        match self {
            Button::Allow => 'y',
            Button::ViewOnly => 'v',
            Button::Deny => 'n',
            Button::EndSession => 'e',
        }
    }

    /// The button among `buttons` that the key producing `key` presses. Escape (`'\u{1b}'`)
    /// is the dialog's way out: it denies.
    pub(crate) fn for_key(buttons: &[Button], key: char) -> Option<Button> {
        let key = key.to_ascii_lowercase();
        buttons
            .iter()
            .copied()
            .find(|button| button.key() == key || (key == '\u{1b}' && *button == Button::Deny))
    }

    /// What pressing this button on a request for `wants` grants.
    pub(crate) fn grant(self, wants: Capabilities) -> Capabilities {
        match self {
            Button::Allow => wants,
            Button::ViewOnly => Capabilities::VIEW_ONLY.intersect(wants),
            Button::Deny | Button::EndSession => Capabilities::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_only_is_offered_only_when_more_is_asked() {
        assert_eq!(
            Button::for_request(Capabilities::VIEW_AND_CONTROL),
            [Button::Allow, Button::ViewOnly, Button::Deny]
        );
        assert_eq!(
            Button::for_request(Capabilities::VIEW_ONLY),
            [Button::Allow, Button::Deny]
        );
        // A shell has no screen to narrow it to.
        assert_eq!(
            Button::for_request(Capabilities::SHELL_ONLY),
            [Button::Allow, Button::Deny]
        );
    }

    #[test]
    fn keys_press_the_buttons_shown_and_escape_denies() {
        let all = Button::for_request(Capabilities::VIEW_AND_CONTROL);
        assert_eq!(Button::for_key(&all, 'y'), Some(Button::Allow));
        assert_eq!(Button::for_key(&all, 'V'), Some(Button::ViewOnly));
        assert_eq!(Button::for_key(&all, 'n'), Some(Button::Deny));
        assert_eq!(Button::for_key(&all, '\u{1b}'), Some(Button::Deny));
        assert_eq!(Button::for_key(&all, 'e'), None);
        assert_eq!(Button::for_key(&all, '\r'), None, "Enter must not grant");
        let view = Button::for_request(Capabilities::VIEW_ONLY);
        assert_eq!(Button::for_key(&view, 'v'), None);
        assert_eq!(
            Button::for_key(&[Button::EndSession], 'e'),
            Some(Button::EndSession)
        );
    }

    #[test]
    fn buttons_grant_at_most_what_was_asked() {
        let all = Capabilities {
            shell: true,
            ..Capabilities::VIEW_AND_CONTROL
        };
        assert_eq!(Button::Allow.grant(all), all);
        assert_eq!(Button::ViewOnly.grant(all), Capabilities::VIEW_ONLY);
        assert_eq!(Button::Deny.grant(all), Capabilities::default());
        let nothing = Capabilities::default();
        assert_eq!(Button::ViewOnly.grant(nothing), nothing);
    }
}
