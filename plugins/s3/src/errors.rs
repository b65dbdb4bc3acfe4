//! What an S3 server's answers mean for the operator: S3 error codes mapped onto Ferry's kinds,
//! each with a hint naming what to check (the rest is `ferry-objectstore`'s fallback).

use ferry_core::{Error, ErrorKind, Location};
use ferry_objectstore::errors::Meaning;

fn s3_codes(code: &str, location: &Location) -> Option<Meaning> {
    let bucket = location.bucket.as_deref().unwrap_or("?");
    let found = match code {
        "NoSuchBucket" => (
            ErrorKind::NotFound,
            Some(format!("the bucket {bucket:?} does not exist at this endpoint: create it, or check the bucket name, endpoint and region")),
        ),
        "InvalidAccessKeyId" => (
            ErrorKind::PermissionDenied,
            Some("the server does not know this access key id: check --s3-access-key-id / AWS_ACCESS_KEY_ID for this side; temporary keys (ASIA…) also need their session token (--s3-session-token / AWS_SESSION_TOKEN)".into()),
        ),
        "SignatureDoesNotMatch" => (
            ErrorKind::PermissionDenied,
            Some("the secret access key does not match the access key id: check --s3-secret-access-key / AWS_SECRET_ACCESS_KEY for this side".into()),
        ),
        "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired" => (
            ErrorKind::PermissionDenied,
            Some("the session token is missing, invalid or expired: temporary keys (ASIA…) need --s3-session-token / AWS_SESSION_TOKEN, or let Ferry assume the role with --s3-role-arn".into()),
        ),
        "AccessDenied" | "AllAccessDisabled" => (
            ErrorKind::PermissionDenied,
            Some("these credentials are not allowed to do this on this bucket: check the policy of the user or role for this side".into()),
        ),
        "AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException" => (
            ErrorKind::InvalidInput,
            Some("the bucket is in another region: pass --s3-region".into()),
        ),
        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" => (ErrorKind::Transient, None),
        _ => return None,
    };
    Some(found)
}

/// Maps an object_store error from an operation on `location` (and `key`, when one object).
pub fn map_error(err: object_store::Error, location: &Location, key: Option<&str>) -> Error {
    ferry_objectstore::errors::map_with(err, location, key, "S3", s3_codes)
}
