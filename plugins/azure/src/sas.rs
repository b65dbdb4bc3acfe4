//! SAS tokens: parsing one (to check its expiry), and signing a short-lived service SAS with the
//! account key so that server-side copies can authorise their source (without it Azure answers
//! `CannotVerifyCopySource`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use ferry_core::{Error, Result, Secret};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The service version Ferry signs SAS tokens for.
pub const SAS_VERSION: &str = "2022-11-02";

/// A parsed SAS token.
#[derive(Clone)]
pub struct SasToken {
    /// The query pairs, in order.
    pub pairs: Vec<(String, String)>,
    /// `se`: when it expires.
    pub expiry: Option<SystemTime>,
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasToken")
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl SasToken {
    /// Parses the query string of a SAS URL (with or without a leading `?`).
    pub fn parse(query: &str) -> Result<SasToken> {
        let query = query.trim_start_matches('?');
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !pairs.iter().any(|(k, _)| k == "sig") {
            return Err(Error::invalid_input(
                "the SAS token has no signature (`sig=`): give the whole query string of the SAS URL",
            ));
        }
        let expiry = pairs
            .iter()
            .find(|(k, _)| k == "se")
            .map(|(_, v)| parse_time(v))
            .transpose()?;
        Ok(SasToken { pairs, expiry })
    }

    /// Refuses an expired SAS; warns about one that expires within `margin`.
    pub fn check_lifetime(&self, margin: Duration) -> Result<()> {
        let Some(expiry) = self.expiry else {
            return Ok(());
        };
        let now = SystemTime::now();
        if expiry <= now {
            return Err(Error::new(
                ferry_core::ErrorKind::PermissionDenied,
                "the SAS token has expired",
            )
            .with_hint(
                "create a new SAS that outlives the copy (a SAS cannot be refreshed during a copy)",
            ));
        }
        if expiry.duration_since(now).unwrap_or_default() < margin {
            tracing::warn!(
                "the SAS token expires in {} minutes: a SAS cannot be refreshed, so a longer copy will fail part-way; create one that outlives the copy",
                expiry.duration_since(now).unwrap_or_default().as_secs() / 60
            );
        }
        Ok(())
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MMZ` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC).
pub fn parse_time(text: &str) -> Result<SystemTime> {
    let bad = || Error::invalid_input(format!("SAS time {text:?} is not an ISO 8601 UTC time"));
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
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
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

/// Signs a container service SAS (`sr=c`) with the account key.
pub fn sign_container_sas(
    account: &str,
    container: &str,
    key: &Secret,
    permissions: &str,
    start: SystemTime,
    expiry: SystemTime,
) -> Result<Vec<(String, String)>> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key.expose())
        .map_err(|_| Error::invalid_input("the Azure account key is not base64"))?;
    let st = format_time(start);
    let se = format_time(expiry);
    let resource = format!("/blob/{account}/{container}");
    // permissions, start, expiry, resource, identifier, IP, protocol, version, resource type,
    // snapshot time, encryption scope, rscc, rscd, rsce, rscl, rsct
    let to_sign = [
        permissions,
        &st,
        &se,
        &resource,
        "",
        "",
        "https,http",
        SAS_VERSION,
        "c",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| Error::invalid_input("the Azure account key is empty"))?;
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(vec![
        ("sv".into(), SAS_VERSION.into()),
        ("st".into(), st),
        ("se".into(), se),
        ("sr".into(), "c".into()),
        ("sp".into(), permissions.into()),
        ("spr".into(), "https,http".into()),
        ("sig".into(), sig),
    ])
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
        assert!(parse_time("tomorrow").is_err());
    }

    #[test]
    fn sas_parsing_and_lifetime() {
        let t = SasToken::parse("?sv=2022-11-02&sp=rl&se=2999-01-01T00:00:00Z&sig=a%2Bb").unwrap();
        assert_eq!(t.pairs.last().unwrap().1, "a+b");
        assert!(t.check_lifetime(Duration::from_secs(3600)).is_ok());
        let old = SasToken::parse("sp=rl&se=2000-01-01T00:00:00Z&sig=x").unwrap();
        assert!(old.check_lifetime(Duration::from_secs(1)).is_err());
        assert!(SasToken::parse("sv=1&sp=r").is_err());
        assert!(!format!("{t:?}").contains("a+b"));
    }

    #[test]
    fn signed_sas_is_deterministic_and_keyed() {
        let key = Secret::new("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
        let start = parse_time("2026-01-01T00:00:00Z").unwrap();
        let end = parse_time("2026-01-01T02:00:00Z").unwrap();
        let a = sign_container_sas("acct", "c", &key, "racwdl", start, end).unwrap();
        let b = sign_container_sas("acct", "c", &key, "racwdl", start, end).unwrap();
        assert_eq!(a, b);
        let other = sign_container_sas("acct", "d", &key, "racwdl", start, end).unwrap();
        assert_ne!(a.last(), other.last());
        assert!(
            sign_container_sas("acct", "c", &Secret::new("not base64!"), "r", start, end).is_err()
        );
    }
}
