//! UTC times as ISO 8601 text: what SAS tokens, job listings and reports need. The calendar
//! arithmetic is jiff's (no time zone database: UTC only).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[Z]` or `YYYY-MM-DDTHH:MM:SS[.fff][Z]` (UTC; a time
/// without `Z` is read as UTC too). Times before 1970 are refused.
pub fn parse_time(text: &str) -> Result<SystemTime> {
    let bad = || Error::invalid_input(format!("time {text:?} is not an ISO 8601 UTC time"));
    let full = match text.split_once('T') {
        None => format!("{text}T00:00:00Z"),
        Some(_) if text.ends_with('Z') => text.to_string(),
        Some(_) => format!("{text}Z"),
    };
    let timestamp: jiff::Timestamp = full.parse().map_err(|_| bad())?;
    if timestamp.as_second() < 0 {
        return Err(bad());
    }
    Ok(UNIX_EPOCH
        + std::time::Duration::new(
            timestamp.as_second() as u64,
            timestamp.subsec_nanosecond().max(0) as u32,
        ))
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: SystemTime) -> String {
    format_unix_seconds(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (seconds out of jiff's
/// range, ±9999 years, are clamped to it).
pub fn format_unix_seconds(secs: i64) -> String {
    let clamped = secs.clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    );
    jiff::Timestamp::from_second(clamped)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-27T08:30:05Z",
            "2000-02-29T23:59:59Z",
            "2100-12-31T00:00:00Z",
        ] {
            assert_eq!(format_time(parse_time(text).unwrap()), text);
        }
        assert_eq!(
            format_time(parse_time("2026-03-01").unwrap()),
            "2026-03-01T00:00:00Z"
        );
        assert_eq!(
            format_time(parse_time("2026-03-01T10:20Z").unwrap()),
            "2026-03-01T10:20:00Z"
        );
        assert_eq!(format_unix_seconds(1_795_752_209), "2026-11-27T04:03:29Z");
        assert!(parse_time("tomorrow").is_err());
    }
}
