//! `tether-viewer join CODE --shell`: a shell on the user's computer instead of its screen,
//! by code and with the user's consent. The session is secured as every session by code is;
//! once the user grants the shell, it runs as `tether-viewer shell` runs one on an enrolled
//! machine, on the sealed session stream.

use std::io::IsTerminal;

use anyhow::anyhow;
use tether_proto::{
    session::{AgentMessage, Capabilities},
    SessionCode, PROTOCOL_VERSION,
};
use tether_shell::ShellError;
use tether_transport::{race, RelayTarget, SecureStream, Trailing};

use crate::{
    ending::{answer_or_news, outcome_or_news},
    join::{hello, pair_and_secure, Secured},
    relay_link::{LinkError, RelayLink},
    technician::{run_program, RemoteProgram, ShellOutcome},
    JoinEvent, ViewerError,
};

/// Joins the session behind `code` as `name`, asking for a shell, and runs `program` in it;
/// `report` hears how joining goes.
pub async fn join_shell(
    target: &RelayTarget,
    code: SessionCode,
    name: &str,
    program: RemoteProgram,
    report: &mut (dyn FnMut(JoinEvent) + Send),
) -> Result<ShellOutcome, ViewerError> {
    // Found out before the user is asked, not after.
    if program.on_terminal && !std::io::stdin().is_terminal() {
        return Err(anyhow!("-t needs a terminal on standard input").into());
    }
    let mut link = RelayLink::open(target).await.map_err(|e| match e {
        LinkError::Connect(e) => ViewerError::Connect(e),
        LinkError::Transport(e) => ViewerError::Other(e.into()),
    })?;
    let result = shell_session(&mut link, code, name, program, report).await;
    link.close().await;
    result
}

async fn shell_session(
    link: &mut RelayLink,
    code: SessionCode,
    name: &str,
    program: RemoteProgram,
    report: &mut (dyn FnMut(JoinEvent) + Send),
) -> Result<ShellOutcome, ViewerError> {
    let mut ticket = None;
    let Secured { stream, .. } = pair_and_secure(code, name, link, &mut ticket, report).await?;
    let SecureStream {
        mut send, mut recv, ..
    } = stream;
    send.send(&hello(name, Capabilities::SHELL_ONLY)).await?;
    // The agent hangs up right after saying no; its answer may trail the relay's news.
    let raced = race(recv.recv(), link.next(&mut ticket), |_| {
        Some(Trailing::Answer)
    })
    .await;
    let answer = answer_or_news(raced)?;
    match answer {
        Some(AgentMessage::Hello {
            version, granted, ..
        }) if version == PROTOCOL_VERSION && granted.shell => {
            report(JoinEvent::Admitted { granted })
        }
        Some(AgentMessage::Hello { version, .. }) if version != PROTOCOL_VERSION => {
            return Err(anyhow!(
                "the agent speaks protocol version {version}, this viewer {PROTOCOL_VERSION}"
            )
            .into())
        }
        Some(AgentMessage::Hello { .. } | AgentMessage::Declined) => {
            return Err(ViewerError::Declined)
        }
        other => return Err(anyhow!("expected the agent's answer, got {other:?}").into()),
    }
    let (mut out, mut input) = (send.retype(), recv.retype());
    // An agent hangs up once the program's exit status (or its user's close) is out; that,
    // still crossing the relay, may trail the relay's news of it.
    let running = run_program(program, &mut out, &mut input);
    let raced = race(running, link.next(&mut ticket), |_| Some(Trailing::Outcome)).await;
    let outcome = outcome_or_news(raced)?;
    let _ = out.close().await;
    outcome.map_err(|e| match e {
        // The agent closes the sealed stream early only when its user ends the session.
        ShellError::Closed => anyhow!("the user ended the session").into(),
        e => ViewerError::Other(e.into()),
    })
}
