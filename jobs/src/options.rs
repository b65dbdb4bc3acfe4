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
