//! Ferry's one error type: a kind, a retryable flag, context (location and key) and a hint
//! that tells the operator what to do next.
//!
//! Secrets never reach this type: messages are built from redacted locations, and plugin
//! errors are passed through [`crate::redact::redact_text`] before they are stored.

use std::fmt;

use serde::Serialize;

/// Result alias used throughout Ferry.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms an operator (and the exit code) can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorKind {
    /// A location, backup, or object does not exist.
    NotFound,
    /// The storage refused the operation (credentials or permissions).
    PermissionDenied,
    /// Something the user typed is malformed (location, option, backup name, key).
    InvalidInput,
    /// The data is not a valid Milvus backup, or the backup is damaged or incomplete.
    InvalidBackup,
    /// The destination already holds different data under the same key.
    Conflict,
    /// The plugin or storage cannot do what was asked.
    Unsupported,
    /// A temporary failure (network, throttling, timeouts); retrying may help.
    Transient,
    /// The destination ran out of space.
    StorageFull,
    /// Bytes read or written do not match what was expected (size or checksum).
    Integrity,
    /// Source and destination differ after a copy.
    VerificationFailed,
    /// The operation was cancelled (Ctrl-C, SIGTERM).
    Interrupted,
    /// An unexpected internal or I/O failure.
    Internal,
}

impl ErrorKind {
    /// Whether errors of this kind are worth retrying by default.
    pub fn default_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }

    /// A short stable name, as used in JSON output (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ferry's error: kind, message, context and a hint. Cheap to clone the parts that matter.
#[derive(thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    location: Option<String>,
    key: Option<String>,
    hint: Option<String>,
    retryable: bool,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a message; retryable follows the kind's default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: crate::redact::redact_text(&message.into()),
            location: None,
            key: None,
            hint: None,
            retryable: kind.default_retryable(),
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// Shorthand for [`ErrorKind::InvalidBackup`].
    pub fn invalid_backup(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidBackup, message)
    }
    /// Shorthand for [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// Shorthand for [`ErrorKind::Unsupported`].
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// Shorthand for [`ErrorKind::Integrity`].
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Integrity, message)
    }
    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// Shorthand for [`ErrorKind::Interrupted`].
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Interrupted, message)
    }

    /// Maps an I/O error onto Ferry's kinds; `what` says what was being done.
    pub fn from_io(err: std::io::Error, what: impl Into<String>) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            Io::StorageFull | Io::QuotaExceeded => ErrorKind::StorageFull,
            Io::TimedOut
            | Io::Interrupted
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::BrokenPipe
            | Io::UnexpectedEof
            | Io::WouldBlock => ErrorKind::Transient,
            Io::InvalidInput | Io::InvalidFilename | Io::IsADirectory | Io::NotADirectory => {
                ErrorKind::InvalidInput
            }
            _ => ErrorKind::Internal,
        };
        let hint = match kind {
            ErrorKind::PermissionDenied => {
                Some("check the permissions of the path, or choose another location")
            }
            ErrorKind::StorageFull => {
                Some("free space at the destination, then run the same command again to resume")
            }
            _ => None,
        };
        let mut e = Error::new(kind, format!("{}: {}", what.into(), err)).with_source(err);
        if let Some(h) = hint {
            e = e.with_hint(h);
        }
        e
    }

    /// Adds the (redacted) location the error concerns.
    pub fn with_location(mut self, location: impl fmt::Display) -> Self {
        self.location = Some(crate::redact::redact_text(&location.to_string()));
        self
    }
    /// Adds the object key the error concerns.
    pub fn with_key(mut self, key: impl fmt::Display) -> Self {
        self.key = Some(key.to_string());
        self
    }
    /// Adds a hint saying what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Overrides whether retrying can help.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }
    /// Attaches the underlying cause (must not carry secrets).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// Prefixes the message with more context (e.g. "copying X").
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// Whether retrying the same operation can help.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
    /// The message without context or hint.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The location the error concerns, if any.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
    /// The key the error concerns, if any.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
    /// What the operator should do next, if known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// A serialisable view for `--json` output.
    pub fn to_report(&self) -> ErrorReport {
        ErrorReport {
            kind: self.kind,
            message: self.message.clone(),
            location: self.location.clone(),
            key: self.key.clone(),
            hint: self.hint.clone(),
            retryable: self.retryable,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.location, &self.key) {
            (Some(l), Some(k)) => write!(f, " (location {l}, key {k})")?,
            (Some(l), None) => write!(f, " (location {l})")?,
            (None, Some(k)) => write!(f, " (key {k})")?,
            (None, None) => {}
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("location", &self.location)
            .field("key", &self.key)
            .field("hint", &self.hint)
            .field("retryable", &self.retryable)
            .finish()
    }
}

/// A plain-data copy of an [`Error`] for JSON output and reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    /// The error's kind.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// The location concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The key concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Whether retrying can help.
    pub retryable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_location_key_and_hint() {
        let e = Error::not_found("object missing")
            .with_location("/data/x")
            .with_key("meta/full_meta.json")
            .with_hint("run `ferry inspect` on the source");
        let s = e.to_string();
        assert!(s.contains("object missing"));
        assert!(s.contains("/data/x"));
        assert!(s.contains("meta/full_meta.json"));
        assert!(s.contains("ferry inspect"));
        assert!(!e.is_retryable());
    }

    #[test]
    fn io_errors_map_to_kinds() {
        let e = Error::from_io(
            std::io::Error::from(std::io::ErrorKind::TimedOut),
            "reading",
        );
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert!(e.is_retryable());
        let e = Error::from_io(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            "writing",
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.hint().is_some());
    }

    #[test]
    fn secrets_in_messages_are_redacted() {
        let e = Error::invalid_input(
            "bad url https://acct.blob.core.windows.net/c/x?sv=2020&sig=SECRETSIG",
        );
        assert!(!e.to_string().contains("SECRETSIG"));
        assert!(!format!("{e:?}").contains("SECRETSIG"));
    }
}
