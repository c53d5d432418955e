//! Screen sources for the Tether agent.
//!
//! The agent does not care where frames come from: it asks a [`ScreenSource`] for the
//! current screen and hands the resulting [`Frame`](tether_codec::Frame) to the codec.
//! This crate defines that abstraction and its first implementation, [`DemoDesktop`]: a
//! built-in, animated, fully deterministic desktop (wallpaper, taskbar clock, a moving
//! window with text being typed into it). It drives the tests and is the fallback when no
//! real display is available. The real capture backends (X11 through MIT-SHM, and xcap) live
//! in `tether-capture` and implement the same trait.
//!
//! ```
//! use tether_screen::{DemoDesktop, ScreenSource};
//!
//! let mut source = DemoDesktop::new(320, 200, 7);
//! println!("capturing from {}", source.describe());
//! let first = source.capture()?.clone();
//! assert_eq!(first.pixels(), source.frame(0).pixels());
//! assert_eq!(source.next_index(), 1);
//! # Ok::<(), tether_screen::CaptureError>(())
//! ```

#![warn(missing_docs)]

mod clock;
mod demo;
mod draw;
mod hash;
mod icons;
mod layout;
mod motion;
mod scene;
mod source;
mod taskbar;
mod text;
mod theme;
mod typing;
mod wallpaper;
mod window;

pub use demo::{DemoDesktop, MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH};
pub use source::{CaptureError, Captured, CursorImage, CursorState, Damage, ScreenSource};
