//! The user's request to end a session, as both clients wait for it.

use tokio::sync::Notify;

/// Resolves when `stop` is notified; never without one.
pub async fn stopped(stop: Option<&Notify>) {
    match stop {
        Some(stop) => stop.notified().await,
        None => std::future::pending().await,
    }
}
