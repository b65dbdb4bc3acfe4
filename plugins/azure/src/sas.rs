//! SAS tokens: parsing one (to check its expiry), and signing a short-lived service SAS with the
//! account key so that server-side copies can authorise their source (without it Azure answers
//! `CannotVerifyCopySource`).

use std::time::{Duration, SystemTime};

use ferry_core::time::{format_time, parse_time};

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
