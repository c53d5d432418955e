//! Asking the user whether a technician may join, and what it may do.

use tether_e2e::ShortAuthString;
use tether_proto::session::Capabilities;
use tokio::sync::{mpsc, oneshot};

/// How the agent decides on a session request.
#[derive(Debug, Clone)]
pub enum ConsentPolicy {
    /// Grant whatever the technician asks, without asking anyone. For unattended setups and
    /// scripted tests only; the agent logs a warning for every session it admits this way.
    AutoAccept,
    /// Ask whoever receives the requests (a terminal prompt, a dialog). A dropped request or
    /// closed channel grants nothing.
    Ask(mpsc::Sender<ConsentRequest>),
}

/// A technician asks to join; answer with what the user grants.
#[derive(Debug)]
pub struct ConsentRequest {
    /// The technician's name, as the technician declared it.
    pub technician: String,
    /// What the technician asks to do.
    pub wants: Capabilities,
    /// The digits the technician sees too; the user may compare them on the phone.
    pub sas: ShortAuthString,
    answer: oneshot::Sender<Capabilities>,
}

impl ConsentRequest {
    /// Answers: the session gets what is both asked for and granted here. Granting nothing
    /// (neither `view` nor `shell`) declines the session.
    pub fn answer(self, granted: Capabilities) {
        // The session may be gone already; then nobody waits for the answer.
        let _ = self.answer.send(granted);
    }
}

impl ConsentPolicy {
    /// What the session may do: `wants` narrowed by the user's (or the policy's) answer.
    pub(crate) async fn decide(
        &self,
        technician: &str,
        wants: Capabilities,
        sas: ShortAuthString,
    ) -> Capabilities {
        match self {
            ConsentPolicy::AutoAccept => {
                tracing::warn!(
                    %technician, %wants,
                    "AUTO-ACCEPT: session admitted without asking the user (auto-accept policy)"
                );
                wants
            }
            ConsentPolicy::Ask(requests) => {
                let (answer, granted) = oneshot::channel();
                let request = ConsentRequest {
                    technician: technician.to_owned(),
                    wants,
                    sas,
                    answer,
                };
                if requests.send(request).await.is_err() {
                    return Capabilities::default();
                }
                granted.await.unwrap_or_default().intersect(wants)
            }
        }
    }
}

/// What `capabilities` allow, in words for the user: "see and control your screen".
pub(crate) fn describe(capabilities: Capabilities) -> String {
    let screen = match (capabilities.view, capabilities.control) {
        (true, true) => Some("see and control your screen"),
        (true, false) => Some("see your screen"),
        (false, true) => Some("control your screen"),
        (false, false) => None,
    };
    let shell = capabilities
        .shell
        .then_some("run commands on your computer");
    match (screen, shell) {
        (Some(screen), Some(shell)) => format!("{screen} and {shell}"),
        (Some(only), None) | (None, Some(only)) => only.to_owned(),
        (None, None) => "do nothing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_read_as_plain_words() {
        assert_eq!(
            describe(Capabilities::VIEW_AND_CONTROL),
            "see and control your screen"
        );
        assert_eq!(describe(Capabilities::VIEW_ONLY), "see your screen");
        let all = Capabilities {
            shell: true,
            ..Capabilities::VIEW_AND_CONTROL
        };
        assert_eq!(
            describe(all),
            "see and control your screen and run commands on your computer"
        );
        assert_eq!(
            describe(Capabilities::SHELL_ONLY),
            "run commands on your computer"
        );
        assert_eq!(describe(Capabilities::default()), "do nothing");
    }
}
