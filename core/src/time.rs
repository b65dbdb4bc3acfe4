//! UTC times as ISO 8601 text, without a calendar dependency: what SAS tokens, job listings
//! and reports need.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MMZ` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC).
pub fn parse_time(text: &str) -> Result<SystemTime> {
    let bad = || Error::invalid_input(format!("time {text:?} is not an ISO 8601 UTC time"));
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, t.trim_end_matches('Z')),
        None => (text, "00:00:00"),
    };
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let t: Vec<f64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    if d.len() != 3 || !(2..=3).contains(&t.len()) {
        return Err(bad());
    }
    let days = days_from_civil(d[0], d[1], d[2]);
    let secs = days * 86_400
        + (t[0] as i64) * 3600
        + (t[1] as i64) * 60
        + t.get(2).copied().unwrap_or(0.0) as i64;
    if secs < 0 {
        return Err(bad());
    }
    Ok(UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: SystemTime) -> String {
    format_unix_seconds(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_unix_seconds(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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
