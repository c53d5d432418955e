//! The relay's control stream while a session is live: its news, read as it comes and
//! judged by the session's [`Lifecycle`], and the agent's word when its user ends the session.

use tether_proto::control::{ClientMessage, EndReason, RelayMessage};
use tether_transport::{MessageReceiver, MessageSender, CLOSE_LINGER};

use crate::lifecycle::Lifecycle;

/// Reads the relay's control stream until it ends the session, noting on the way how long it
/// keeps the session for a lost viewer; returns why it ended, in words for the user.
pub(crate) async fn relay_ends(
    control: &mut MessageReceiver<RelayMessage>,
    lifecycle: &mut Lifecycle,
) -> anyhow::Result<String> {
    loop {
        if let Some(reason) = lifecycle.relay_said(control.recv().await)? {
            return Ok(reason);
        }
    }
}

/// Tells the relay that the user ends the session (`Leaving { UserEnded }`), before the agent
/// closes the session stream end to end and hangs up: the relay records it and tells the
/// technician the same. A relay that does not take it at once is not waited for: the close end
/// to end says the same to the technician.
pub(crate) async fn say_user_ended(to_relay: &mut MessageSender<ClientMessage>) {
    let leaving = ClientMessage::Leaving {
        reason: EndReason::UserEnded,
    };
    if let Ok(Err(e)) = tokio::time::timeout(CLOSE_LINGER, to_relay.send(&leaving)).await {
        tracing::debug!("could not tell the relay the user ends the session: {e}");
    }
}
