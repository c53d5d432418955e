//! The viewer window: the technician's console around the remote screen. egui lays out a
//! slim toolbar and the overlays; the remote picture is an OpenGL texture updated only where
//! the decoder changed it, drawn one to one bit-exactly or scaled to fit by area averaging;
//! the technician's raw keyboard and mouse go to the remote screen while it has them.
//!
//! winit runs the event loop on the main thread; the session runs on the tokio runtime and
//! exchanges frames, milestones and input with it through a [`LiveView`]. The session never
//! waits for the window: it copies changed rectangles into a shared picture (a lock held for a
//! copy, never for drawing) and sends input through a bounded channel.

mod actions;
mod app;
mod beside;
mod console;
mod gl_window;
mod live;
mod phase;
mod picture;
mod presented;
mod ui_layer;
mod viewer_window;

pub use beside::{run_console, run_in_window};
pub use console::Chrome;
pub use live::LiveView;
pub use presented::{PresentLog, Presented};
pub use viewer_window::{ViewerWindow, WindowReport, WindowSetup};

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}
