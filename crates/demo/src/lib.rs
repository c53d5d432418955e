//! A complete Tether session in one process, for a first look: a relay on 127.0.0.1, an agent
//! sharing this machine's X11 screen (or the built-in demo desktop when there is none), and a
//! viewer joining it by code.
//!
//! It lives in a crate of its own so that the technician's `tether-viewer` does not carry a
//! relay and an agent (with SQLite, hyper and input injection) for a demo.

mod recording;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use tether_agent::{
    open_screen, AgentConfig, AgentEvent, ConsentPolicy, DemoSettings, ScreenChoice,
};
use tether_capture::MonitorChoice;
use tether_proto::session::Capabilities;
use tether_relay::{Relay, RelayConfig};
use tether_transport::RelayTarget;
use tokio::sync::{mpsc, Notify};

use tether_viewer::{join, write_png, CursorObserver, FrameObserver, JoinOptions, ViewOutcome};

use crate::recording::Recording;

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Frame updates to receive (`None`: until `stop`).
    pub frames: Option<u64>,
    /// What the agent shares.
    pub screen: ScreenChoice,
    /// Demo desktop size.
    pub width: u32,
    /// Demo desktop size.
    pub height: u32,
    /// Demo desktop seed.
    pub seed: u64,
    /// Where to write the final framebuffer.
    pub snapshot: PathBuf,
    /// Shown every applied update (the window, when there is one).
    pub observer: Option<FrameObserver>,
    /// Told every time the remote pointer changes.
    pub cursor: Option<CursorObserver>,
    /// Notified to end the session early.
    pub stop: Option<Arc<Notify>>,
}

/// What the demo observed.
#[derive(Debug)]
pub struct DemoReport {
    /// The in-process relay's address.
    pub relay: SocketAddr,
    /// The code the agent got.
    pub code: String,
    /// The viewing's outcome.
    pub outcome: ViewOutcome,
    /// Whether the viewer's framebuffer equals the agent's screen at the last update, byte for
    /// byte.
    pub bit_exact: bool,
}

/// Runs relay, agent and viewer in-process and reports what the viewer received.
pub async fn run(options: &DemoOptions) -> anyhow::Result<DemoReport> {
    let data = tempfile::tempdir().context("cannot create a temporary directory")?;
    let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let relay = Relay::start(RelayConfig::new(listen, data.path().join("relay"))).await?;
    let target = RelayTarget {
        relay: relay.local_addr().to_string(),
        fingerprint: Some(relay.fingerprint()),
        known_relays: data.path().join("known_relays"),
    };

    let demo = DemoSettings {
        width: options.width,
        height: options.height,
        seed: options.seed,
    };
    let screen = open_screen(options.screen, None, MonitorChoice::All, demo)?;
    let (source, recorded) = Recording::new(screen.source);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let agent_config = AgentConfig {
        target: target.clone(),
        name: "demo agent".to_owned(),
        max_fps: 30,
        // Both ends are this process: the person running the demo is the user asked.
        consent: ConsentPolicy::AutoAccept,
        stop: None,
        // The demo forwards no input: replayed on the very screen the window is on, the
        // pointer would chase itself.
        input: None,
    };
    let agent = tokio::spawn(tether_agent::run(agent_config, Box::new(source), events_tx));
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(AgentEvent::Code { code, .. })) => break code,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => bail!("the demo agent did not get a session code"),
        }
    };

    let outcome = join(&JoinOptions {
        target,
        code,
        name: "demo technician".to_owned(),
        wants: Capabilities::VIEW_AND_CONTROL,
        events: None,
        input: None,
        frames: options.frames,
        observer: options.observer.clone(),
        cursor: options.cursor.clone(),
        stop: options.stop.clone(),
    })
    .await
    .into_result()?;
    let (Some(framebuffer), Some(last_seq)) = (&outcome.framebuffer, outcome.last_seq) else {
        bail!("the viewer received no frame");
    };
    write_png(framebuffer, &options.snapshot)?;
    let bit_exact = recorded.frame(last_seq).as_ref() == Some(framebuffer);

    // The agent sees the viewer leave and ends its session.
    let _ = tokio::time::timeout(Duration::from_secs(5), agent).await;
    let relay_addr = relay.local_addr();
    relay.shutdown().await;
    Ok(DemoReport {
        relay: relay_addr,
        code: code.to_string(),
        outcome,
        bit_exact,
    })
}
