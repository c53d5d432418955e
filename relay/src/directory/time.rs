//! Times as stored: milliseconds since the Unix epoch, as in the audit log.

use std::time::{Duration, SystemTime};

pub(super) use crate::audit::unix_ms as to_ms;

/// The stored `ms` as a time; `None` if it is negative (never written by the relay).
pub(super) fn from_ms(ms: i64) -> Option<SystemTime> {
    let ms = u64::try_from(ms).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}
