//! What an object store's answer means, for any backend: the status and service error code of a
//! failed request, and a fallback mapping onto Ferry's kinds. Plugins put their own table of
//! service codes (with hints) in front of [`map_with`].

use ferry_core::{Error, ErrorKind, Location};

/// A failed request, as far as the error tells.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// HTTP status, when a response came back.
    pub status: Option<u16>,
    /// The service's error code (`<Code>…</Code>`), when the body had one.
    pub code: String,
    /// The whole error chain as one line of text.
    pub text: String,
    /// The error's own message and its deepest cause (e.g. a TLS or connection failure).
    pub summary: String,
}

fn summary(err: &object_store::Error) -> String {
    use std::error::Error as _;
    let top: String = err.to_string().chars().take(300).collect();
    let mut root = None;
    let mut source = err.source();
    while let Some(s) = source {
        root = Some(s.to_string());
        source = s.source();
    }
    match root {
        Some(r) if !top.contains(&r) => format!(
            "{top} (caused by: {})",
            r.chars().take(300).collect::<String>()
        ),
        _ => top,
    }
}

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

impl Failure {
    /// Reads status and code from the error text: object_store's request errors say
    /// `status code: 403 Forbidden: <body>`, and S3 and Azure bodies carry `<Code>…</Code>`.
    pub fn of(err: &object_store::Error) -> Failure {
        let text = chain_text(err);
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
        let code = text
            .find("<Code>")
            .and_then(|i| {
                let start = i + "<Code>".len();
                let end = text[start..].find("</Code>")? + start;
                Some(text[start..end].to_string())
            })
            .unwrap_or_default();
        Failure {
            status,
            code,
            text,
            summary: summary(err),
        }
    }
}

/// A Ferry error raised by a plugin's own credential provider, carried inside object_store's.
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

/// A kind and an optional hint saying what to check.
pub type Meaning = (ErrorKind, Option<String>);

/// A plugin's table of service codes: the meaning of the codes it knows.
pub type CodeTable = fn(&str, &Location) -> Option<Meaning>;

/// The kind an error has when the service code says nothing more specific.
pub fn fallback(err: &object_store::Error, failure: &Failure) -> Meaning {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } => (ErrorKind::NotFound, None),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => (
            ErrorKind::PermissionDenied,
            Some("check the credentials given for this side".into()),
        ),
        E::AlreadyExists { .. } | E::Precondition { .. } => (ErrorKind::Conflict, None),
        E::NotSupported { .. } | E::NotImplemented { .. } => (ErrorKind::Unsupported, None),
        E::InvalidPath { .. } | E::UnknownConfigurationKey { .. } => (ErrorKind::InvalidInput, None),
        _ => match failure.status {
            Some(s) if s == 429 || s >= 500 => (ErrorKind::Transient, None),
            Some(400) => (ErrorKind::InvalidInput, None),
            Some(_) => (ErrorKind::Internal, None),
            // No HTTP answer at all: connection refused, reset, timed out, TLS.
            None => (
                ErrorKind::Transient,
                Some("the endpoint could not be reached: check the endpoint option, the network, and the CA certificate option for private CAs".into()),
            ),
        },
    }
}

/// Maps `err` with a plugin's table: `table(code, failure)` returns a kind and hint for the
/// codes it knows; everything else goes through [`fallback`]. `service` prefixes the message.
pub fn map_with(
    err: object_store::Error,
    location: &Location,
    key: Option<&str>,
    service: &str,
    table: CodeTable,
) -> Error {
    let attach = |e: Error| {
        let e = e.with_location(location);
        match key {
            Some(k) => e.with_key(k),
            None => e,
        }
    };
    if let Some(inner) = ferry_error_inside(&err) {
        return attach(inner);
    }
    let failure = Failure::of(&err);
    let (kind, hint) = table(&failure.code, location).unwrap_or_else(|| fallback(&err, &failure));
    let message = if failure.code.is_empty() {
        format!("{service} {}", failure.summary)
    } else {
        format!("{service} {}: {}", failure.code, failure.summary)
    };
    let mut e = Error::new(kind, message);
    if let Some(h) = hint {
        e = e.with_hint(h);
    }
    attach(e)
}
