//! Errors a plugin returns, and the status codes they become.

use ferry_plugin_abi as abi;

/// What kind of failure: decides the host's exit code and whether it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Object, folder or store does not exist.
    NotFound,
    /// Credentials or permissions refused.
    PermissionDenied,
    /// Malformed location, option or key.
    InvalidInput,
    /// Other content already there.
    Conflict,
    /// Not possible with this storage.
    Unsupported,
    /// Temporary: the host retries with back-off.
    Transient,
    /// Storage full or quota exhausted.
    StorageFull,
    /// Size or checksum mismatch.
    Integrity,
    /// Anything else.
    Internal,
}

impl ErrorKind {
    /// The ABI status code.
    pub fn status(self) -> i32 {
        match self {
            ErrorKind::NotFound => abi::FERRY_ERR_NOT_FOUND,
            ErrorKind::PermissionDenied => abi::FERRY_ERR_PERMISSION_DENIED,
            ErrorKind::InvalidInput => abi::FERRY_ERR_INVALID_INPUT,
            ErrorKind::Conflict => abi::FERRY_ERR_CONFLICT,
            ErrorKind::Unsupported => abi::FERRY_ERR_UNSUPPORTED,
            ErrorKind::Transient => abi::FERRY_ERR_TRANSIENT,
            ErrorKind::StorageFull => abi::FERRY_ERR_STORAGE_FULL,
            ErrorKind::Integrity => abi::FERRY_ERR_INTEGRITY,
            ErrorKind::Internal => abi::FERRY_ERR_INTERNAL,
        }
    }
}

/// A failure with a message for the operator (never include secrets in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The kind.
    pub kind: ErrorKind,
    /// What happened and, ideally, what to do.
    pub message: String,
}

/// The result of plugin operations.
pub type PluginResult<T> = Result<T, PluginError>;

impl PluginError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An invalid-input error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Maps an I/O error, saying what was being done.
    pub fn io(what: &str, error: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match error.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied => ErrorKind::PermissionDenied,
            Io::AlreadyExists => ErrorKind::Conflict,
            Io::StorageFull | Io::QuotaExceeded => ErrorKind::StorageFull,
            Io::Interrupted | Io::TimedOut | Io::ConnectionReset | Io::ConnectionAborted => {
                ErrorKind::Transient
            }
            Io::InvalidInput | Io::InvalidFilename => ErrorKind::InvalidInput,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, format!("{what}: {error}"))
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
