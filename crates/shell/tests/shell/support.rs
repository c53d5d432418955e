//! An agent's shell over in-memory channels, and helpers to drive it as a viewer would.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tether_proto::shell::{
    ExitStatus, ShellOpen, ShellRequest, ShellResponse, TerminalSize, TerminalSpec,
};
use tether_shell::{
    channel, serve_shell, ChannelIn, ChannelOut, MessageOut, ShellConfig, ShellError,
};
use tokio::task::JoinHandle;

/// How long any one step may take before a test fails instead of hanging.
pub const STEP: Duration = Duration::from_secs(20);

/// Messages each direction of a test stream holds.
pub const CAPACITY: usize = 4;

/// A shell served by `serve_shell` on a task, and the viewer's ends of its stream.
pub struct Shell {
    pub requests: ChannelOut<ShellRequest>,
    pub responses: ChannelIn<ShellResponse>,
    pub server: JoinHandle<Result<ExitStatus, ShellError>>,
}

/// Serves `open` as the agent would; `out` wraps the agent's sending end.
pub fn serve_with<O>(
    open: ShellOpen,
    config: ShellConfig,
    wrap: impl FnOnce(ChannelOut<ShellResponse>) -> O,
) -> Shell
where
    O: MessageOut<ShellResponse> + 'static,
{
    let (requests, mut agent_requests) = channel(CAPACITY);
    let (agent_responses, responses) = channel(CAPACITY);
    let mut out = wrap(agent_responses);
    let server =
        tokio::spawn(
            async move { serve_shell(open, &config, &mut out, &mut agent_requests).await },
        );
    Shell {
        requests,
        responses,
        server,
    }
}

/// Serves `open` with the default configuration.
pub fn serve(open: ShellOpen) -> Shell {
    serve_with(open, ShellConfig::default(), |out| out)
}

/// A request for `argv` on pipes.
pub fn on_pipes(argv: &[&str]) -> ShellOpen {
    ShellOpen {
        command: Some(argv.iter().map(|arg| arg.to_string()).collect()),
        terminal: None,
    }
}

/// A request for `argv` (`None`: the login shell) on a terminal.
pub fn on_terminal(argv: Option<&[&str]>, term: &str, cols: u16, rows: u16) -> ShellOpen {
    ShellOpen {
        command: argv.map(|argv| argv.iter().map(|arg| arg.to_string()).collect()),
        terminal: Some(TerminalSpec {
            term: term.to_owned(),
            size: TerminalSize { cols, rows },
        }),
    }
}

/// What a shell sent until it exited (or its stream ended).
#[derive(Debug, Default)]
pub struct Transcript {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub started: bool,
    pub refused: Option<String>,
    pub exited: Option<ExitStatus>,
}

impl Transcript {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Records one response; false once it was the last.
    fn record(&mut self, response: ShellResponse) -> bool {
        match response {
            ShellResponse::Started => self.started = true,
            ShellResponse::Refused { reason } => {
                self.refused = Some(reason);
                return false;
            }
            ShellResponse::Stdout(bytes) => self.stdout.extend(bytes),
            ShellResponse::Stderr(bytes) => self.stderr.extend(bytes),
            ShellResponse::Exited(status) => {
                self.exited = Some(status);
                return false;
            }
        }
        true
    }
}

impl Shell {
    pub async fn send(&mut self, request: ShellRequest) {
        within(self.requests.send(&request))
            .await
            .expect("the agent takes the request");
    }

    pub async fn type_text(&mut self, text: &str) {
        self.send(ShellRequest::Input(text.as_bytes().to_vec()))
            .await;
    }

    /// Reads responses until the output so far contains `pattern`.
    pub async fn read_until(&mut self, transcript: &mut Transcript, pattern: &str) {
        self.read_until_with(transcript, |text| text.contains(pattern))
            .await;
    }

    /// Reads responses until `done` says the output so far is enough.
    pub async fn read_until_with(
        &mut self,
        transcript: &mut Transcript,
        done: impl Fn(&str) -> bool,
    ) {
        while !done(&transcript.stdout_text()) {
            let response = within(tether_shell::MessageIn::recv(&mut self.responses))
                .await
                .expect("channels do not fail");
            let Some(response) = response else {
                panic!("the shell ended early: {transcript:?}");
            };
            assert!(
                transcript.record(response),
                "the shell ended early: {}",
                transcript.stdout_text()
            );
        }
    }

    /// Reads responses until the last one, then the agent's result.
    pub async fn finish(mut self, transcript: &mut Transcript) -> Result<ExitStatus, ShellError> {
        while let Some(response) = within(tether_shell::MessageIn::recv(&mut self.responses))
            .await
            .expect("channels do not fail")
        {
            if !transcript.record(response) {
                break;
            }
        }
        within(self.server).await.expect("the agent's task")
    }
}

/// `future`, or a panic after [`STEP`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .expect("a step of the test timed out")
}

/// Whether a process with `pid` is alive. A zombie is not: it died, and whoever inherited it
/// (init, for grandchildren) has yet to reap it.
pub fn process_exists(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself hold parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    state != Some('Z')
}

/// Waits up to `limit` for `pid` to disappear; how long it took.
pub async fn gone_within(pid: u32, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !process_exists(pid) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// This process's resident memory, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// A sending end that counts the messages it sent.
pub struct Counting<O> {
    pub inner: O,
    pub sent: Arc<AtomicUsize>,
}

impl<O: MessageOut<ShellResponse>> MessageOut<ShellResponse> for Counting<O> {
    async fn send(&mut self, message: &ShellResponse) -> Result<(), ShellError> {
        self.inner.send(message).await?;
        self.sent.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn close(&mut self) -> Result<(), ShellError> {
        self.inner.close().await
    }
}
