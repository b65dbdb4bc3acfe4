//! Problems found in a backup: a severity, a stable code, a message and the key concerned.

use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The backup cannot be restored or migrated as is.
    Error,
    /// Worth knowing; the backup is still usable.
    Warning,
}

/// Stable problem codes (snake_case in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// A required meta file is missing.
    MetaMissing,
    /// A meta file cannot be parsed.
    MetaUnparseable,
    /// full_meta.json is absent; the tree was rebuilt from level files.
    NoFullMeta,
    /// backup_meta.json names another backup than the folder.
    NameMismatch,
    /// A binlog referenced by the meta is missing.
    BinlogMissing,
    /// An object's size differs from the meta's `log_size`.
    SizeMismatch,
    /// A non-L0 segment has no insert logs.
    SegmentWithoutInsertLogs,
    /// The fields of a segment have different numbers of binlog files.
    MisalignedBinlogCount,
    /// An object under binlogs/ that no meta references.
    UnreferencedObject,
    /// An object outside meta/, binlogs/ and bundle/, or an unknown file in meta/.
    StrayObject,
    /// A recorded size does not equal the sum of its parts.
    SizeInconsistent,
    /// The folder looks like a MinIO data directory, not a copy of the objects.
    MinioDataDirectory,
    /// A binlog cannot be parsed (bad magic, truncated, absurd lengths).
    BinlogCorrupt,
    /// Rows counted in binlogs differ from the meta's `num_of_rows`.
    RowCountMismatch,
    /// A binlog's descriptor names other ids than its key.
    BinlogIdMismatch,
    /// The snapshot bundle differs from what the meta records.
    SnapshotMismatch,
    /// The backup holds no collection.
    NoCollections,
    /// Half-written backup folder (no backup_meta.json).
    IncompleteBackup,
    /// Two collections with one id, or with one database and name.
    DuplicateCollection,
    /// Two partitions of one collection with one id or one name.
    DuplicatePartition,
    /// Two segments with one id.
    DuplicateSegment,
    /// One log id twice in a segment's field.
    DuplicateBinlog,
    /// A negative or absurd row count or size.
    ImpossibleCount,
    /// A segment or partition whose collection or partition id disagrees with what holds it.
    IdMismatch,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: ProblemCode,
    /// What is wrong, in words.
    pub message: String,
    /// The key (relative to the backup folder) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Problem {
    /// An error-level problem.
    pub fn error(code: ProblemCode, message: impl Into<String>, key: Option<&str>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            key: key.map(str::to_string),
        }
    }

    /// A warning-level problem.
    pub fn warning(code: ProblemCode, message: impl Into<String>, key: Option<&str>) -> Self {
        Problem {
            severity: Severity::Warning,
            code,
            message: message.into(),
            key: key.map(str::to_string),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
