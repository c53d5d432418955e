//! Which part of the desktop a backend captures, and the monitors it can choose from.

use std::fmt;

/// What a backend captures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MonitorChoice {
    /// The whole desktop as one surface (on X11, the root window spanning every monitor).
    #[default]
    All,
    /// One monitor, by its index in the backend's monitor list (0-based).
    Index(usize),
}

/// A monitor: a rectangle of the desktop, in desktop coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    /// The name the system gives it (on X11, the RandR monitor's name, e.g. `DP-1`).
    pub name: String,
    /// Whether it is the primary monitor.
    pub primary: bool,
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl fmt::Display for Monitor {
    /// `name WxH+X+Y`, plus ` (primary)` when it is, as `xrandr` prints monitors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}x{}{:+}{:+}",
            self.name, self.width, self.height, self.x, self.y
        )?;
        if self.primary {
            f.write_str(" (primary)")?;
        }
        Ok(())
    }
}
