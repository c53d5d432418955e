//! A shell session by code: the user granted the technician a shell on this computer rather
//! than the screen. It runs as on an enrolled machine (`tether-shell`), on the sealed session
//! stream, as the account the agent runs as (its login shell, or the command the technician
//! names), until the program exits, the technician leaves, the relay ends the session or the
//! user ends it here. Like an ssh session, it does not outlive a lost connection.

use tether_proto::{
    control::{ClientMessage, RelayMessage},
    session::{AgentMessage, Capabilities},
    shell::{ShellRequest, ShellResponse},
    PROTOCOL_VERSION,
};
use tether_shell::ShellConfig;
use tether_transport::{race, stopped, MessageReceiver, MessageSender, SecureReceiver, Trailing};
use tokio::sync::Notify;

use crate::{
    control::{relay_ends, say_user_ended},
    lifecycle::{Lifecycle, USER_ENDED},
    shell_end::{self, Ending, Interrupted},
    stream::SessionStream,
};

/// What the agent's hello names instead of a screen.
const SHOWN: &str = "a shell";

/// Serves the shell the technician opens on `stream`; returns how the session ended, in words
/// for the user.
pub(crate) async fn serve_shell_session(
    (mut send, recv): SessionStream,
    granted: Capabilities,
    (to_relay, control): (
        &mut MessageSender<ClientMessage>,
        &mut MessageReceiver<RelayMessage>,
    ),
    stop: Option<&Notify>,
) -> anyhow::Result<String> {
    send.send(&AgentMessage::Hello {
        version: PROTOCOL_VERSION,
        screen: SHOWN.to_owned(),
        width: 0,
        height: 0,
        granted,
    })
    .await?;
    let (mut out, mut input) = (
        send.retype::<ShellResponse>(),
        recv.retype::<ShellRequest>(),
    );
    let serving = async {
        let open = tether_shell::receive_open(&mut input).await?;
        // Closes the stream once the program's exit status is sent.
        tether_shell::serve_shell(open, &ShellConfig::default(), &mut out, &mut input).await
    };
    let mut serving = Box::pin(serving);
    // A shell session is not kept for a lost viewer: the relay's grace period is moot.
    let mut lifecycle = Lifecycle::new();
    let interrupted = async {
        tokio::select! {
            ended = relay_ends(control, &mut lifecycle) => Interrupted::Relay(ended),
            () = stopped(stop) => Interrupted::Stopped,
        }
    };
    // Leaving the shell's future early hangs up and kills its program's process group.
    let raced = race(&mut serving, interrupted, Interrupted::trailing).await;
    drop(serving);
    let served = match shell_end::attended(raced) {
        Ending::Finished(served) => served,
        Ending::Over(reason) => return reason,
        Ending::Stopped => {
            say_user_ended(to_relay).await;
            let _ = out.close().await;
            viewer_closed(&mut input).await;
            return Ok(USER_ENDED.to_owned());
        }
    };
    if served.is_ok() {
        viewer_closed(&mut input).await;
    }
    shell_end::finished(served)
}

/// Waits, a little, for the viewer to close its side, which it does once it has the program's
/// exit status or this side's close. Hanging up sooner could drop those last bytes, and the
/// relay's news of the hang-up could overtake them.
async fn viewer_closed(input: &mut SecureReceiver<ShellRequest>) {
    let closed = async { while let Ok(Some(_)) = input.recv().await {} };
    let _ = Trailing::PeerClose.wait(closed).await;
}
