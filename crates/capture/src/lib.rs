//! Real screen capture for the Tether agent, as [`ScreenSource`](tether_screen::ScreenSource)s.
//!
//! - [`X11Screen`] (Linux): the X11 root window (or one RandR monitor of it) read through
//!   MIT-SHM shared memory, falling back to plain `GetImage` when the server cannot share
//!   memory with us (a remote display). XDamage tells it what changed, so the encoder only
//!   looks there and an idle screen costs no captures; RandR size changes are followed;
//!   XFixes gives the cursor separately from the frames.
//! - `XcapScreen` (cargo feature `xcap`): any platform the xcap crate supports (Wayland,
//!   Windows, macOS), without damage or cursor tracking.
//!
//! ```no_run
//! # #[cfg(target_os = "linux")]
//! # fn main() -> Result<(), tether_screen::CaptureError> {
//! use std::time::Duration;
//! use tether_capture::{MonitorChoice, X11Screen};
//! use tether_screen::ScreenSource;
//!
//! let mut screen = X11Screen::open(None, MonitorChoice::All)?;
//! println!("capturing {}", screen.describe());
//! if screen.wait_for_change(Duration::from_secs(1))? {
//!     let captured = screen.capture_with_damage()?;
//!     println!("{:?} changed: {:?}", captured.frame, captured.damage);
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(target_os = "linux"))]
//! # fn main() {}
//! ```

#![warn(missing_docs)]

mod monitor;
#[cfg(target_os = "linux")]
mod x11;
#[cfg(feature = "xcap")]
mod xcap_screen;

pub use monitor::{Monitor, MonitorChoice};
#[cfg(target_os = "linux")]
pub use x11::{ImageTransfer, X11Screen};
#[cfg(feature = "xcap")]
pub use xcap_screen::XcapScreen;
