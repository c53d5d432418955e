//! The demo desktop's fixed colour palette (wallpaper colours are seed-derived, see
//! `wallpaper.rs`).

use crate::draw::{rgb, Bgra};

/// Taskbar background.
pub(crate) const TASKBAR: Bgra = rgb(30, 32, 40);
/// The highlight line along the taskbar's top edge.
pub(crate) const TASKBAR_EDGE: Bgra = rgb(72, 76, 92);
/// Inactive taskbar button.
pub(crate) const BUTTON: Bgra = rgb(52, 56, 70);
/// The taskbar button of the focused window.
pub(crate) const BUTTON_ACTIVE: Bgra = rgb(64, 98, 156);
/// Text on the taskbar, on the title bar and under desktop icons.
pub(crate) const LIGHT_TEXT: Bgra = rgb(236, 238, 244);
/// Shadow behind icon labels.
pub(crate) const TEXT_SHADOW: Bgra = rgb(10, 10, 14);
/// Window frame.
pub(crate) const WINDOW_BORDER: Bgra = rgb(36, 38, 46);
/// Window title bar.
pub(crate) const TITLE_BAR: Bgra = rgb(52, 101, 164);
/// Minimise and maximise buttons on the title bar.
pub(crate) const TITLE_BUTTON: Bgra = rgb(86, 132, 194);
/// Close button on the title bar.
pub(crate) const CLOSE_BUTTON: Bgra = rgb(204, 62, 68);
/// The window's text area.
pub(crate) const PAPER: Bgra = rgb(250, 250, 246);
/// Typed text and the cursor.
pub(crate) const INK: Bgra = rgb(32, 34, 40);
/// Desktop icon bodies: home, files, trash.
pub(crate) const ICONS: [Bgra; 3] = [rgb(232, 176, 64), rgb(96, 168, 224), rgb(168, 172, 180)];
/// Desktop icon outlines.
pub(crate) const ICON_EDGE: Bgra = rgb(40, 42, 50);
