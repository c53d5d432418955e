//! The agent's X11 front end: a small dialog that asks the user whether a technician may join,
//! and an always-on-top indicator with an End session button while a session is live.
//!
//! Drawn with core X requests and a server font through x11rb, no toolkit. The windows live on
//! a thread of their own, which blocks on X events; the async side talks to it through
//! channels. What is drawn where is decided by pure code ([`layout`], [`text`]), and so is how
//! the live band stays in sight ([`band`]).

mod band;
mod buttons;
mod layout;
mod serve;
mod text;
mod ui;
mod window;
mod x11;

use std::sync::Arc;

use tether_proto::session::Capabilities;
use tokio::sync::{mpsc, Notify};
use x11rb::errors::{ConnectError, ReplyOrIdError};

use crate::{AgentEvent, ConsentRequest};

/// Why the dialog could not be opened or stopped working.
#[derive(Debug, thiserror::Error)]
pub enum DialogError {
    /// The X display could not be reached.
    #[error("cannot open the X display: {0}")]
    Connect(#[from] ConnectError),
    /// The X server failed a request or the connection broke.
    #[error("X server: {0}")]
    X(#[from] ReplyOrIdError),
    /// The display named a screen it does not have.
    #[error("the X display has no such screen")]
    NoScreen,
    /// The server has none of the fonts the dialog draws with.
    #[error("the X server has no usable font")]
    NoFont,
    /// The dialog's threads could not be started.
    #[error("cannot start the dialog's thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl From<x11rb::errors::ConnectionError> for DialogError {
    fn from(error: x11rb::errors::ConnectionError) -> Self {
        DialogError::X(error.into())
    }
}

impl From<x11rb::errors::ReplyError> for DialogError {
    fn from(error: x11rb::errors::ReplyError) -> Self {
        DialogError::X(error.into())
    }
}

impl From<x11rb::x11_utils::X11Error> for DialogError {
    fn from(error: x11rb::x11_utils::X11Error) -> Self {
        DialogError::X(error.into())
    }
}

/// Whether a session is live, for the indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    /// A session started.
    Started {
        /// The technician's name.
        technician: String,
        /// What the session may do.
        granted: Capabilities,
    },
    /// The session ended.
    Ended,
}

impl LiveState {
    /// What `event` says about the session, if anything.
    pub fn from_event(event: &AgentEvent) -> Option<Self> {
        match event {
            AgentEvent::SessionStarted {
                viewer, granted, ..
            } => Some(LiveState::Started {
                technician: viewer.clone(),
                granted: *granted,
            }),
            AgentEvent::SessionEnded { .. } => Some(LiveState::Ended),
            _ => None,
        }
    }
}

/// The dialog front end's handles.
#[derive(Debug)]
pub struct DialogFrontEnd {
    /// Requests to ask the user about, for [`crate::ConsentPolicy::Ask`].
    pub requests: mpsc::Sender<ConsentRequest>,
    /// Notified when the user ends the session, for [`crate::AgentConfig::stop`].
    pub stop: Arc<Notify>,
    /// Session news for the indicator (see [`LiveState::from_event`]).
    pub live: mpsc::UnboundedSender<LiveState>,
}

/// Opens the dialog front end on X display `display`: consent requests are asked in a dialog,
/// and a live session shows an indicator to end it with. Fails at once when the display, or
/// anything the dialog needs from it, is unavailable. Must be called within a Tokio runtime.
pub fn spawn_dialog_front_end(display: &str) -> Result<DialogFrontEnd, DialogError> {
    let x = x11::X::open(display)?;
    let (inputs_tx, inputs) = std::sync::mpsc::channel();
    let events = inputs_tx.clone();
    let conn = x.conn.clone();
    std::thread::Builder::new()
        .name("dialog-events".into())
        .spawn(move || ui::forward_events(&conn, &events))?;
    let (actions_tx, actions) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("dialog".into())
        .spawn(move || {
            if let Err(e) = ui::run(x, inputs, actions_tx) {
                tracing::error!("the consent dialog failed: {e}");
            }
        })?;
    let (requests_tx, requests) = mpsc::channel(1);
    let (live_tx, live) = mpsc::unbounded_channel();
    let stop = Arc::new(Notify::new());
    tokio::spawn(serve::serve(
        requests,
        live,
        inputs_tx,
        actions,
        stop.clone(),
    ));
    Ok(DialogFrontEnd {
        requests: requests_tx,
        stop,
        live: live_tx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_session_starts_and_ends_reach_the_indicator() {
        let started = AgentEvent::SessionStarted {
            session_id: 7,
            viewer: "Alice".into(),
            granted: Capabilities::VIEW_ONLY,
        };
        assert_eq!(
            LiveState::from_event(&started),
            Some(LiveState::Started {
                technician: "Alice".into(),
                granted: Capabilities::VIEW_ONLY
            })
        );
        let ended = AgentEvent::SessionEnded {
            reason: "bye".into(),
        };
        assert_eq!(LiveState::from_event(&ended), Some(LiveState::Ended));
        assert_eq!(LiveState::from_event(&AgentEvent::CodeExpired), None);
    }
}
