//! The relay's control stream while a session is live: its news, read as it comes and
//! judged by the session's [`Lifecycle`].

use tether_proto::control::RelayMessage;
use tether_transport::MessageReceiver;

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
