//! The agent's terminal front end: the consent prompt and the way to end a live session.
//!
//! Lines typed on stdin are read on a plain thread (a blocked read must never hold up the
//! process's exit) and handed out one at a time: first as the answer to a consent prompt, then
//! as "end the session" while one is live.
//!
//! Only what is typed after a prompt appears answers it. Type-ahead (a "y" typed for another
//! program, or before the technician's request arrived) must never grant a session, so each
//! prompt first discards input the terminal still holds (`tcflush`), and then every line read
//! before the prompt: each line carries the instant the read that completed it returned.

use std::{io::Read, sync::Arc, time::Instant};

use nix::sys::termios::{tcflush, FlushArg};
use tether_proto::{session::Capabilities, Printable};
use tokio::sync::{mpsc, Notify};

use crate::{consent::describe, ConsentRequest};

/// A line typed on stdin, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    /// When the read that completed it returned.
    read_at: Instant,
}

impl Line {
    /// Whether it may answer a prompt shown at `asked_at`: only if it was typed after.
    fn answers(&self, asked_at: Instant) -> bool {
        self.read_at >= asked_at
    }
}

/// Answers consent requests from the terminal and ends live sessions when the user presses
/// Enter. Returns the request channel for [`crate::ConsentPolicy::Ask`] and the stop signal for
/// [`crate::AgentConfig::stop`].
pub fn spawn_terminal_front_end() -> (mpsc::Sender<ConsentRequest>, Arc<Notify>) {
    let (lines_tx, lines) = mpsc::channel(4);
    std::thread::spawn(move || read_lines(std::io::stdin().lock(), &lines_tx));
    let (requests_tx, requests) = mpsc::channel(1);
    let stop = Arc::new(Notify::new());
    tokio::spawn(serve_terminal(requests, lines, stop.clone()));
    (requests_tx, stop)
}

/// Reads `input` until it ends (or nobody listens), sending each line with the instant of the
/// read that completed it.
fn read_lines(mut input: impl Read, lines: &mpsc::Sender<Line>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let read_at = Instant::now();
        pending.extend_from_slice(&chunk[..n]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&raw[..end])
                .trim_end_matches('\r')
                .to_owned();
            if lines.blocking_send(Line { text, read_at }).is_err() {
                return;
            }
        }
    }
}

/// The first line typed after `asked_at` (earlier ones are dropped), or `None` once stdin ends.
async fn answer_after(lines: &mut mpsc::Receiver<Line>, asked_at: Instant) -> Option<String> {
    while let Some(line) = lines.recv().await {
        if line.answers(asked_at) {
            return Some(line.text);
        }
        tracing::info!("ignored a line typed before the prompt");
    }
    None
}

/// Discards input the terminal holds that nobody has read yet, and returns the instant from
/// which lines count as answers. On a pipe (no terminal) there is nothing to flush.
fn prompt_from_now() -> Instant {
    let _ = tcflush(std::io::stdin(), FlushArg::TCIFLUSH);
    Instant::now()
}

async fn serve_terminal(
    mut requests: mpsc::Receiver<ConsentRequest>,
    mut lines: mpsc::Receiver<Line>,
    stop: Arc<Notify>,
) {
    while let Some(request) = requests.recv().await {
        let asked_at = prompt_from_now();
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
        let answer = answer_after(&mut lines, asked_at).await.unwrap_or_default();
        let granted = match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => request.wants,
            "v" if view_only => Capabilities::VIEW_ONLY,
            _ => Capabilities::default(),
        };
        request.answer(granted);
        if granted.admits_a_session() {
            let live_from = prompt_from_now();
            println!(
                "*** SESSION LIVE: the technician can {}. Press Enter to end it. ***",
                describe(granted)
            );
            if answer_after(&mut lines, live_from).await.is_some() {
                stop.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn lines_carry_the_instant_they_were_read_and_only_later_ones_answer() {
        let (tx, mut rx) = mpsc::channel(8);
        let before = Instant::now();
        read_lines(&b"y\r\nview\nno newline"[..], &tx);
        let first = rx.try_recv().unwrap();
        let second = rx.try_recv().unwrap();
        assert_eq!((first.text.as_str(), second.text.as_str()), ("y", "view"));
        assert!(rx.try_recv().is_err(), "an unfinished line is not a line");
        assert!(first.read_at >= before);
        assert!(first.answers(before));
        assert!(!first.answers(first.read_at + Duration::from_millis(1)));
    }

    #[tokio::test]
    async fn an_answer_typed_before_the_prompt_is_ignored() {
        let (tx, mut rx) = mpsc::channel(8);
        let typed_ahead = Instant::now();
        let asked_at = typed_ahead + Duration::from_millis(1);
        let line = |text: &str, read_at| Line {
            text: text.to_owned(),
            read_at,
        };
        tx.send(line("y", typed_ahead)).await.unwrap();
        tx.send(line("n", asked_at)).await.unwrap();
        assert_eq!(answer_after(&mut rx, asked_at).await.as_deref(), Some("n"));
        drop(tx);
        assert_eq!(answer_after(&mut rx, asked_at).await, None);
    }
}
