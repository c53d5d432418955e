//! Converting certificate times, which may lie anywhere from year 0 to 9999.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last second humantime can print (9999-12-31T23:59:59Z).
const MAX_PRINTABLE_SECS: u64 = 253_402_300_799;

/// `time` as RFC 3339 (`2030-01-02T03:04:05Z`); times humantime cannot print (before 1970, after
/// 9999) as seconds from the epoch instead of panicking.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) if since.as_secs() <= MAX_PRINTABLE_SECS => {
            humantime::format_rfc3339_seconds(time).to_string()
        }
        Ok(since) => format!("{}s after the Unix epoch", since.as_secs()),
        Err(before) => format!("{}s before the Unix epoch", before.duration().as_secs()),
    }
}

/// A Unix timestamp (as X.509 parsers give it) as a `SystemTime`, if the platform can hold it.
pub(crate) fn from_unix(secs: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Seconds since the Unix epoch, negative before it.
pub(crate) fn to_unix(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_converts_without_panicking_at_the_edges() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(from_unix(MAX_PRINTABLE_SECS as i64).unwrap()),
            "9999-12-31T23:59:59Z"
        );
        assert!(rfc3339(from_unix(-5).unwrap()).contains("before"));
        assert!(rfc3339(from_unix(MAX_PRINTABLE_SECS as i64 + 1).unwrap()).contains("after"));
        for secs in [-86_400, 0, 1_700_000_000] {
            assert_eq!(to_unix(from_unix(secs).unwrap()), secs);
        }
    }
}
