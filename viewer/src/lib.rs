//! The Tether viewer: joins an agent's session by one-time code and keeps a bit-exact copy of
//! its screen.
//!
//! [`join_shell`] asks the user for a shell instead of the screen. For the organisation's
//! enrolled machines, [`technician`] lists them and opens shells.
//!
//! [`join`] runs a session headless (snapshot mode) or beside a [`window`].

pub mod cursor;
mod damage;
mod ending;
mod error;
mod frame_stream;
pub mod input;
mod join;
mod join_shell;
pub mod latency;
mod meter;
mod relay_link;
mod resume;
mod scale;
mod snapshot;
pub mod technician;
pub mod view;
mod viewing;
pub mod window;

pub use error::ViewerError;
pub use frame_stream::ViewOutcome;
pub use join::{join, AppliedUpdate, CursorObserver, FrameObserver, JoinEvent, JoinOptions};
pub use join_shell::join_shell;
pub use snapshot::write_png;
pub use viewing::{Finished, Viewing};
