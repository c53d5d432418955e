//! The dialog's own thread: shows what the async side asks for and reports what the user does.
//!
//! It owns the windows. Its inputs are commands from the async side and the X events that a
//! second thread reads off the connection, so it blocks on one channel for both (with a
//! timeout while the live band is out of sight: see [`super::band`]).

use std::{
    sync::mpsc::{Receiver, RecvTimeoutError, Sender},
    time::{Duration, Instant},
};

use tether_proto::session::Capabilities;
use tokio::sync::mpsc::UnboundedSender;
use x11rb::{
    connection::Connection,
    errors::ConnectionError,
    protocol::{
        xproto::{Visibility, Window},
        Event,
    },
    rust_connection::RustConnection,
};

use super::{
    band::{BandFacts, BandGuard, Verdict},
    buttons::Button,
    layout::{live_scene, request_scene},
    text::{live_line, request_lines},
    window::{Kind, SceneWindow},
    x11::X,
    DialogError,
};

/// How long a new request dialog ignores keys and clicks: a user typing or clicking elsewhere
/// when it pops up must not answer it by accident.
const ARM_DELAY: Duration = Duration::from_secs(1);

/// The request dialog's title (tests find the window by it).
const REQUEST_TITLE: &str = "Tether: session request";
/// The live indicator's title.
const LIVE_TITLE: &str = "Tether: session live";

/// What the async side asks the dialog thread to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Show request `id`.
    Ask {
        /// Tells this request's answer from a late answer to an earlier one.
        id: u64,
        /// The technician's name.
        technician: String,
        /// What it asks for.
        wants: Capabilities,
        /// The security digits, as shown.
        sas: String,
    },
    /// Close request `id` unanswered (it timed out).
    Dismiss {
        /// The request.
        id: u64,
    },
    /// Show the live indicator.
    ShowLive {
        /// The technician's name.
        technician: String,
        /// What the session may do.
        granted: Capabilities,
    },
    /// Hide the live indicator.
    HideLive,
}

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answered request `id` with `button`.
    Chose {
        /// The request.
        id: u64,
        /// The button (or its key) used.
        button: Button,
    },
    /// Asked to end the live session.
    EndSession,
}

/// The dialog thread's inputs.
pub(crate) enum Input {
    /// From the async side.
    Command(Command),
    /// From the X server.
    Event(Result<Event, ConnectionError>),
}

/// The open request dialog.
struct Request {
    id: u64,
    window: SceneWindow,
    /// Input before this instant is ignored.
    armed_at: Instant,
}

/// The live indicator and what is known of its being in sight.
struct Live {
    window: SceneWindow,
    facts: BandFacts,
    guard: BandGuard,
    /// Whether this band has asked to end its session already (it asks once).
    ending: bool,
}

/// The dialog thread's state.
struct Ui {
    x: X,
    actions: UnboundedSender<Action>,
    request: Option<Request>,
    live: Option<Live>,
}

/// Reads X events off the connection until it fails, handing each to the dialog thread.
pub(crate) fn forward_events(conn: &RustConnection, inputs: &Sender<Input>) {
    loop {
        let event = conn.wait_for_event();
        let failed = event.is_err();
        if inputs.send(Input::Event(event)).is_err() || failed {
            return;
        }
    }
}

/// Runs the dialog thread until its inputs end or the X connection fails.
pub(crate) fn run(
    x: X,
    inputs: Receiver<Input>,
    actions: UnboundedSender<Action>,
) -> Result<(), DialogError> {
    let mut ui = Ui {
        x,
        actions,
        request: None,
        live: None,
    };
    loop {
        let deadline = ui.live.as_ref().and_then(|live| live.guard.deadline());
        let input = match deadline {
            Some(deadline) => {
                match inputs.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(input) => Some(input),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
            None => match inputs.recv() {
                Ok(input) => Some(input),
                Err(_) => return Ok(()),
            },
        };
        match input {
            Some(Input::Command(command)) => ui.command(command)?,
            Some(Input::Event(event)) => ui.event(event?)?,
            None => {
                let verdict = ui
                    .live
                    .as_ref()
                    .map(|live| live.guard.check(Instant::now()));
                ui.judge_band(verdict.unwrap_or(Verdict::Fine))?;
            }
        }
    }
}

impl Ui {
    fn command(&mut self, command: Command) -> Result<(), DialogError> {
        match command {
            Command::Ask {
                id,
                technician,
                wants,
                sas,
            } => {
                self.close_request()?;
                let lines = request_lines(&technician, wants, &sas);
                let buttons = Button::for_request(wants);
                let scene = request_scene(&lines, &buttons, self.x.metrics);
                let armed_at = Instant::now() + ARM_DELAY;
                let window = SceneWindow::open(&self.x, Kind::Request, REQUEST_TITLE, scene)?;
                self.request = Some(Request {
                    id,
                    window,
                    armed_at,
                });
            }
            Command::Dismiss { id } => {
                if self
                    .request
                    .as_ref()
                    .is_some_and(|request| request.id == id)
                {
                    self.close_request()?;
                }
            }
            Command::ShowLive {
                technician,
                granted,
            } => {
                self.hide_live()?;
                let scene = live_scene(&live_line(&technician, granted), self.x.metrics);
                let window = SceneWindow::open(&self.x, Kind::Indicator, LIVE_TITLE, scene)?;
                self.live = Some(Live {
                    window,
                    facts: BandFacts::SHOWN,
                    guard: BandGuard::default(),
                    ending: false,
                });
            }
            Command::HideLive => self.hide_live()?,
        }
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), DialogError> {
        match event {
            Event::Expose(expose) if expose.count == 0 => {
                if let Some(window) = self.window(expose.window) {
                    window.paint(&self.x)?;
                }
            }
            Event::KeyPress(key) => {
                if let Some(c) = self.x.char_of(key.detail) {
                    self.key(key.event, c)?;
                }
            }
            Event::ButtonRelease(release) if release.detail == 1 => {
                self.click(release.event, release.event_x, release.event_y)?;
            }
            Event::ClientMessage(message)
                if message.type_ == self.x.atoms.WM_PROTOCOLS
                    && message.format == 32
                    && message.data.as_data32()[0] == self.x.atoms.WM_DELETE_WINDOW =>
            {
                // Closing the question denies; closing the indicator ends the session, so it
                // never disappears while the screen is still shared.
                if self.is_request(message.window) {
                    self.press_request(Button::Deny)?;
                } else if self.is_live(message.window) {
                    self.send(Action::EndSession);
                }
            }
            Event::UnmapNotify(unmap) if self.is_live(unmap.window) => {
                self.band_news(|facts| facts.mapped = false)?;
            }
            Event::MapNotify(map) if self.is_live(map.window) => {
                self.band_news(|facts| facts.mapped = true)?;
            }
            Event::VisibilityNotify(visibility) if self.is_live(visibility.window) => {
                let covered = visibility.state == Visibility::FULLY_OBSCURED;
                self.band_news(|facts| facts.covered = covered)?;
            }
            Event::PropertyNotify(property)
                if self.is_live(property.window)
                    && [self.x.atoms.WM_STATE, self.x.atoms._NET_WM_STATE]
                        .contains(&property.atom) =>
            {
                if let Some(live) = &self.live {
                    let minimised = live.window.minimised(&self.x)?;
                    self.band_news(|facts| facts.minimised = minimised)?;
                }
            }
            Event::MappingNotify(_) => self.x.reload_keymap()?,
            Event::Error(error) => return Err(error.into()),
            _ => {}
        }
        Ok(())
    }

    fn key(&mut self, window: Window, c: char) -> Result<(), DialogError> {
        if self.is_request(window) {
            if let Some(request) = self.armed_request() {
                if let Some(button) = Button::for_key(&request.window.buttons(), c) {
                    self.press_request(button)?;
                }
            }
        } else if self.is_live(window) && Button::for_key(&[Button::EndSession], c).is_some() {
            self.send(Action::EndSession);
        }
        Ok(())
    }

    fn click(&mut self, window: Window, x: i16, y: i16) -> Result<(), DialogError> {
        let on_request = self
            .armed_request()
            .and_then(|request| request.window.button_at(window, x, y));
        if let Some(button) = on_request {
            return self.press_request(button);
        }
        let on_live = self
            .live
            .as_ref()
            .and_then(|live| live.window.button_at(window, x, y));
        if on_live == Some(Button::EndSession) {
            self.send(Action::EndSession);
        }
        Ok(())
    }

    /// Answers the open request with `button` and closes it.
    fn press_request(&mut self, button: Button) -> Result<(), DialogError> {
        if let Some(request) = self.request.take() {
            let id = request.id;
            request.window.close(&self.x)?;
            self.send(Action::Chose { id, button });
        }
        Ok(())
    }

    fn armed_request(&self) -> Option<&Request> {
        self.request
            .as_ref()
            .filter(|request| Instant::now() >= request.armed_at)
    }

    fn is_request(&self, window: Window) -> bool {
        self.request
            .as_ref()
            .is_some_and(|request| request.window.window == window)
    }

    fn is_live(&self, window: Window) -> bool {
        self.live
            .as_ref()
            .is_some_and(|live| live.window.window == window)
    }

    fn window(&self, window: Window) -> Option<&SceneWindow> {
        let request = self.request.as_ref().map(|request| &request.window);
        request
            .into_iter()
            .chain(self.live.as_ref().map(|live| &live.window))
            .find(|shown| shown.window == window)
    }

    /// The server said something of the live band: `update` its facts, then do what the
    /// guard decides.
    fn band_news(&mut self, update: impl FnOnce(&mut BandFacts)) -> Result<(), DialogError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        update(&mut live.facts);
        let verdict = live.guard.observe(live.facts, Instant::now());
        self.judge_band(verdict)
    }

    fn judge_band(&mut self, verdict: Verdict) -> Result<(), DialogError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        match verdict {
            Verdict::Fine => {}
            Verdict::Restore => {
                tracing::info!("the live band was hidden or covered: putting it back");
                live.window.restore(&self.x)?;
            }
            Verdict::EndSession if !live.ending => {
                live.ending = true;
                tracing::warn!("the live band cannot be kept in sight: ending the session");
                let _ = self.actions.send(Action::EndSession);
            }
            Verdict::EndSession => {}
        }
        Ok(())
    }

    fn close_request(&mut self) -> Result<(), DialogError> {
        match self.request.take() {
            Some(request) => request.window.close(&self.x),
            None => Ok(()),
        }
    }

    fn hide_live(&mut self) -> Result<(), DialogError> {
        match self.live.take() {
            Some(live) => live.window.close(&self.x),
            None => Ok(()),
        }
    }

    fn send(&self, action: Action) {
        // The async side outlives this thread unless the agent is exiting.
        let _ = self.actions.send(action);
    }
}
