//! The agent's terminal front end: the consent prompt and the way to end a live session.
//!
//! Lines typed on stdin are read on a plain thread (a blocked read must never hold up the
//! process's exit) and handed out one at a time: first as the answer to a consent prompt, then
//! as "end the session" while one is live.

use std::{io::BufRead, sync::Arc};

use tether_proto::{session::Capabilities, Printable};
use tokio::sync::{mpsc, Notify};

use crate::{consent::describe, ConsentRequest};

/// Answers consent requests from the terminal and ends live sessions when the user presses
/// Enter. Returns the request channel for [`crate::ConsentPolicy::Ask`] and the stop signal for
/// [`crate::AgentConfig::stop`].
pub fn spawn_terminal_front_end() -> (mpsc::Sender<ConsentRequest>, Arc<Notify>) {
    let (lines_tx, lines) = mpsc::channel(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if lines_tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    let (requests_tx, requests) = mpsc::channel(1);
    let stop = Arc::new(Notify::new());
    tokio::spawn(serve_terminal(requests, lines, stop.clone()));
    (requests_tx, stop)
}

async fn serve_terminal(
    mut requests: mpsc::Receiver<ConsentRequest>,
    mut lines: mpsc::Receiver<String>,
    stop: Arc<Notify>,
) {
    while let Some(request) = requests.recv().await {
        println!();
        println!(
            "Technician \"{}\" asks to {}.",
            Printable(&request.technician),
            describe(request.wants)
        );
        println!(
            "Security digits: {}. Ask the technician to read theirs: they must match.",
            request.sas
        );
        let view_only = request.wants.offers_view_only();
        if view_only {
            println!("Allow? [y] yes   [v] view only   [N] no");
        } else {
            println!("Allow? [y] yes   [N] no");
        }
        let answer = lines.recv().await.unwrap_or_default();
        let granted = match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => request.wants,
            "v" if view_only => Capabilities::VIEW_ONLY,
            _ => Capabilities::default(),
        };
        request.answer(granted);
        if granted.admits_a_session() {
            println!(
                "*** SESSION LIVE: the technician can {}. Press Enter to end it. ***",
                describe(granted)
            );
            if lines.recv().await.is_some() {
                stop.notify_one();
            }
        }
    }
}
