//! HTTP details: URL building, status → error kind, auth from the environment.

use ferry_plugin_sdk::{ErrorKind, PluginError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a `/`-separated relative path segment by segment (keeps the `/`s).
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The error for an unexpected HTTP status while doing `what`.
pub fn status_error(status: u16, what: &str) -> PluginError {
    let (kind, hint) = match status {
        401 => (
            ErrorKind::PermissionDenied,
            "; set FERRY_WEBDAV_USER and FERRY_WEBDAV_PASSWORD (or FERRY_WEBDAV_TOKEN)",
        ),
        403 => (
            ErrorKind::PermissionDenied,
            "; the gateway refuses this user",
        ),
        404 | 410 => (ErrorKind::NotFound, ""),
        409 | 412 => (ErrorKind::Conflict, ""),
        405 | 501 => (ErrorKind::Unsupported, "; is this a WebDAV endpoint?"),
        423 | 429 | 500 | 502 | 503 | 504 => (ErrorKind::Transient, ""),
        507 => (ErrorKind::StorageFull, ""),
        _ => (ErrorKind::Internal, ""),
    };
    PluginError::new(
        kind,
        format!("{what}: the server answered HTTP {status}{hint}"),
    )
}

/// The error for a request that got no answer.
pub fn transport_error(error: &reqwest::Error, what: &str) -> PluginError {
    let kind = if error.is_builder() {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Transient
    };
    // reqwest's Display carries the URL, which holds no secret (auth travels in headers).
    let mut message = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    PluginError::new(kind, message)
}

/// How requests authenticate.
#[derive(Clone)]
pub enum Auth {
    /// No credentials.
    None,
    /// Basic auth.
    Basic { user: String, password: String },
    /// A bearer token.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Basic { .. } => "Auth::Basic(<redacted>)",
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
        })
    }
}

impl Auth {
    /// Reads `FERRY_WEBDAV_TOKEN`, else `FERRY_WEBDAV_USER` / `FERRY_WEBDAV_PASSWORD`.
    pub fn from_env() -> Result<Auth, PluginError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(token) = var("FERRY_WEBDAV_TOKEN") {
            return Ok(Auth::Bearer(token));
        }
        match (var("FERRY_WEBDAV_USER"), var("FERRY_WEBDAV_PASSWORD")) {
            (Some(user), Some(password)) => Ok(Auth::Basic { user, password }),
            (Some(_), None) => Err(PluginError::invalid_input(
                "FERRY_WEBDAV_USER is set but FERRY_WEBDAV_PASSWORD is not: set both",
            )),
            (None, Some(_)) => Err(PluginError::invalid_input(
                "FERRY_WEBDAV_PASSWORD is set but FERRY_WEBDAV_USER is not: set both",
            )),
            (None, None) => Ok(Auth::None),
        }
    }

    /// Adds the credentials to a request.
    pub fn apply(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_but_slashes_kept() {
        assert_eq!(encode_path("a b/c#d/é"), "a%20b/c%23d/%C3%A9");
        assert_eq!(encode_path(""), "");
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(status_error(401, "x").kind, ErrorKind::PermissionDenied);
        assert_eq!(status_error(503, "x").kind, ErrorKind::Transient);
        assert_eq!(status_error(507, "x").kind, ErrorKind::StorageFull);
    }

    #[test]
    fn debug_hides_credentials() {
        let a = Auth::Basic {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{a:?}").contains("hunter2"));
    }
}
