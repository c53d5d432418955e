//! The viewer window: the remote framebuffer scaled to fit, the session's state and live frame
//! rate in the title, the technician's mouse and keyboard forwarded, and a clear "session
//! ended" state. winit runs the event loop on the main thread; the session runs on the tokio
//! runtime and exchanges frames and input with it through a [`LiveView`].

mod app;
mod beside;
mod live;
mod viewer_window;

pub use beside::run_in_window;
pub use live::LiveView;
pub use viewer_window::{ViewerWindow, WindowReport};

/// Whether a graphical display is available to open a window on.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}
