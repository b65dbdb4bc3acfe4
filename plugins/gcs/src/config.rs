//! Turning a [`Location`] (URL parts, flags, environment) into settings for one GCS client.

use std::time::Duration;

use ferry_core::options::PluginOptions;
use ferry_core::{Error, Location, Result, Secret};

fn opts(location: &Location) -> PluginOptions<'_> {
    PluginOptions::new(location, "gcs")
}

/// Google's endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

/// Where credentials come from, as asked for (resolved by [`crate::auth`]).
#[derive(Clone)]
pub enum AuthRequest {
    /// No credentials.
    Anonymous,
    /// A ready OAuth token.
    Token(Secret),
    /// A key file.
    KeyFile(String),
    /// The chain: user ADC file, metadata server (on GCE or when forced), gcloud.
    Chain {
        /// Use the metadata server even when not detected.
        force_metadata: bool,
        /// Allow the gcloud CLI.
        gcloud: bool,
    },
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthRequest::Anonymous => f.write_str("Anonymous"),
            AuthRequest::Token(_) => f.write_str("Token(<redacted>)"),
            AuthRequest::KeyFile(p) => write!(f, "KeyFile({p})"),
            AuthRequest::Chain { .. } => f.write_str("Chain"),
        }
    }
}

/// Everything needed to talk to one bucket.
#[derive(Debug, Clone)]
pub struct GcsSettings {
    /// Bucket.
    pub bucket: String,
    /// Prefix inside the bucket (empty or ending with `/`).
    pub prefix: String,
    /// Endpoint (scheme://host[:port]).
    pub endpoint: String,
    /// Credentials asked for.
    pub auth: AuthRequest,
    /// Request timeout.
    pub request_timeout: Duration,
}

fn normalise_endpoint(endpoint: &str) -> Result<String> {
    // STORAGE_EMULATOR_HOST is often given as host:port.
    let with_scheme = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    };
    let trimmed = with_scheme.trim_end_matches('/');
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::invalid_input(format!("GCS endpoint {trimmed:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_input(format!(
            "GCS endpoint {trimmed:?} must be http(s)://host[:port]"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(Error::invalid_input(
            "the GCS endpoint must not carry credentials or a query",
        ));
    }
    Ok(trimmed.to_string())
}

impl GcsSettings {
    /// Resolves settings for `location`.
    pub fn from_location(location: &Location) -> Result<GcsSettings> {
        let bucket = location
            .bucket
            .clone()
            .ok_or_else(|| Error::invalid_input(format!("{location} names no bucket")))?;
        let endpoint = match opts(location).value("endpoint") {
            Some(e) => normalise_endpoint(e)?,
            None => DEFAULT_ENDPOINT.to_string(),
        };
        let auth = if opts(location).flag("anonymous")? {
            AuthRequest::Anonymous
        } else if let Some(token) = location.secret("gcs.token") {
            AuthRequest::Token(token.clone())
        } else if let Some(file) = opts(location).value("credentials") {
            AuthRequest::KeyFile(file.to_string())
        } else {
            AuthRequest::Chain {
                force_metadata: opts(location).flag("metadata")?,
                gcloud: !opts(location).flag("no_gcloud")?,
            }
        };
        let request_timeout = opts(location).seconds("request_timeout", 300)?;
        Ok(GcsSettings {
            bucket,
            prefix: location.path.clone(),
            endpoint,
            auth,
            request_timeout,
        })
    }

    /// Endpoint and credential source: two stores with one domain can rewrite server-side.
    pub fn copy_domain(&self) -> String {
        let who = match &self.auth {
            AuthRequest::Anonymous => "anonymous".to_string(),
            AuthRequest::Token(_) => "token".to_string(),
            AuthRequest::KeyFile(p) => format!("key:{p}"),
            AuthRequest::Chain { .. } => "chain".to_string(),
        };
        format!("gs|{}|{who}", self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_endpoint_and_auth() {
        for input in [
            "gs://bkt/f/",
            "https://storage.googleapis.com/bkt/f/",
            "https://storage.cloud.google.com/bkt/f/",
        ] {
            let s = GcsSettings::from_location(&Location::parse(input).unwrap()).unwrap();
            assert_eq!(
                (s.bucket.as_str(), s.prefix.as_str(), s.endpoint.as_str()),
                ("bkt", "f/", DEFAULT_ENDPOINT)
            );
            assert!(matches!(
                s.auth,
                AuthRequest::Chain {
                    gcloud: true,
                    force_metadata: false
                }
            ));
        }
        let mut l = Location::parse("gs://bkt/").unwrap();
        l.defaults
            .insert("gcs.endpoint".into(), "localhost:4443".into());
        l.set_secret("gcs.token", Secret::new("ya29.secret"));
        let s = GcsSettings::from_location(&l).unwrap();
        assert_eq!(s.endpoint, "http://localhost:4443");
        assert!(matches!(s.auth, AuthRequest::Token(_)));
        assert!(!format!("{s:?}").contains("ya29"));
        l.options.insert("gcs.endpoint".into(), "ftp://x".into());
        assert!(GcsSettings::from_location(&l).is_err());
    }
}
