//! Commands on pipes through `run_command_with`, as `tether-viewer shell MACHINE -- CMD` runs
//! them.

use std::{io::Cursor, process::Command};

use sha2::{Digest, Sha256};
use tether_proto::shell::{ExitStatus, ShellRequest};
use tether_shell::{
    channel, exit_code, receive_open, run_command_with, serve_shell, ShellConfig, ShellError,
};

use crate::support::{on_pipes, serve, serve_with, within, Transcript};

struct Ran {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    status: Result<ExitStatus, ShellError>,
    agent: Result<ExitStatus, ShellError>,
}

/// Runs `argv` with `stdin` through a viewer and an agent wired back to back.
async fn run(argv: &[&str], stdin: Vec<u8>, config: ShellConfig) -> Ran {
    let (mut requests, mut agent_requests) = channel(4);
    let (mut agent_responses, mut responses) = channel(4);
    let agent = tokio::spawn(async move {
        let open = receive_open(&mut agent_requests).await?;
        serve_shell(open, &config, &mut agent_responses, &mut agent_requests).await
    });
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = within(run_command_with(
        Some(argv.iter().map(|arg| arg.to_string()).collect()),
        &mut requests,
        &mut responses,
        Cursor::new(stdin),
        &mut stdout,
        &mut stderr,
    ))
    .await;
    drop((requests, responses));
    let agent = within(agent).await.expect("the agent's task");
    Ran {
        stdout,
        stderr,
        status,
        agent,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_streams_and_exit_code_come_back_apart() {
    let ran = run(
        &["sh", "-c", "echo out; echo err >&2; exit 7"],
        Vec::new(),
        ShellConfig::default(),
    )
    .await;
    assert_eq!(ran.stdout, b"out\n");
    assert_eq!(ran.stderr, b"err\n");
    let status = ran.status.expect("an exit status");
    assert_eq!(
        status,
        ExitStatus {
            code: 7,
            signal: None
        }
    );
    assert_eq!(exit_code(&status), 7);
    assert_eq!(ran.agent.expect("the agent's status"), status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_is_forwarded_and_closed() {
    let ran = run(
        &["sh", "-c", "wc -c"],
        vec![b'x'; 1_000_000],
        ShellConfig::default(),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&ran.stdout).trim(), "1000000");
    assert_eq!(ran.status.expect("an exit status").code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_of_output_arrive_intact() {
    let script = "seq 10000000 16000000";
    let local = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("seq runs locally");
    let started = std::time::Instant::now();
    let ran = run(&["sh", "-c", script], Vec::new(), ShellConfig::default()).await;
    let elapsed = started.elapsed();
    assert_eq!(ran.status.expect("an exit status").code, 0);
    assert_eq!(ran.stdout.len(), local.stdout.len());
    assert!(ran.stdout.len() > 50_000_000, "{} bytes", ran.stdout.len());
    assert_eq!(
        hex::encode(Sha256::digest(&ran.stdout)),
        hex::encode(Sha256::digest(&local.stdout))
    );
    eprintln!(
        "{} bytes in {elapsed:?}: {:.0} MB/s",
        ran.stdout.len(),
        ran.stdout.len() as f64 / elapsed.as_secs_f64() / 1e6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_death_is_reported_as_shells_do() {
    let ran = run(
        &["sh", "-c", "kill -9 $$"],
        Vec::new(),
        ShellConfig::default(),
    )
    .await;
    let status = ran.status.expect("an exit status");
    assert_eq!(status.code, 137);
    assert_eq!(status.signal.as_deref(), Some("Killed"));
    assert_eq!(exit_code(&status), 137);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_refused_with_its_name() {
    let ran = run(
        &["/nonexistent/tether-program"],
        Vec::new(),
        ShellConfig::default(),
    )
    .await;
    let Err(ShellError::Refused { reason }) = ran.status else {
        panic!("not refused: {:?}", ran.status);
    };
    assert!(reason.contains("/nonexistent/tether-program"), "{reason}");
    assert!(reason.contains("No such file"), "{reason}");
    assert!(matches!(ran.agent, Err(ShellError::Refused { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_out_of_bounds_are_refused_by_the_agent() {
    let mut transcript = Transcript::default();
    let result = serve(on_pipes(&[])).finish(&mut transcript).await;
    let reason = transcript.refused.expect("a refusal");
    assert!(reason.contains("arguments"), "{reason}");
    assert!(!transcript.started);
    assert!(matches!(result, Err(ShellError::Refused { .. })));

    // The viewer checks the same bounds before it sends anything.
    let ran = run(&["a\0b"], Vec::new(), ShellConfig::default()).await;
    assert!(matches!(ran.status, Err(ShellError::InvalidRequest(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_shell_runs_in_the_home_directory() {
    let mut shell = serve(tether_proto::shell::ShellOpen {
        command: None,
        terminal: None,
    });
    shell.type_text("echo \"zero=$0\"; pwd; exit 4\n").await;
    shell.send(ShellRequest::CloseInput).await;
    let mut transcript = Transcript::default();
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    let output = transcript.stdout_text();
    assert!(output.contains("zero=-"), "not a login shell: {output:?}");
    let home = dirs::home_dir().expect("a home directory");
    assert!(
        output
            .lines()
            .any(|line| std::path::Path::new(line) == home),
        "{output:?}"
    );
    assert_eq!(status.code, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_as_the_configured_account() {
    let config = ShellConfig {
        shell: None,
        user: Some("nobody".to_owned()),
    };
    let ran = run(&["sh", "-c", "id -un; id -u; pwd"], Vec::new(), config).await;
    if nix::unistd::geteuid().is_root() {
        let status = ran.status.expect("an exit status");
        let output = String::from_utf8_lossy(&ran.stdout).into_owned();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.first(), Some(&"nobody"), "{output:?}");
        assert_ne!(lines.get(1), Some(&"0"), "{output:?}");
        assert_eq!(status.code, 0);
    } else {
        let Err(ShellError::Refused { reason }) = ran.status else {
            panic!("not refused: {:?}", ran.status);
        };
        assert!(reason.contains("root"), "{reason}");
    }

    let config = ShellConfig {
        shell: None,
        user: Some("no-such-tether-account".to_owned()),
    };
    let ran = run(&["true"], Vec::new(), config).await;
    let Err(ShellError::Refused { reason }) = ran.status else {
        panic!("not refused: {:?}", ran.status);
    };
    assert!(reason.contains("no-such-tether-account"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_shells_run_at_once() {
    // Each shell waits until all three have started, so they only finish if they run side by
    // side.
    let meeting = tempfile::tempdir().expect("a temporary directory");
    let runs: Vec<_> = (0..3)
        .map(|n| {
            let script = format!(
                "cd '{}' && touch {n} && while [ $(ls | wc -l) -lt 3 ]; do sleep 0.05; done; \
                 echo met-{n}",
                meeting.path().display()
            );
            tokio::spawn(async move {
                let ran = run(&["sh", "-c", &script], Vec::new(), ShellConfig::default()).await;
                (n, ran)
            })
        })
        .collect();
    for run in runs {
        let (n, ran) = run.await.expect("a shell's task");
        assert_eq!(String::from_utf8_lossy(&ran.stdout), format!("met-{n}\n"));
        assert_eq!(ran.status.expect("an exit status").code, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_shell_replaces_the_login_shell() {
    let config = ShellConfig {
        shell: Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo configured".to_owned(),
        ]),
        user: None,
    };
    let mut shell = serve_with(
        tether_proto::shell::ShellOpen {
            command: None,
            terminal: None,
        },
        config,
        |out| out,
    );
    shell.send(ShellRequest::CloseInput).await;
    let mut transcript = Transcript::default();
    let status = shell.finish(&mut transcript).await.expect("an exit status");
    assert_eq!(transcript.stdout, b"configured\n");
    assert_eq!(status.code, 0);
}
