//! A shell by code: `tether-viewer join CODE --shell` asks the user of an attended agent for a
//! shell instead of the screen, through a real relay on 127.0.0.1, with the user answering at
//! the agent's terminal prompt.

use std::{
    path::Path,
    thread,
    time::{Duration, Instant},
};

use tether_tests::{Process, Relay};

/// Starts an agent that asks at its terminal and a viewer asking it for a shell to run
/// `command`, and waits until the agent asks its user.
fn ask_for_shell(relay: &Relay, command: &[&str]) -> (Process, Process) {
    let (agent, code) = relay.attended_agent(1, "64x64");
    let mut args = vec!["--shell", "--"];
    args.extend_from_slice(command);
    let viewer = relay.viewer(&code, &args);
    agent
        .stdout
        .wait_for_substring("asks to run commands on your computer");
    (agent, viewer)
}

#[test]
fn a_user_grants_a_shell_and_a_command_runs_like_ssh() {
    let relay = Relay::start(&[]);
    let script = "echo out; echo err >&2; exit 7";
    let (mut agent, mut viewer) = ask_for_shell(&relay, &["sh", "-c", script]);
    // A shell has no screen to narrow it to: yes or no.
    agent.stdout.wait_for("Allow? [y] yes   [N] no");
    agent.type_line("y");
    agent.stdout.wait_for_substring("SESSION LIVE");

    viewer.expect_exit(7, "err");
    assert_eq!(viewer.stdout.wait_for("out"), "");
    agent.stdout.wait_for_substring("(shell)");
    agent
        .stdout
        .wait_for("session ended: the shell exited with code 7");
}

#[test]
fn a_user_who_says_no_keeps_the_shell_closed() {
    let relay = Relay::start(&[]);
    let never = relay.path("never");
    let (mut agent, mut viewer) = ask_for_shell(&relay, &["touch", &never]);
    agent.type_line("n");
    viewer.expect_exit(255, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert!(
        !Path::new(&never).exists(),
        "a declined shell ran its command"
    );
}

#[test]
fn the_user_ends_a_running_shell_with_enter() {
    let relay = Relay::start(&[]);
    let (mut agent, mut viewer) = ask_for_shell(&relay, &["sh", "-c", "echo pid $$; sleep 60"]);
    agent.type_line("y");
    let pid = viewer.stdout.wait_for("pid ");
    agent.type_line("");
    agent
        .stdout
        .wait_for("session ended: you ended the session");
    viewer.expect_exit(255, "the user ended the session");
    // The program is hung up with its process group, not left running.
    let proc = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&proc).exists() {
        assert!(
            Instant::now() < deadline,
            "the shell {pid} outlived its session"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
