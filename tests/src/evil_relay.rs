//! A malicious relay for security tests: it speaks the real control protocol, pairs one agent
//! with one viewer, and then tampers with their session stream instead of forwarding it
//! faithfully, or tries to take part in the key exchange itself.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use anyhow::{bail, Context};
use quinn::{Connection, Endpoint, RecvStream, SendStream};
use rand::rngs::OsRng;
use tether_certs::RelayIdentity;
use tether_e2e::{AgentHandshake, ViewerHandshake};
use tether_proto::{
    control::{ClientMessage, RelayMessage, StreamHeader},
    secure::Handshake,
    Deframer, Nameplate, SessionCode, PROTOCOL_VERSION,
};
use tether_transport::{MessageReceiver, MessageSender};

/// The session id the evil relay gives every pairing.
const SESSION_ID: u64 = 1;
/// Messages per direction before sealed records start (start + confirm, reply + confirm).
const HANDSHAKE_MESSAGES: usize = 2;

/// What the relay does to the session stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Flips one bit of the first sealed record in each direction.
    FlipBit,
    /// Sends the first sealed record of each direction twice.
    Replay,
    /// Leaves out the second sealed record of each direction.
    Drop,
    /// Knows the nameplate, guesses the secret half, and runs its own handshake with each side.
    GuessCode,
}

/// A running evil relay on 127.0.0.1, stopped when dropped.
pub struct EvilRelay {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its certificate's fingerprint, for clients to pin.
    pub fingerprint: String,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl EvilRelay {
    /// Starts the relay with its own identity in a temporary directory.
    pub fn start(tamper: Tamper) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = RelayIdentity::load_or_create(dir.path()).expect("relay identity");
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let endpoint = runtime.block_on(async {
            let config = tether_transport::config::server_config(
                &identity,
                tether_transport::config::DEFAULT_IDLE_TIMEOUT,
            )
            .expect("server config");
            let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
            Endpoint::server(config, listen).expect("bind")
        });
        let addr = endpoint.local_addr().expect("local address").to_string();
        runtime.spawn(accept(endpoint, tamper));
        Self {
            addr,
            fingerprint: identity.fingerprint().to_string(),
            runtime: Some(runtime),
            _dir: dir,
        }
    }
}

impl Drop for EvilRelay {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The registered agent, waiting for a viewer.
struct Waiting {
    connection: Connection,
    control: MessageSender<RelayMessage>,
    nameplate: Nameplate,
}

async fn accept(endpoint: Endpoint, tamper: Tamper) {
    let waiting: Arc<Mutex<Option<Waiting>>> = Arc::default();
    while let Some(incoming) = endpoint.accept().await {
        let waiting = waiting.clone();
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            if let Err(e) = serve(connection.clone(), waiting, tamper).await {
                eprintln!("evil relay: {e:#}");
            }
        });
    }
}

async fn serve(
    connection: Connection,
    waiting: Arc<Mutex<Option<Waiting>>>,
    tamper: Tamper,
) -> anyhow::Result<()> {
    let (send, recv) = connection.accept_bi().await?;
    let mut control = MessageSender::<RelayMessage>::new(send);
    let mut requests = MessageReceiver::<ClientMessage>::new(recv);
    let Some(ClientMessage::Hello { .. }) = requests.recv().await? else {
        bail!("expected hello");
    };
    control
        .send(&RelayMessage::Welcome {
            version: PROTOCOL_VERSION,
        })
        .await?;
    match requests.recv().await? {
        Some(ClientMessage::Register { .. }) => {
            let nameplate = Nameplate::generate(&mut OsRng);
            control
                .send(&RelayMessage::Registered {
                    nameplate,
                    expires_in_secs: 600,
                })
                .await?;
            *waiting.lock().expect("lock") = Some(Waiting {
                connection: connection.clone(),
                control,
                nameplate,
            });
            // Keep the control stream open for as long as the agent stays.
            while requests.recv().await?.is_some() {}
            Ok(())
        }
        Some(ClientMessage::Join { name, .. }) => {
            let agent = waiting
                .lock()
                .expect("lock")
                .take()
                .context("no agent registered")?;
            let mut agent_control = agent.control;
            agent_control
                .send(&RelayMessage::Paired {
                    session_id: SESSION_ID,
                    peer: name,
                })
                .await?;
            control
                .send(&RelayMessage::Paired {
                    session_id: SESSION_ID,
                    peer: "agent".into(),
                })
                .await?;
            let (viewer_send, viewer_recv) = connection.accept_bi().await?;
            let (agent_send, agent_recv) = agent.connection.open_bi().await?;
            let mut agent_send = MessageSender::<StreamHeader>::new(agent_send);
            agent_send
                .send(&StreamHeader {
                    session_id: SESSION_ID,
                    data_path: None,
                })
                .await?;
            let agent_send = agent_send.into_inner();
            if tamper == Tamper::GuessCode {
                let guess = SessionCode::generate(agent.nameplate, &mut OsRng);
                let towards_agent = play_viewer(guess, agent_send, agent_recv);
                let towards_viewer = play_agent(guess, viewer_send, viewer_recv);
                let (a, v) = tokio::join!(towards_agent, towards_viewer);
                eprintln!("evil relay: posing as the viewer: {a:?}; as the agent: {v:?}");
            } else {
                let up = forward(viewer_recv, agent_send, tamper);
                let down = forward(agent_recv, viewer_send, tamper);
                let _ = tokio::join!(up, down);
            }
            // Hold the connections until the sides hang up.
            connection.closed().await;
            Ok(())
        }
        other => bail!("unexpected {other:?}"),
    }
}

/// Copies one direction message by message, tampering with its sealed records.
async fn forward(mut from: RecvStream, mut to: SendStream, tamper: Tamper) -> anyhow::Result<()> {
    let mut deframer = Deframer::default();
    let mut buf = vec![0; 64 * 1024];
    let mut index: usize = 0;
    while let Some(n) = from.read(&mut buf).await? {
        deframer.feed(&buf[..n]);
        while let Some(mut body) = deframer.next_body()? {
            let sealed = index.checked_sub(HANDSHAKE_MESSAGES);
            index += 1;
            let copies = match (tamper, sealed) {
                (Tamper::FlipBit, Some(0)) => {
                    if let Some(last) = body.last_mut() {
                        *last ^= 1;
                    }
                    1
                }
                (Tamper::Replay, Some(0)) => 2,
                (Tamper::Drop, Some(1)) => 0,
                _ => 1,
            };
            for _ in 0..copies {
                to.write_all(&u32::try_from(body.len())?.to_le_bytes())
                    .await?;
                to.write_all(&body).await?;
            }
        }
    }
    Ok(())
}

/// Towards the agent, plays a viewer that holds `guess`.
async fn play_viewer(guess: SessionCode, send: SendStream, recv: RecvStream) -> anyhow::Result<()> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let (viewer, start) = ViewerHandshake::start(guess, SESSION_ID, &mut OsRng);
    send.send(&start).await?;
    let reply = recv.recv().await?.context("agent hung up")?;
    let (viewer, confirm) = viewer.on_reply(reply)?;
    send.send(&confirm).await?;
    let answer = recv.recv().await?.context("agent hung up")?;
    viewer.on_confirm(answer)?;
    bail!("the guessed code was accepted by the agent")
}

/// Towards the viewer, plays an agent that holds `guess`; its best move at the end is to
/// reflect the viewer's own confirmation.
async fn play_agent(guess: SessionCode, send: SendStream, recv: RecvStream) -> anyhow::Result<()> {
    let mut send = MessageSender::<Handshake>::new(send);
    let mut recv = MessageReceiver::<Handshake>::new(recv);
    let start = recv.recv().await?.context("viewer hung up")?;
    let (agent, reply) = AgentHandshake::respond(guess, SESSION_ID, start, &mut OsRng)?;
    send.send(&reply).await?;
    let confirm = recv.recv().await?.context("viewer hung up")?;
    send.send(&confirm).await?;
    agent.on_confirm(confirm)?;
    bail!("the guessed code matched the viewer's")
}
