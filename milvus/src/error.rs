//! One error type for everything the cluster target does, which says what went wrong, with
//! which input, what to do, and whether retrying can help. It converts into Ferry's own error
//! (and so into the CLI's exit codes) without losing any of that.

use ferry_core::{Error, ErrorKind};

/// What can go wrong talking to a Milvus cluster or restoring into it.
#[derive(Debug, thiserror::Error)]
pub enum MilvusError {
    /// The cluster URL or an option is malformed.
    #[error("{0}")]
    InvalidInput(String),
    /// Nothing answers at the endpoint, or the connection broke.
    #[error("cannot reach Milvus at {endpoint}: {detail}")]
    Unreachable {
        /// `host:port`.
        endpoint: String,
        /// The transport's words.
        detail: String,
    },
    /// The server refused the credentials.
    #[error("Milvus at {endpoint} refused the credentials: {detail}")]
    Unauthenticated {
        /// `host:port`.
        endpoint: String,
        /// The server's words.
        detail: String,
    },
    /// A call answered with an error status.
    #[error("Milvus {call} failed: {reason} (code {code})")]
    Server {
        /// The RPC (`CreateCollection`, `Import`, …) and its subject.
        call: String,
        /// Milvus's error code (`code`, else the legacy `error_code`).
        code: i32,
        /// Milvus's reason.
        reason: String,
        /// Whether the server marked it retriable.
        retriable: bool,
    },
    /// The server version cannot restore this backup.
    #[error("{0}")]
    Unsupported(String),
    /// The target already holds what the restore would create.
    #[error("{0}")]
    Conflict(String),
    /// The backup's meta cannot be restored as it is.
    #[error("{0}")]
    InvalidBackup(String),
    /// An import task failed or the cluster does not hold what the backup says it must.
    #[error("{0}")]
    Verification(String),
    /// The restore was cancelled.
    #[error("{0}")]
    Interrupted(String),
    /// Copying the binlogs or reading the backup failed.
    #[error(transparent)]
    Storage(#[from] Error),
}

impl MilvusError {
    /// Ferry's error kind for this error (it chooses the CLI's exit code).
    pub fn kind(&self) -> ErrorKind {
        match self {
            MilvusError::InvalidInput(_) => ErrorKind::InvalidInput,
            MilvusError::Unreachable { .. } => ErrorKind::Transient,
            MilvusError::Unauthenticated { .. } => ErrorKind::PermissionDenied,
            MilvusError::Server { retriable, .. } => {
                if *retriable {
                    ErrorKind::Transient
                } else {
                    ErrorKind::Internal
                }
            }
            MilvusError::Unsupported(_) => ErrorKind::Unsupported,
            MilvusError::Conflict(_) => ErrorKind::Conflict,
            MilvusError::InvalidBackup(_) => ErrorKind::InvalidBackup,
            MilvusError::Verification(_) => ErrorKind::VerificationFailed,
            MilvusError::Interrupted(_) => ErrorKind::Interrupted,
            MilvusError::Storage(e) => e.kind(),
        }
    }

    /// Whether trying the same call again can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            MilvusError::Unreachable { .. } => true,
            MilvusError::Server { retriable, .. } => *retriable,
            MilvusError::Storage(e) => e.is_retryable(),
            _ => false,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            MilvusError::Unreachable { .. } => Some(
                "check the host and port (Milvus listens on 19530 by default), that the server \
                 runs, and milvuss:// for a TLS endpoint",
            ),
            MilvusError::Unauthenticated { .. } => Some(
                "give --milvus-user and --milvus-password (or FERRY_MILVUS_USER / \
                 FERRY_MILVUS_PASSWORD), or --milvus-token / FERRY_MILVUS_TOKEN for an API key",
            ),
            _ => None,
        }
    }
}

impl From<MilvusError> for Error {
    fn from(err: MilvusError) -> Self {
        if let MilvusError::Storage(inner) = err {
            return inner;
        }
        let mut out = Error::new(err.kind(), err.to_string()).with_retryable(err.is_retryable());
        if let Some(hint) = err.hint() {
            out = out.with_hint(hint);
        }
        out
    }
}

/// This crate's result type.
pub type Result<T, E = MilvusError> = std::result::Result<T, E>;
