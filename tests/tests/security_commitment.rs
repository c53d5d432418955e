//! The viewer's commitment over real QUIC, against a relay in the middle that knows the code
//! (as one that overheard it on the phone would): it can neither change its message after
//! committing (the agent and then the viewer catch it) nor try a second reply on a viewer (the
//! viewer refuses it), and a viewer whose handshake nobody answers gives up. Each failure tells
//! the technician that the code is spent.
//!
//! The relay here is a double of its own rather than `tether_tests::evil_relay`: it must take
//! part in the handshake message by message, knowing the code the test gives it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use quinn::{Connection, Endpoint};
use rand::rngs::OsRng;
use tether_certs::RelayIdentity;
use tether_e2e::{AgentHandshake, ViewerHandshake};
use tether_proto::{
    control::{ClientMessage, RelayMessage, StreamHeader},
    secure::Handshake,
    Nameplate, SessionCode, PROTOCOL_VERSION,
};
use tether_tests::{agent_args, Process, TIMEOUT};
use tether_transport::{MessageReceiver, MessageSender, HANDSHAKE_TIMEOUT};

/// The session id the double gives every pairing.
const SESSION_ID: u64 = 1;

/// What the relay in the middle does with the viewer's session stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Play {
    /// Forwards the handshake between agent and viewer, but reveals a SPAKE2 message of its own
    /// (with a valid key confirmation, since it knows the code) in place of the viewer's.
    SwapReveal,
    /// Plays the agent toward the viewer, and after the viewer's reveal sends a second reply
    /// instead of confirming: a second candidate for the digits.
    SecondReply,
    /// Reads the viewer's commitment and answers nothing.
    Silent,
}

/// What the double saw.
#[derive(Debug, Default)]
struct Seen {
    /// Reveals the viewer sent.
    reveals: usize,
    /// What the viewer sent after the relay's second reply: nothing, when the stream ended.
    after_second_reply: Option<Handshake>,
    /// Whether the viewer's stream ended after the second reply.
    viewer_gone: bool,
}

/// The relay in the middle, on 127.0.0.1; stopped when dropped.
struct MiddleRelay {
    addr: String,
    fingerprint: String,
    code: Arc<Mutex<Option<SessionCode>>>,
    seen: Arc<Mutex<Seen>>,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl MiddleRelay {
    fn start(play: Play) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = RelayIdentity::load_or_create(dir.path()).expect("relay identity");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let endpoint = runtime.block_on(async {
            let config = tether_transport::config::server_config(
                &identity,
                tether_transport::config::DEFAULT_IDLE_TIMEOUT,
            )
            .expect("server config");
            Endpoint::server(config, SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind")
        });
        let addr = endpoint.local_addr().expect("address").to_string();
        let code = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = Shared {
            play,
            code: code.clone(),
            seen: seen.clone(),
            waiting: Arc::default(),
        };
        runtime.spawn(accept(endpoint, state));
        Self {
            addr,
            fingerprint: identity.fingerprint().to_string(),
            code,
            seen,
            runtime: Some(runtime),
            _dir: dir,
        }
    }

    /// Tells the relay the code, as overhearing the phone call would.
    fn learn(&self, code: &str) {
        *self.code.lock().unwrap() = Some(code.parse().expect("a code"));
    }

    fn viewer(&self, code: &str) -> Process {
        let known = self._dir.path().join("viewer_known_relays");
        Process::spawn(
            "tether-viewer",
            &[
                "join",
                code,
                "--relay",
                &self.addr,
                "--relay-fingerprint",
                &self.fingerprint,
                "--frames",
                "1",
            ],
            &[("TETHER_KNOWN_RELAYS", known.to_str().expect("utf-8"))],
        )
    }

    fn agent(&self) -> (Process, String) {
        let known = self._dir.path().join("agent_known_relays");
        let agent = Process::spawn(
            "tether-agent",
            &agent_args(
                &self.addr,
                &self.fingerprint,
                1,
                "64x64",
                &["--auto-accept"],
            ),
            &[("TETHER_KNOWN_RELAYS", known.to_str().expect("utf-8"))],
        );
        let code = agent.stdout.wait_for("session code: ");
        (agent, code)
    }
}

impl Drop for MiddleRelay {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A registered agent, waiting for a viewer.
struct Waiting {
    connection: Connection,
    control: MessageSender<RelayMessage>,
}

#[derive(Clone)]
struct Shared {
    play: Play,
    code: Arc<Mutex<Option<SessionCode>>>,
    seen: Arc<Mutex<Seen>>,
    waiting: Arc<Mutex<Option<Waiting>>>,
}

impl Shared {
    fn code(&self) -> anyhow::Result<SessionCode> {
        self.code
            .lock()
            .unwrap()
            .context("the test never told the code")
    }
}

async fn accept(endpoint: Endpoint, state: Shared) {
    while let Some(incoming) = endpoint.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            if let Err(e) = serve(connection, state).await {
                eprintln!("relay in the middle: {e:#}");
            }
        });
    }
}

async fn serve(connection: Connection, state: Shared) -> anyhow::Result<()> {
    let (send, recv) = connection.accept_bi().await?;
    let mut control = MessageSender::<RelayMessage>::new(send);
    let mut requests = MessageReceiver::<ClientMessage>::new(recv);
    let Some(ClientMessage::Hello { .. }) = requests.recv().await? else {
        bail!("expected hello");
    };
    let welcome = RelayMessage::Welcome {
        version: PROTOCOL_VERSION,
    };
    control.send(&welcome).await?;
    match requests.recv().await? {
        Some(ClientMessage::Register { .. }) => {
            let registered = RelayMessage::Registered {
                nameplate: Nameplate::generate(&mut OsRng),
                expires_in_secs: 600,
            };
            control.send(&registered).await?;
            *state.waiting.lock().unwrap() = Some(Waiting {
                connection: connection.clone(),
                control,
            });
            while requests.recv().await?.is_some() {}
            Ok(())
        }
        Some(ClientMessage::Join { name, .. }) => {
            let paired = |peer: String| RelayMessage::Paired {
                session_id: SESSION_ID,
                peer,
            };
            control.send(&paired("agent".into())).await?;
            let (send, recv) = connection.accept_bi().await?;
            let mut to_viewer = MessageSender::<Handshake>::new(send);
            let mut from_viewer = MessageReceiver::<Handshake>::new(recv);
            let commit = from_viewer.recv().await?.context("no commitment")?;
            match state.play {
                Play::SwapReveal => {
                    let agent = state.waiting.lock().unwrap().take();
                    let mut agent = agent.context("no agent registered")?;
                    agent.control.send(&paired(name)).await?;
                    let (send, recv) = agent.connection.open_bi().await?;
                    let mut header = MessageSender::<StreamHeader>::new(send);
                    let stream_header = StreamHeader {
                        session_id: SESSION_ID,
                        data_path: None,
                    };
                    header.send(&stream_header).await?;
                    let mut to_agent = header.retype::<Handshake>();
                    let mut from_agent = MessageReceiver::<Handshake>::new(recv);
                    swap_reveal(
                        &state,
                        commit,
                        (&mut to_viewer, &mut from_viewer),
                        (&mut to_agent, &mut from_agent),
                    )
                    .await?;
                }
                Play::SecondReply => {
                    second_reply(&state, commit, &mut to_viewer, &mut from_viewer).await?;
                }
                Play::Silent => {}
            }
            // Hold the connection until the viewer hangs up.
            connection.closed().await;
            Ok(())
        }
        other => bail!("unexpected {other:?}"),
    }
}

type Leg<'a> = (
    &'a mut MessageSender<Handshake>,
    &'a mut MessageReceiver<Handshake>,
);

/// Forwards the commitment and the agent's reply, then reveals its own message to the agent
/// and forwards the agent's answer to the viewer.
async fn swap_reveal(
    state: &Shared,
    commit: Handshake,
    (to_viewer, from_viewer): Leg<'_>,
    (to_agent, from_agent): Leg<'_>,
) -> anyhow::Result<()> {
    to_agent.send(&commit).await?;
    let reply = from_agent.recv().await?.context("no reply")?;
    to_viewer.send(&reply).await?;
    let reveal = from_viewer.recv().await?.context("no reveal")?;
    state.seen.lock().unwrap().reveals += 1;
    // Knowing the code, the relay makes its own message and a valid confirmation for it.
    let (own, _) = ViewerHandshake::start(state.code()?, SESSION_ID, &mut OsRng);
    let (_, swapped) = own.on_reply(reply)?;
    assert!(matches!(reveal, Handshake::Reveal { .. }) && swapped != reveal);
    to_agent.send(&swapped).await?;
    let answer = from_agent.recv().await?.context("the agent said nothing")?;
    to_viewer.send(&answer).await?;
    Ok(())
}

/// Plays the agent: one reply, the viewer's reveal, then a second reply.
async fn second_reply(
    state: &Shared,
    commit: Handshake,
    to_viewer: &mut MessageSender<Handshake>,
    from_viewer: &mut MessageReceiver<Handshake>,
) -> anyhow::Result<()> {
    let code = state.code()?;
    let (fake_agent, first) =
        AgentHandshake::respond(code, SESSION_ID, commit.clone(), &mut OsRng)?;
    to_viewer.send(&first).await?;
    let reveal = from_viewer.recv().await?.context("no reveal")?;
    state.seen.lock().unwrap().reveals += 1;
    // It completes its leg (it knows the code), so it knows the viewer's digits for this
    // candidate now; it would like to try another.
    fake_agent.on_confirm(reveal)?;
    let (_, second) = AgentHandshake::respond(code, SESSION_ID, commit, &mut OsRng)?;
    to_viewer.send(&second).await?;
    let after = from_viewer.recv().await;
    let mut seen = state.seen.lock().unwrap();
    seen.viewer_gone = !matches!(after, Ok(Some(_)));
    seen.after_second_reply = after.ok().flatten();
    Ok(())
}

/// Waits (bounded) until the double has seen what `done` looks for.
fn wait_until(relay: &MiddleRelay, done: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !done(&relay.seen.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            relay.seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_relay_that_changes_its_message_after_the_commitment_is_caught_on_both_ends() {
    let relay = MiddleRelay::start(Play::SwapReveal);
    let (agent, code) = relay.agent();
    relay.learn(&code);
    let mut viewer = relay.viewer(&code);
    viewer.expect_exit(6, "someone in between changed it");
    viewer.stderr.wait_for_substring("That code is spent");
    let burnt = agent.stdout.wait_for("code burnt: ");
    assert!(burnt.contains("does not match its commitment"), "{burnt}");
    assert_eq!(relay.seen.lock().unwrap().reveals, 1);
}

#[test]
fn a_grinding_relay_gets_one_candidate_per_session() {
    let relay = MiddleRelay::start(Play::SecondReply);
    let code = "123-456-789-012";
    relay.learn(code);
    let mut viewer = relay.viewer(code);
    viewer.expect_exit(
        6,
        "key confirmation failed: a reply came instead of the agent's key confirmation",
    );
    viewer.stderr.wait_for_substring("That code is spent");
    wait_until(&relay, |seen| seen.viewer_gone);
    let seen = relay.seen.lock().unwrap();
    assert_eq!(seen.reveals, 1, "{seen:?}");
    assert_eq!(seen.after_second_reply, None, "{seen:?}");
}

#[test]
fn a_viewer_whose_handshake_nobody_answers_gives_up() {
    let relay = MiddleRelay::start(Play::Silent);
    let started = Instant::now();
    let mut viewer = relay.viewer("123-456-789-012");
    viewer.expect_exit(6, "did not complete the end-to-end handshake within 10 s");
    let waited = started.elapsed();
    assert!(waited >= HANDSHAKE_TIMEOUT, "gave up after {waited:?}");
    viewer.stderr.wait_for_substring("That code is spent");
}
