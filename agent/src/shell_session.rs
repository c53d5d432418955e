//! A shell session by code: the user granted the technician a shell on this computer rather
//! than the screen. It runs as on an enrolled machine (`tether-shell`), on the sealed session
//! stream, as the account the agent runs as (its login shell, or the command the technician
//! names), until the program exits, the technician leaves, the relay ends the session or the
//! user ends it here. Like an ssh session, it does not outlive a lost connection.

use std::time::Duration;

use anyhow::bail;
use tether_proto::{
    control::RelayMessage,
    session::{AgentMessage, Capabilities},
    shell::{ExitStatus, ShellRequest, ShellResponse},
    PROTOCOL_VERSION,
};
use tether_shell::{ShellConfig, ShellError, AFTER_EXIT_WAIT};
use tether_transport::{MessageReceiver, SecureReceiver};
use tokio::sync::Notify;

use crate::{
    resume::{relay_ends, USER_ENDED},
    stream::{stopped, SessionStream},
};

/// What the agent's hello names instead of a screen.
const SHOWN: &str = "a shell";
/// How long the agent waits for the viewer to close its side before it hangs up.
const VIEWER_CLOSE_WAIT: Duration = Duration::from_secs(2);

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
    let mut served = Box::pin(served);
    // A shell session is not kept for a lost viewer: the relay's grace period is moot.
    let mut grace = None;
    // Leaving the shell's future early hangs up and kills its program's process group.
    let ended = tokio::select! {
        served = &mut served => served,
        relay_ended = relay_ends(control, &mut grace) => {
            // The viewer hangs up once it has the exit status, so the relay's news of that can
            // arrive while the shell's future still lingers on its close after sending it.
            return match tokio::time::timeout(AFTER_EXIT_WAIT, &mut served).await {
                Ok(Ok(status)) => Ok(exited(&status)),
                _ => relay_ended,
            };
        }
        () = stopped(stop) => {
            drop(served);
            let _ = out.close().await;
            viewer_closed(&mut input).await;
            return Ok(USER_ENDED.to_owned());
        }
    };
    drop(served);
    if ended.is_ok() {
        viewer_closed(&mut input).await;
    }
    match ended {
        Ok(status) => Ok(exited(&status)),
        Err(ShellError::Closed) => Ok("the technician left".to_owned()),
        Err(ShellError::Transport(e)) if e.is_disconnect() => {
            Ok("the technician's connection was lost".to_owned())
        }
        Err(e) => bail!("the shell failed: {e}"),
    }
}

/// How the program's exit reads to the user.
fn exited(status: &ExitStatus) -> String {
    format!("the shell exited with code {}", status.code)
}

/// Waits, a little, for the viewer to close its side, which it does once it has the program's
/// exit status or this side's close. Hanging up sooner could drop those last bytes, and the
/// relay's news of the hang-up could overtake them.
async fn viewer_closed(input: &mut SecureReceiver<ShellRequest>) {
    let closed = async { while let Ok(Some(_)) = input.recv().await {} };
    let _ = tokio::time::timeout(VIEWER_CLOSE_WAIT, closed).await;
}
