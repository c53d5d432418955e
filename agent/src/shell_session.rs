//! A shell session by code: the user granted the technician a shell on this computer rather
//! than the screen. It runs as on an enrolled machine (`tether-shell`), on the sealed session
//! stream, as the account the agent runs as (its login shell, or the command the technician
//! names), until the program exits, the technician leaves, the relay ends the session or the
//! user ends it here. Like an ssh session, it does not outlive a lost connection.

use anyhow::bail;
use tether_proto::{
    control::RelayMessage,
    session::{AgentMessage, Capabilities},
    shell::{ShellRequest, ShellResponse},
    PROTOCOL_VERSION,
};
use tether_shell::{ShellConfig, ShellError};
use tether_transport::MessageReceiver;
use tokio::sync::Notify;

use crate::{
    resume::relay_ends,
    stream::{stopped, SessionStream},
};

/// What the agent's hello names instead of a screen.
const SHOWN: &str = "a shell";

/// Serves the shell the technician opens on `stream`; returns how the session ended, in words
/// for the user.
pub(crate) async fn serve_shell_session(
    (mut send, recv): SessionStream,
    granted: Capabilities,
    control: &mut MessageReceiver<RelayMessage>,
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
    let served = async {
        let open = tether_shell::receive_open(&mut input).await?;
        // Closes the stream once the program's exit status is sent.
        tether_shell::serve_shell(open, &ShellConfig::default(), &mut out, &mut input).await
    };
    // A shell session is not kept for a lost viewer: the relay's grace period is moot.
    let mut grace = None;
    // Leaving the shell's future early hangs up and kills its program's process group.
    let ended = tokio::select! {
        served = served => served,
        ended = relay_ends(control, &mut grace) => return ended,
        () = stopped(stop) => {
            let _ = out.close().await;
            return Ok("you ended the session".to_owned());
        }
    };
    match ended {
        Ok(status) => Ok(format!("the shell exited with code {}", status.code)),
        Err(ShellError::Closed) => Ok("the technician left".to_owned()),
        Err(ShellError::Transport(e)) if e.is_disconnect() => {
            Ok("the technician's connection was lost".to_owned())
        }
        Err(e) => bail!("the shell failed: {e}"),
    }
}
