//! `tether-viewer machines`: what the technician may reach, and whether it is online.

use anyhow::bail;
use tether_proto::control::{ClientMessage, MachineSummary, RelayMessage};

use super::TechnicianArgs;

/// Asks the relay which enrolled machines the technician's role may reach.
pub async fn list_machines(args: &TechnicianArgs) -> anyhow::Result<Vec<MachineSummary>> {
    let mut relay = args.connect().await?;
    relay.send.send(&ClientMessage::ListMachines).await?;
    let answer = relay.recv.recv().await?;
    relay.close().await;
    match answer {
        Some(RelayMessage::Machines { machines }) => Ok(machines),
        Some(RelayMessage::Refused { reason }) => bail!(super::RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
}
