//! Running a session on the async runtime while its window owns the main thread.

use std::{future::Future, sync::Arc};

use tokio::{runtime::Runtime, sync::Notify};

use super::{
    console::Chrome,
    live::LiveView,
    viewer_window::{ViewerWindow, WindowSetup},
};
use crate::{view::ViewMode, ViewerError};

/// Runs `session` on `runtime` while a bare window (the picture alone, the state in its title)
/// titled `title`, `size` large and starting in view `mode`, owns the main thread, until the
/// user closes the window (which notifies the session's stop) and the session has wound down.
/// Returns the session's result, or `None` when no window could be opened (the caller may then
/// run headless).
pub fn run_in_window<T, F>(
    runtime: &Runtime,
    title: String,
    (size, mode): ((u32, u32), ViewMode),
    session: impl FnOnce(LiveView, Arc<Notify>) -> F,
) -> Option<Result<T, ViewerError>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ViewerError>> + Send + 'static,
{
    let setup = WindowSetup {
        remote: title,
        size,
        mode,
        chrome: Chrome::Bare,
    };
    run_beside(runtime, setup, session)
}

/// Like [`run_in_window`], with the technician's console around the picture: the toolbar,
/// its actions and shortcuts, and the overlays (feed it with [`LiveView::progress`]).
pub fn run_console<T, F>(
    runtime: &Runtime,
    title: String,
    (size, mode): ((u32, u32), ViewMode),
    session: impl FnOnce(LiveView, Arc<Notify>) -> F,
) -> Option<Result<T, ViewerError>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ViewerError>> + Send + 'static,
{
    let setup = WindowSetup {
        remote: title,
        size,
        mode,
        chrome: Chrome::Console,
    };
    run_beside(runtime, setup, session)
}

fn run_beside<T, F>(
    runtime: &Runtime,
    setup: WindowSetup,
    session: impl FnOnce(LiveView, Arc<Notify>) -> F,
) -> Option<Result<T, ViewerError>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ViewerError>> + Send + 'static,
{
    let (window, live) = match ViewerWindow::new() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("no window ({e:#})");
            return None;
        }
    };
    let stop = Arc::new(Notify::new());
    // The session starts once the window is open, so that a display without OpenGL still
    // leaves the caller free to run it headless.
    let mut task = None;
    let shown = window.run(setup, || {
        task = Some(runtime.spawn(session(live, stop.clone())));
    });
    stop.notify_one();
    let Some(task) = task else {
        if let Err(e) = shown {
            eprintln!("no window ({e:#})");
        }
        return None;
    };
    let result = match runtime.block_on(task) {
        Ok(result) => result,
        Err(e) => Err(anyhow::anyhow!("the session task crashed: {e}").into()),
    };
    match shown {
        Ok(shown) => eprintln!("window closed after presenting {} frames", shown.presented),
        Err(e) => eprintln!("the window failed: {e:#}"),
    }
    Some(result)
}
