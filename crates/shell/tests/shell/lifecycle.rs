//! A viewer that goes away takes its programs along; a viewer that stops reading stalls them.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use tether_proto::shell::{ShellOpen, ShellResponse};
use tether_shell::{MessageIn, ShellConfig, ShellError};

use crate::support::{
    gone_within, on_pipes, on_terminal, process_exists, rss_kib, serve, serve_with, within,
    Counting, Shell, Transcript, CAPACITY,
};

/// Starts `open`, reads the pids it prints, drops the viewer's ends, and returns the pids
/// and how long each took to disappear.
async fn drop_viewer(open: ShellOpen, pids: usize) -> Vec<(u32, Option<Duration>)> {
    let mut shell = serve(open);
    let mut transcript = Transcript::default();
    shell
        .read_until_with(&mut transcript, |text| text.matches('\n').count() >= pids)
        .await;
    let found: Vec<u32> = transcript
        .stdout_text()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect();
    assert_eq!(found.len(), pids, "{:?}", transcript.stdout_text());
    for &pid in &found {
        assert!(process_exists(pid), "{pid} is not running");
    }
    let Shell {
        requests,
        responses,
        server,
    } = shell;
    let left = std::time::Instant::now();
    drop((requests, responses));
    let result = within(server).await.expect("the agent's task");
    eprintln!(
        "the agent returned {:?} after the viewer left",
        left.elapsed()
    );
    assert!(matches!(result, Err(ShellError::Closed)), "{result:?}");
    let mut gone = Vec::new();
    for pid in found {
        gone.push((pid, gone_within(pid, Duration::from_secs(1)).await));
    }
    gone
}

fn assert_all_gone(gone: &[(u32, Option<Duration>)]) {
    eprintln!("gone after the agent returned: {gone:?}");
    for (pid, took) in gone {
        assert!(
            took.is_some(),
            "{pid} still runs a second after the viewer left"
        );
    }
}

const SLEEPERS: &str = "echo $$; sleep 1000 & echo $!; wait";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_viewer_kills_a_command_and_its_children() {
    assert_all_gone(&drop_viewer(on_pipes(&["sh", "-c", SLEEPERS]), 2).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_viewer_hangs_up_a_terminal_and_its_children() {
    let open = on_terminal(Some(&["sh", "-c", SLEEPERS]), "xterm", 80, 24);
    assert_all_gone(&drop_viewer(open, 2).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_that_ignore_the_hangup_are_killed() {
    let script = "trap '' HUP; echo $$; exec sleep 1000";
    let started = std::time::Instant::now();
    assert_all_gone(&drop_viewer(on_pipes(&["sh", "-c", script]), 1).await);
    let open = on_terminal(Some(&["sh", "-c", script]), "xterm", 80, 24);
    assert_all_gone(&drop_viewer(open, 1).await);
    // Each waited out the grace period before the kill.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Runs `yes` with a viewer that stops reading, and checks the agent stalls instead of
/// buffering, then streams again once the viewer reads.
async fn stalled_viewer_bounds_the_agent(open: ShellOpen, line: &[u8]) {
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let mut shell = serve_with(open, ShellConfig::default(), move |out| Counting {
        inner: out,
        sent: counter,
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib();
    let sent_before = sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent_after = sent.load(Ordering::SeqCst);
    let rss_after = rss_kib();
    eprintln!(
        "stalled: {sent_before} then {sent_after} messages sent, RSS {rss_before} -> {rss_after} KiB"
    );
    // Started plus what the channel holds; the agent waits on the next one.
    assert!(sent_after <= CAPACITY, "{sent_after} messages went out");
    assert_eq!(sent_before, sent_after);
    assert!(
        rss_after < rss_before + 16 * 1024,
        "memory grew from {rss_before} to {rss_after} KiB"
    );

    // Reading again: 20 MB of well-formed output stream through.
    let mut received = Vec::new();
    let mut bytes = 0;
    while bytes < 20_000_000 {
        match within(shell.responses.recv()).await.expect("channels") {
            Some(ShellResponse::Started) => {}
            Some(ShellResponse::Stdout(chunk)) => {
                bytes += chunk.len();
                received.extend(chunk);
                // Check whole lines and keep the partial one for the next chunk.
                let whole = received.len() - received.len() % line.len();
                assert!(
                    received[..whole].chunks(line.len()).all(|l| l == line),
                    "corrupt output"
                );
                received.drain(..whole);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(sent.load(Ordering::SeqCst) > sent_after + 100);
    let Shell {
        requests,
        responses,
        server,
    } = shell;
    drop((requests, responses));
    assert!(within(server).await.expect("the agent's task").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_stalls_a_command() {
    stalled_viewer_bounds_the_agent(on_pipes(&["yes"]), b"y\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_stalls_a_terminal() {
    stalled_viewer_bounds_the_agent(on_terminal(Some(&["yes"]), "xterm", 80, 24), b"y\r\n").await;
}
