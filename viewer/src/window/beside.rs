//! Running a session on the async runtime while its window owns the main thread.

use std::{future::Future, sync::Arc};

use tokio::{runtime::Runtime, sync::Notify};

use super::{live::LiveView, viewer_window::ViewerWindow};
use crate::{view::ViewMode, ViewerError};

/// Runs `session` on `runtime` while a window titled `title`, `size` large and starting in
/// view `mode`, owns the main thread, until the user closes the window (which notifies the
/// session's stop) and the session has wound down. Returns the session's result, or `None`
/// when no window could be opened (the caller may then run headless).
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
    let (window, live) = match ViewerWindow::new() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("no window ({e:#})");
            return None;
        }
    };
    let stop = Arc::new(Notify::new());
    let task = runtime.spawn(session(live, stop.clone()));
    let shown = window.run(title, size, mode);
    stop.notify_one();
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
