//! The technician's console around the picture, laid out with egui each frame: a slim
//! toolbar (the session's state, the security digits, the live figures, what the user granted,
//! and the actions of [`super::actions`]), and overlays over the picture area whenever there is
//! no live picture to show (connecting, securing, waiting for the user with the digits to
//! compare, reconnecting, declined, ended).
//!
//! The toolbar is pinned above the picture, or hidden over it: then it shows while the session
//! is not live, for a few seconds once it is, and whenever the pointer touches the window's
//! top edge, so that by default the whole window is the remote screen. Panels that later
//! features bring (participants, chat, files, the helpdesk queue) go beside the picture area:
//! [`Console::ui`] lays the toolbar out first, then what remains is the picture's.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use egui::{Align, Align2, Color32, Id, Layout, RichText};

use super::{
    actions::{Action, Effect, Place, ACTIONS},
    phase::{Overlay, Phase, SessionState},
};
use crate::view::{Area, ViewMode};

/// How long the hidden toolbar shows once the session goes live.
const PEEK: Duration = Duration::from_secs(3);
/// How close to the window's top edge the pointer reveals the hidden toolbar, in points.
const REVEAL_EDGE: f32 = 3.0;
/// How far below the revealed toolbar the pointer may stray before it hides again, in points.
const HIDE_MARGIN: f32 = 12.0;

/// What the console shows besides the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chrome {
    /// The technician's console: toolbar, overlays, and the end of the session shown over the
    /// last picture.
    Console,
    /// The picture alone (a mirror such as `tether-demo`'s): overlays only while there is no
    /// picture, the state in the title.
    Bare,
}

/// Where the toolbar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toolbar {
    /// Above the picture, always.
    Pinned,
    /// Over the picture, shown when needed.
    AutoHide,
}

/// What the console needs to know to lay itself out.
pub(super) struct ConsoleInput<'a> {
    /// The session's state.
    pub session: &'a SessionState,
    /// What the window shows (e.g. "session 123-456-789-012").
    pub remote: &'a str,
    /// The live figures ("29 fps · 850 kbit/s · 1.2 ms").
    pub meter: &'a str,
    /// Fit or one to one.
    pub mode: ViewMode,
    /// Whether a picture was received.
    pub has_picture: bool,
    /// The pointer, in window pixels, when it is in the window.
    pub pointer: Option<(f64, f64)>,
    /// Now.
    pub now: Instant,
}

/// What the console decided this frame.
#[derive(Debug, Default)]
pub(super) struct ConsoleOutput {
    /// Where the picture goes, in window pixels.
    pub picture_area: Area,
    /// Actions the technician clicked.
    pub clicked: Vec<Effect>,
    /// Whether the overlay covers the picture area (nothing there reaches the remote).
    pub covered: bool,
    /// Where the toolbar is, in window pixels, when shown.
    pub toolbar: Option<Area>,
}

/// The console's own state across frames.
pub(super) struct Console {
    chrome: Chrome,
    toolbar: Toolbar,
    /// Until when the hidden toolbar shows after the session went live.
    peek_until: Option<Instant>,
    /// Whether the pointer revealed the hidden toolbar.
    revealed: bool,
    /// Whether the session was live at the last frame.
    was_live: bool,
    /// The toolbar's bottom edge at the last frame, in points.
    toolbar_bottom: Option<f32>,
    /// Where each named part was last laid out, to log changes.
    laid_out: HashMap<String, Area>,
}

impl Console {
    /// A console showing `chrome`, its toolbar hidden over the picture.
    pub fn new(chrome: Chrome) -> Self {
        Self {
            chrome,
            toolbar: Toolbar::AutoHide,
            peek_until: None,
            revealed: false,
            was_live: false,
            toolbar_bottom: None,
            laid_out: HashMap::new(),
        }
    }

    /// Pins the toolbar, or lets it hide.
    pub fn toggle_toolbar(&mut self) {
        self.toolbar = match self.toolbar {
            Toolbar::Pinned => Toolbar::AutoHide,
            Toolbar::AutoHide => Toolbar::Pinned,
        };
        self.revealed = false;
        self.peek_until = None;
    }

    /// Lays the console out for this frame.
    pub fn ui(&mut self, ctx: &egui::Context, input: &ConsoleInput<'_>) -> ConsoleOutput {
        let ppp = ctx.pixels_per_point();
        let screen = ctx.screen_rect();
        let mut output = ConsoleOutput::default();
        let mut laid_out = Vec::new();
        let toolbar_shown = self.toolbar_shown(ctx, input);
        let mut picture = screen;
        if toolbar_shown {
            let panel = egui::TopBottomPanel::top("toolbar").show(ctx, |ui| {
                ui.horizontal(|ui| self.toolbar_ui(ui, input, &mut output, &mut laid_out))
            });
            let rect = panel.response.rect;
            self.toolbar_bottom = Some(rect.bottom());
            output.toolbar = Some(physical(rect, ppp));
            if self.toolbar == Toolbar::Pinned {
                picture.min.y = rect.bottom();
            }
        } else {
            self.toolbar_bottom = None;
        }
        output.picture_area = physical_inside(picture, ppp);
        let covers_the_end = self.chrome == Chrome::Console;
        if let Some(overlay) = input.session.overlay(input.has_picture, covers_the_end) {
            output.covered = true;
            if overlay == Overlay::Paused {
                ctx.layer_painter(egui::LayerId::new(egui::Order::Background, Id::new("dim")))
                    .rect_filled(picture, 0.0, Color32::from_black_alpha(160));
            }
            overlay_ui(
                ctx,
                overlay,
                picture,
                input,
                &mut output,
                &mut laid_out,
                self.chrome,
            );
        }
        self.log_layout(laid_out, ppp);
        output
    }

    /// Whether the toolbar shows this frame, and keeps egui drawing while it peeks.
    fn toolbar_shown(&mut self, ctx: &egui::Context, input: &ConsoleInput<'_>) -> bool {
        if self.chrome == Chrome::Bare {
            return false;
        }
        let live = input.session.phase == Phase::Live;
        if live && !self.was_live && self.peek_until.is_none() {
            self.peek_until = Some(input.now + PEEK);
        }
        self.was_live = live;
        if self.toolbar == Toolbar::Pinned {
            return true;
        }
        let ppp = ctx.pixels_per_point();
        let pointer_y = input.pointer.map(|(_, y)| y as f32 / ppp);
        self.revealed = match (pointer_y, self.toolbar_bottom) {
            (Some(y), _) if y <= REVEAL_EDGE => true,
            (Some(y), Some(bottom)) if self.revealed => y <= bottom + HIDE_MARGIN,
            _ => false,
        } || egui::Popup::is_any_open(ctx);
        let peeking = match self.peek_until {
            Some(until) if input.now < until => {
                ctx.request_repaint_after(until - input.now);
                true
            }
            _ => false,
        };
        !live || peeking || self.revealed
    }

    fn toolbar_ui(
        &self,
        ui: &mut egui::Ui,
        input: &ConsoleInput<'_>,
        output: &mut ConsoleOutput,
        laid_out: &mut Vec<(String, egui::Rect)>,
    ) {
        let session = input.session;
        let colour = match session.phase {
            Phase::Live => Color32::from_rgb(80, 200, 120),
            Phase::WaitingForUser | Phase::Paused => Color32::from_rgb(240, 180, 60),
            Phase::Declined(_) | Phase::Ended(_) => Color32::from_rgb(230, 80, 80),
            Phase::Connecting | Phase::Securing => Color32::GRAY,
        };
        let (dot, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().circle_filled(dot.center(), 4.0, colour);
        ui.label(session.summary());
        if let Some(digits) = &session.digits {
            ui.separator();
            let shown = ui
                .label(
                    RichText::new(format!("digits {digits}"))
                        .monospace()
                        .strong(),
                )
                .on_hover_text("The user sees the same six digits: compare them");
            laid_out.push(("toolbar digits".to_owned(), shown.rect));
        }
        if matches!(session.phase, Phase::Live | Phase::Paused) {
            ui.separator();
            ui.label(RichText::new(input.meter).monospace());
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            for action in ACTIONS
                .iter()
                .rev()
                .filter(|action| action.place == Place::Toolbar)
            {
                let clicked = action_button(ui, action, input, laid_out);
                output.clicked.extend(clicked);
                if action.name == "send-ctrl-alt-del" {
                    self.keys_menu(ui, input, output, laid_out);
                }
            }
        });
    }

    /// The menu of key chords beside the Ctrl+Alt+Del button.
    fn keys_menu(
        &self,
        ui: &mut egui::Ui,
        input: &ConsoleInput<'_>,
        output: &mut ConsoleOutput,
        laid_out: &mut Vec<(String, egui::Rect)>,
    ) {
        let menu = ui.add_enabled_ui(input.session.controls(), |ui| {
            ui.menu_button("Keys", |ui| {
                for action in ACTIONS
                    .iter()
                    .filter(|action| action.place == Place::KeysMenu)
                {
                    let clicked = action_button(ui, action, input, laid_out);
                    if clicked.is_some() {
                        ui.close();
                    }
                    output.clicked.extend(clicked);
                }
            })
        });
        laid_out.push(("menu keys".to_owned(), menu.inner.response.rect));
    }

    /// Logs where named parts moved (`RUST_LOG=tether_viewer::window=debug`), in window
    /// pixels: what a script or a test needs to click them.
    fn log_layout(&mut self, laid_out: Vec<(String, egui::Rect)>, ppp: f32) {
        for (name, rect) in laid_out {
            let area = physical(rect, ppp);
            if self.laid_out.get(&name) != Some(&area) {
                tracing::debug!(
                    "console layout: {name} at {},{} {}x{}",
                    area.x,
                    area.y,
                    area.width,
                    area.height
                );
                self.laid_out.insert(name, area);
            }
        }
    }
}

/// A button for `action`; its effect when clicked.
fn action_button(
    ui: &mut egui::Ui,
    action: &Action,
    input: &ConsoleInput<'_>,
    laid_out: &mut Vec<(String, egui::Rect)>,
) -> Option<Effect> {
    let label = match action.effect {
        Effect::ToggleView => match input.mode {
            ViewMode::Fit => "Actual size",
            ViewMode::Actual => "Fit",
        },
        _ => action.label,
    };
    let mut button = egui::Button::new(label);
    if action.effect == Effect::EndSession {
        button = button.fill(Color32::from_rgb(170, 40, 40));
    }
    let enabled = !action.needs_control() || input.session.controls();
    let response = ui
        .add_enabled(enabled, button)
        .on_hover_text(action.shortcut_text());
    laid_out.push((format!("action {}", action.name), response.rect));
    response.clicked().then_some(action.effect)
}

/// The card over the picture area for `overlay`.
fn overlay_ui(
    ctx: &egui::Context,
    overlay: Overlay,
    picture: egui::Rect,
    input: &ConsoleInput<'_>,
    output: &mut ConsoleOutput,
    laid_out: &mut Vec<(String, egui::Rect)>,
    chrome: Chrome,
) {
    let session = input.session;
    let agent = session.agent.as_deref().unwrap_or("the agent");
    let card = egui::Area::new(Id::new("overlay"))
        .order(egui::Order::Foreground)
        .fade_in(false)
        .pivot(Align2::CENTER_CENTER)
        .fixed_pos(picture.center())
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style())
                .inner_margin(24.0)
                .show(ui, |ui| {
                    ui.set_max_width(picture.width().clamp(200.0, 520.0) - 48.0);
                    ui.vertical_centered(|ui| match overlay {
                        Overlay::Connecting => {
                            ui.heading("Connecting…");
                            ui.label(format!("Asking the relay for {}.", input.remote));
                        }
                        Overlay::Securing => {
                            ui.heading("Securing the session…");
                            ui.label(format!("Keying the connection with {agent} end to end."));
                        }
                        Overlay::WaitingForUser => {
                            ui.heading("Waiting for the user to accept");
                            ui.add_space(12.0);
                            if let Some(digits) = &session.digits {
                                let shown =
                                    ui.label(RichText::new(digits).monospace().size(56.0).strong());
                                laid_out.push(("overlay digits".to_owned(), shown.rect));
                            }
                            ui.add_space(12.0);
                            ui.label(
                                "The user sees the same six digits. Compare them with the \
                                 user (on the phone): if they differ, end the session.",
                            );
                        }
                        Overlay::FirstPicture => {
                            ui.heading("Admitted");
                            ui.label(format!(
                                "Granted: {}. Waiting for the first picture…",
                                session.summary()
                            ));
                        }
                        Overlay::Paused => {
                            ui.heading("Connection lost");
                            ui.label("Taking the session back, with no new code or consent…");
                        }
                        Overlay::Declined | Overlay::Ended => {
                            ui.heading(if overlay == Overlay::Declined {
                                "Declined"
                            } else {
                                "Session ended"
                            });
                            ui.label(session.end_reason().unwrap_or_default());
                            if chrome == Chrome::Console {
                                ui.add_space(12.0);
                                let close =
                                    ui.button("Close window").on_hover_text("Ctrl+Alt+Shift+Q");
                                laid_out.push(("overlay close".to_owned(), close.rect));
                                if close.clicked() {
                                    output.clicked.push(Effect::EndSession);
                                }
                            }
                        }
                    })
                })
        });
    laid_out.push(("overlay card".to_owned(), card.response.rect));
}

/// `rect` (points) in window pixels, rounded outwards.
fn physical(rect: egui::Rect, ppp: f32) -> Area {
    let x0 = (rect.min.x * ppp).floor().max(0.0);
    let y0 = (rect.min.y * ppp).floor().max(0.0);
    let x1 = (rect.max.x * ppp).ceil().max(x0);
    let y1 = (rect.max.y * ppp).ceil().max(y0);
    Area {
        x: x0 as u32,
        y: y0 as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    }
}

/// `rect` (points) in window pixels, rounded inwards: what lies wholly inside it.
fn physical_inside(rect: egui::Rect, ppp: f32) -> Area {
    let x0 = (rect.min.x * ppp).ceil().max(0.0);
    let y0 = (rect.min.y * ppp).ceil().max(0.0);
    let x1 = (rect.max.x * ppp).floor().max(x0);
    let y1 = (rect.max.y * ppp).floor().max(y0);
    Area {
        x: x0 as u32,
        y: y0 as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_become_whole_pixels_rounded_outwards() {
        let rect = egui::Rect::from_min_max(egui::pos2(0.0, 28.3), egui::pos2(640.0, 360.0));
        assert_eq!(
            physical(rect, 2.0),
            Area {
                x: 0,
                y: 56,
                width: 1280,
                height: 664
            }
        );
        assert_eq!(
            physical_inside(rect, 2.0),
            Area {
                x: 0,
                y: 57,
                width: 1280,
                height: 663
            }
        );
    }
}
