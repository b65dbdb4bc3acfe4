//! What a job remembers of a migration's options, so that a resume runs the same migration.

use ferry_core::migrate::MigrateOptions;
use ferry_core::transfer::{RetryPolicy, TransferOptions};
use serde::{Deserialize, Serialize};

/// A migration's options as a job stores them (JSON in the job's `options` column). Never a
/// secret: credentials come from the environment and flags of each run, resume included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// The backups chosen by name (`--backup`); empty means every complete backup found.
    pub backups: Vec<String>,
    /// Objects in flight (`--concurrency`); absent means the engine's defaults by object size.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Attempts per object before it counts as failed (`--attempts`).
    pub attempts: u32,
    /// Whether the verification after the copy is skipped (`--no-verify`).
    pub no_verify: bool,
    /// Whether binlogs are opened to check row counts, and copies re-read (`--deep`).
    pub deep: bool,
    /// Whether differing objects are replaced and extras deleted (`--overwrite`).
    pub overwrite: bool,
    /// For a restore into a Milvus cluster: its options (absent for a copy between storages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreJobOptions>,
}

/// A restore's options as a job stores them (never a credential: those come from each run's
/// flags and environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RestoreJobOptions {
    /// The cluster URL (`milvus://host:port[/db]`).
    pub cluster: String,
    /// `--milvus-storage`.
    #[serde(default)]
    pub milvus_storage: Option<String>,
    /// `--milvus-config`.
    #[serde(default)]
    pub milvus_config: Option<String>,
    /// `--milvus-storage-path`.
    #[serde(default)]
    pub milvus_storage_path: Option<String>,
    /// `--collection`.
    #[serde(default)]
    pub collections: Vec<String>,
    /// `--rename`.
    #[serde(default)]
    pub renames: Vec<String>,
    /// `--drop-existing`.
    #[serde(default)]
    pub drop_existing: bool,
    /// `--skip-existing`.
    #[serde(default)]
    pub skip_existing: bool,
    /// `--index` (`backup`, `auto`, `none`).
    #[serde(default)]
    pub index: String,
    /// `--load`.
    #[serde(default)]
    pub load: bool,
    /// `--import-concurrency`.
    #[serde(default)]
    pub import_concurrency: u16,
    /// `--keep-temp`.
    #[serde(default)]
    pub keep_temp: bool,
    /// The restore's journal file (see ferry-milvus's `journal`): one per (cluster, source,
    /// backup), so running the same command again goes on where a killed run stopped.
    #[serde(default)]
    pub journal: String,
}

impl JobOptions {
    /// The engine's options for a run of this job (`dry_run`: plan only, write nothing).
    pub fn migrate_options(&self, dry_run: bool) -> MigrateOptions {
        MigrateOptions {
            backups: self.backups.clone(),
            transfer: TransferOptions {
                retry: RetryPolicy {
                    max_attempts: self.attempts,
                    ..RetryPolicy::default()
                },
                ..TransferOptions::with_concurrency(self.concurrency)
            },
            dry_run,
            no_verify: self.no_verify,
            deep: self.deep,
            overwrite: self.overwrite,
        }
    }
}
