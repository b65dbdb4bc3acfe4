//! What Azure Blob answers mean for the operator: Azure error codes mapped onto Ferry's kinds,
//! each with a hint naming what to check (the rest is `ferry-objectstore`'s fallback).

use ferry_core::{Error, ErrorKind, Location};
use ferry_objectstore::errors::Meaning;

fn azure_codes(code: &str, location: &Location) -> Option<Meaning> {
    let container = location.bucket.as_deref().unwrap_or("?");
    let found = match code {
        "ContainerNotFound" => (
            ErrorKind::NotFound,
            Some(format!("the container {container:?} does not exist in this account: create it, or check the container and account names")),
        ),
        "BlobNotFound" | "ResourceNotFound" => (ErrorKind::NotFound, None),
        "AuthenticationFailed" => (
            ErrorKind::PermissionDenied,
            Some("Azure could not authenticate the request: check --azure-account-key / AZURE_STORAGE_KEY (or the SAS, or the token) for this side, and that the SAS has not expired".into()),
        ),
        "AuthorizationFailure" => (
            ErrorKind::PermissionDenied,
            Some("Azure refused the request: check --azure-account-key / AZURE_STORAGE_KEY (or the SAS, or the token) for this side; a SAS also needs the permissions of the operation (r, l for reading; c, w, d for writing)".into()),
        ),
        "AuthorizationPermissionMismatch" | "AuthorizationResourceTypeMismatch" | "InsufficientAccountPermissions" => (
            ErrorKind::PermissionDenied,
            Some("these credentials are not allowed to do this: a SAS needs the permissions of the operation (r, l for reading; c, w, d for writing), an identity needs a Storage Blob Data role".into()),
        ),
        "CannotVerifyCopySource" => (
            ErrorKind::PermissionDenied,
            Some("Azure could not authorise the copy's source; run again: Ferry streams the objects instead of copying server-side when the source cannot be authorised".into()),
        ),
        "ServerBusy" | "OperationTimedOut" | "InternalError" => (ErrorKind::Transient, None),
        "InvalidResourceName" | "OutOfRangeInput" | "InvalidUri" => (ErrorKind::InvalidInput, None),
        _ => return None,
    };
    Some(found)
}

/// Maps an object_store error from an operation on `location` (and `key`, when one object).
pub fn map_error(err: object_store::Error, location: &Location, key: Option<&str>) -> Error {
    ferry_objectstore::errors::map_with(err, location, key, "Azure", azure_codes)
}
