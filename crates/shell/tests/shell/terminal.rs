//! Programs on a pseudo-terminal.

use tether_proto::shell::{ShellRequest, TerminalSize};

use crate::support::{on_terminal, serve, Transcript};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_has_the_requested_size_and_follows_resizes() {
    let mut shell = serve(on_terminal(
        Some(&["sh", "-c", "stty size; read line; stty size"]),
        "xterm-256color",
        80,
        24,
    ));
    let mut transcript = Transcript::default();
    shell.read_until(&mut transcript, "24 80").await;
    shell
        .send(ShellRequest::Resize(TerminalSize {
            cols: 132,
            rows: 43,
        }))
        .await;
    shell.type_text("\r").await;
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    let output = transcript.stdout_text();
    assert!(output.contains("24 80\r\n"), "{output:?}");
    assert!(output.contains("43 132\r\n"), "{output:?}");
    assert_eq!(status.code, 0);
    assert!(transcript.started);
    assert!(transcript.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_sees_a_real_terminal_and_the_viewers_term() {
    let mut shell = serve(on_terminal(
        Some(&[
            "sh",
            "-c",
            "tty; echo \"term=$TERM\"; [ -t 0 ] && echo stdin-is-a-tty",
        ]),
        "tether-test-term",
        80,
        24,
    ));
    let mut transcript = Transcript::default();
    shell.send(ShellRequest::CloseInput).await;
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    let output = transcript.stdout_text();
    assert!(output.starts_with("/dev/pts/"), "{output:?}");
    assert!(output.contains("term=tether-test-term\r\n"), "{output:?}");
    assert!(output.contains("stdin-is-a-tty"), "{output:?}");
    assert_eq!(status.code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_shell_is_interactive_and_exits_with_its_status() {
    let mut shell = serve(on_terminal(None, "xterm-256color", 100, 30));
    let mut transcript = Transcript::default();
    // The arithmetic only shows evaluated, never in the echo of what was typed.
    shell
        .type_text("echo \"zero=$0 sum=$((40+2))\"; pwd; exit 3\r")
        .await;
    shell.read_until(&mut transcript, "sum=42").await;
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    let output = transcript.stdout_text();
    assert!(output.contains("zero=-"), "not a login shell: {output:?}");
    let home = dirs::home_dir().expect("a home directory");
    assert!(
        output.contains(&format!("{}\r\n", home.display())),
        "not started at home: {output:?}"
    );
    assert_eq!(status.code, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_is_a_keystroke_for_the_remote_terminal() {
    let mut shell = serve(on_terminal(
        Some(&[
            "sh",
            "-c",
            "trap 'echo got-interrupt; exit 9' INT; echo ready; while :; do sleep 0.05; done",
        ]),
        "xterm-256color",
        80,
        24,
    ));
    let mut transcript = Transcript::default();
    shell.read_until(&mut transcript, "ready").await;
    shell.send(ShellRequest::Input(vec![0x03])).await;
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    assert!(
        transcript.stdout_text().contains("got-interrupt"),
        "{:?}",
        transcript.stdout_text()
    );
    assert_eq!(status.code, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_death_on_a_terminal_is_reported() {
    let shell = serve(on_terminal(
        Some(&["sh", "-c", "kill -9 $$"]),
        "xterm-256color",
        80,
        24,
    ));
    let mut transcript = Transcript::default();
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    assert_eq!(status.code, 137);
    assert_eq!(status.signal.as_deref(), Some("Killed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_terminals_and_missing_programs_are_refused() {
    let mut transcript = Transcript::default();
    let result = serve(on_terminal(Some(&["sh"]), "xterm; rm -rf /", 80, 24))
        .finish(&mut transcript)
        .await;
    let reason = transcript.refused.expect("a refusal");
    assert!(reason.contains("TERM"), "{reason}");
    assert!(result.is_err());

    let mut transcript = Transcript::default();
    let result = serve(on_terminal(
        Some(&["/nonexistent/tether-program"]),
        "xterm",
        80,
        24,
    ))
    .finish(&mut transcript)
    .await;
    let reason = transcript.refused.expect("a refusal");
    assert!(reason.contains("/nonexistent/tether-program"), "{reason}");
    assert!(result.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_as_the_configured_account_keeps_term_and_terminal() {
    let config = tether_shell::ShellConfig {
        shell: None,
        user: Some("nobody".to_owned()),
    };
    let open = on_terminal(
        Some(&["sh", "-c", "id -un; echo \"term=$TERM\"; tty"]),
        "tether-test-term",
        80,
        24,
    );
    let mut transcript = Transcript::default();
    let result = crate::support::serve_with(open, config, |out| out)
        .finish(&mut transcript)
        .await;
    if nix::unistd::geteuid().is_root() {
        let output = transcript.stdout_text();
        assert!(output.starts_with("nobody\r\n"), "{output:?}");
        assert!(output.contains("term=tether-test-term\r\n"), "{output:?}");
        assert!(output.contains("/dev/pts/"), "{output:?}");
        assert_eq!(result.expect("an exit status").code, 0);
    } else {
        let reason = transcript.refused.expect("a refusal");
        assert!(reason.contains("root"), "{reason}");
    }
}
