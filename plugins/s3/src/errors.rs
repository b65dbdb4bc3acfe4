//! What an S3 server's answers mean for the operator: object_store errors mapped onto Ferry's
//! kinds, with the S3 error code read from the response body and a hint per code.

use ferry_core::{Error, ErrorKind, Location};

/// The whole error chain as text (object_store keeps the HTTP details in its sources).
fn chain_text(err: &object_store::Error) -> String {
    use std::error::Error as _;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Status and S3 error code of a failed request, read from the error text: object_store's
/// request errors say `status code: 403 Forbidden: <body>` and S3 bodies carry `<Code>…</Code>`.
fn status_and_code(text: &str) -> (Option<u16>, Option<String>) {
    let status = ["status code: ", "error response: "]
        .iter()
        .find_map(|marker| {
            let start = text.find(marker)? + marker.len();
            text[start..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        });
    let code = text.find("<Code>").and_then(|i| {
        let start = i + "<Code>".len();
        let end = text[start..].find("</Code>")? + start;
        Some(text[start..end].to_string())
    });
    (status, code)
}

fn ferry_error_inside(err: &object_store::Error) -> Option<Error> {
    use std::error::Error as _;
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(inner) = s.downcast_ref::<Error>() {
            return Some(
                Error::new(inner.kind(), inner.message().to_string())
                    .with_hint(inner.hint().unwrap_or_default()),
            );
        }
        source = s.source();
    }
    None
}

/// Maps an object_store error from an operation on `location` (and `key`, when one object).
pub fn map_error(err: object_store::Error, location: &Location, key: Option<&str>) -> Error {
    if let Some(inner) = ferry_error_inside(&err) {
        return attach(inner, location, key);
    }
    let text = chain_text(&err);
    let (status, code) = status_and_code(&text);
    let code = code.unwrap_or_default();
    let bucket = location.bucket.as_deref().unwrap_or("?");
    let (kind, hint): (ErrorKind, Option<String>) = match (&err, code.as_str()) {
        (_, "NoSuchBucket") => (
            ErrorKind::NotFound,
            Some(format!("the bucket {bucket:?} does not exist at this endpoint: create it, or check the bucket name, endpoint and region")),
        ),
        (_, "InvalidAccessKeyId") => (
            ErrorKind::PermissionDenied,
            Some("the server does not know this access key id: check --s3-access-key-id / AWS_ACCESS_KEY_ID for this side; temporary keys (ASIA…) also need their session token (--s3-session-token / AWS_SESSION_TOKEN)".into()),
        ),
        (_, "SignatureDoesNotMatch") => (
            ErrorKind::PermissionDenied,
            Some("the secret access key does not match the access key id: check --s3-secret-access-key / AWS_SECRET_ACCESS_KEY for this side".into()),
        ),
        (_, "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired") => (
            ErrorKind::PermissionDenied,
            Some("the session token is missing, invalid or expired: temporary keys (ASIA…) need --s3-session-token / AWS_SESSION_TOKEN, or let Ferry assume the role with --s3-role-arn".into()),
        ),
        (_, "AccessDenied" | "AllAccessDisabled") => (
            ErrorKind::PermissionDenied,
            Some("these credentials are not allowed to do this on this bucket: check the policy of the user or role for this side".into()),
        ),
        (_, "AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException") => (
            ErrorKind::InvalidInput,
            Some("the bucket is in another region: pass --s3-region".into()),
        ),
        (_, "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout") => (ErrorKind::Transient, None),
        (object_store::Error::NotFound { .. }, _) => (ErrorKind::NotFound, None),
        (object_store::Error::PermissionDenied { .. }, _) | (object_store::Error::Unauthenticated { .. }, _) => (
            ErrorKind::PermissionDenied,
            Some("check the credentials given for this side".into()),
        ),
        (object_store::Error::AlreadyExists { .. }, _) | (object_store::Error::Precondition { .. }, _) => (ErrorKind::Conflict, None),
        (object_store::Error::NotSupported { .. }, _) | (object_store::Error::NotImplemented { .. }, _) => (ErrorKind::Unsupported, None),
        (object_store::Error::InvalidPath { .. }, _) | (object_store::Error::UnknownConfigurationKey { .. }, _) => (ErrorKind::InvalidInput, None),
        _ => match status {
            Some(s) if s == 429 || s >= 500 => (ErrorKind::Transient, None),
            Some(400) => (ErrorKind::InvalidInput, None),
            Some(_) => (ErrorKind::Internal, None),
            // No HTTP answer at all: connection refused, reset, timed out, TLS.
            None => (
                ErrorKind::Transient,
                Some("the S3 endpoint could not be reached: check --s3-endpoint, the network, and --s3-ca-cert for private CAs".into()),
            ),
        },
    };
    let mut e = Error::new(kind, format!("S3 {}", describe(&text, &code)));
    if let Some(h) = hint {
        e = e.with_hint(h);
    }
    attach(e, location, key)
}

fn attach(e: Error, location: &Location, key: Option<&str>) -> Error {
    let e = e.with_location(location);
    match key {
        Some(k) => e.with_key(k),
        None => e,
    }
}

/// A one-line description (query strings are redacted by the error type itself).
fn describe(text: &str, code: &str) -> String {
    let text = text.lines().next().unwrap_or_default();
    let short: String = text.chars().take(600).collect();
    if code.is_empty() {
        short
    } else {
        format!("{code}: {short}")
    }
}
