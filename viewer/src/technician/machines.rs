//! `tether-viewer machines`: what the technician may reach, and whether it is online.

use std::fmt::Write;

use anyhow::bail;
use tether_proto::{
    control::{ClientMessage, MachineSummary, RelayMessage},
    Printable,
};

use super::{connect::TechnicianArgs, refused::RelayRefused};

/// Asks the relay which enrolled machines the technician's role may reach.
pub async fn list_machines(args: &TechnicianArgs) -> anyhow::Result<Vec<MachineSummary>> {
    let mut relay = args.connect().await?;
    relay.send.send(&ClientMessage::ListMachines).await?;
    let answer = relay.recv.recv().await?;
    relay.close().await;
    match answer {
        Some(RelayMessage::Machines { machines }) => Ok(machines),
        Some(RelayMessage::Refused { reason }) => bail!(RelayRefused(reason)),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
}

/// The machines as a table for a terminal, one line each after a header. Names and groups come
/// from the relay, so their control characters are escaped ([`Printable`]).
pub fn machines_table(machines: &[MachineSummary]) -> String {
    let mut table = format!(
        "{:<24} {:<16} {:<8} LAST SEEN\n",
        "MACHINE", "GROUP", "STATE"
    );
    for machine in machines {
        let seen = machine
            .last_seen_secs_ago
            .map_or("never".to_owned(), |secs| format!("{secs} s ago"));
        let state = if machine.online { "online" } else { "offline" };
        let (name, group) = (
            Printable(&machine.name).to_string(),
            Printable(&machine.group).to_string(),
        );
        // Writing to a String cannot fail.
        let _ = writeln!(table, "{name:<24} {group:<16} {state:<8} {seen}");
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_machines_and_escapes_what_the_relay_sent() {
        let machines = [
            MachineSummary {
                name: "web-01".into(),
                group: "prod".into(),
                online: true,
                last_seen_secs_ago: Some(3),
            },
            MachineSummary {
                name: "db\u{1b}[2J".into(),
                group: "prod\u{1b}]0;owned\u{7}".into(),
                online: false,
                last_seen_secs_ago: None,
            },
        ];
        let table = machines_table(&machines);
        assert!(!table.contains('\u{1b}'), "{table:?}");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "MACHINE                  GROUP            STATE    LAST SEEN",
                "web-01                   prod             online   3 s ago",
                "db\\u{1b}[2J              prod\\u{1b}]0;owned\\u{7} offline  never",
            ]
        );
    }
}
