//! What GCS answers mean for the operator: HTTP statuses and JSON error reasons mapped onto
//! Ferry's kinds, each with a hint naming what to check.

use ferry_core::{Error, ErrorKind, Location};

/// Maps a failed response (status and body) for `location` / `key`.
pub fn from_response(status: u16, body: &str, location: &Location, key: Option<&str>) -> Error {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    let bucket = location.bucket.as_deref().unwrap_or("?");
    let (kind, hint): (ErrorKind, Option<String>) = match status {
        400 => (ErrorKind::InvalidInput, None),
        401 => (
            ErrorKind::PermissionDenied,
            Some("GCS did not accept the credentials: check --gcs-credentials / GOOGLE_APPLICATION_CREDENTIALS or --gcs-token for this side (tokens expire after an hour)".into()),
        ),
        403 => (
            ErrorKind::PermissionDenied,
            Some("these credentials are not allowed to do this: the account needs roles/storage.objectViewer to read and roles/storage.objectAdmin (or objectCreator) to write".into()),
        ),
        404 if key.is_none() => (
            ErrorKind::NotFound,
            Some(format!("the bucket {bucket:?} does not exist: create it, or check the name and the endpoint")),
        ),
        404 => (ErrorKind::NotFound, None),
        409 | 412 => (ErrorKind::Conflict, None),
        408 | 429 | 500..=599 => (ErrorKind::Transient, None),
        _ => (ErrorKind::Internal, None),
    };
    let mut e =
        Error::new(kind, format!("GCS answered {status}: {message}")).with_location(location);
    if let Some(h) = hint {
        e = e.with_hint(h);
    }
    match key {
        Some(k) => e.with_key(k),
        None => e,
    }
}

/// Maps a transport failure (no HTTP answer).
pub fn from_transport(err: reqwest::Error, location: &Location, key: Option<&str>) -> Error {
    use std::error::Error as _;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    let e = Error::new(ErrorKind::Transient, format!("GCS request failed: {text}"))
        .with_location(location)
        .with_hint("the GCS endpoint could not be reached: check --gcs-endpoint and the network");
    match key {
        Some(k) => e.with_key(k),
        None => e,
    }
}
