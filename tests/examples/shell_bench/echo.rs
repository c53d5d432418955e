//! Keystroke echo round trips, both clients open at once and typed at in turn, so that
//! whatever else loads the machine loads both alike.

use std::{thread, time::Duration};

use crate::client::Client;

/// How a run of keystrokes is typed.
#[derive(Debug, Clone, Copy)]
pub struct Typing {
    /// Keystrokes timed per client.
    pub rounds: usize,
    /// Keystrokes typed first and not timed.
    pub warmup: usize,
    /// The pause after each keystroke, as between a person's keystrokes.
    pub gap: Duration,
    /// The line is erased (Ctrl-U) after this many keystrokes.
    pub line: usize,
}

/// Opens an interactive shell with each client and times `typing.rounds` keystrokes in each,
/// alternating between them (and which goes first); returns the round trips per client.
pub fn measure(clients: &[Client], typing: Typing) -> anyhow::Result<Vec<Vec<Duration>>> {
    let mut terminals = Vec::new();
    for client in clients {
        let mut terminal = client.terminal()?;
        terminal.wait_for_shell()?;
        terminals.push(terminal);
    }
    let mut samples = vec![Vec::with_capacity(typing.rounds); clients.len()];
    for round in 0..typing.warmup + typing.rounds {
        let key = b'a' + (round % 26) as u8;
        for side in order(round, clients.len()) {
            let trip = terminals[side].echo_round_trip(key)?;
            if round >= typing.warmup {
                samples[side].push(trip);
            }
            thread::sleep(typing.gap);
        }
        if (round + 1) % typing.line == 0 {
            for terminal in &mut terminals {
                // Ctrl-U: the line discipline erases the line (and echoes the erasing).
                terminal.type_bytes(b"\x15")?;
            }
            for terminal in &mut terminals {
                terminal.settle(Duration::from_millis(50));
            }
        }
    }
    for terminal in terminals {
        terminal.close();
    }
    Ok(samples)
}

/// The clients in the order they take their turn in `round`: forwards, then backwards.
pub fn order(round: usize, clients: usize) -> Vec<usize> {
    let forwards = 0..clients;
    if round % 2 == 1 {
        forwards.rev().collect()
    } else {
        forwards.collect()
    }
}
