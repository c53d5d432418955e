//! `--since`: an RFC 3339 instant or a time span back from now.

use std::time::{Duration, SystemTime};

/// Parses `text` as an RFC 3339 time (`2026-11-22T16:00:00Z`) or as a span before `now`
/// (`90s`, `15m`, `1h`, `2days`, `1h 30m`).
pub fn parse_since(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Ok(at);
    }
    let span: Duration = humantime::parse_duration(text).map_err(|_| {
        format!("{text:?} is neither an RFC 3339 time (2026-11-22T16:00:00Z) nor a span (1h)")
    })?;
    Ok(now.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_spans_parse_and_nonsense_does_not() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(
            parse_since("1970-01-01T00:01:40Z", now),
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(100))
        );
        assert_eq!(
            parse_since("1h", now),
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(6_400))
        );
        assert_eq!(
            parse_since("1h 30m", now),
            Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(4_600))
        );
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("", now).is_err());
    }
}
