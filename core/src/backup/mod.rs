//! The milvus-backup model: finding backups, reading their meta, inventory, validation and
//! deep binlog checks. Follows `milvus-backup-format.md` (shared docs).

pub mod binlog;
pub mod contradictions;
pub mod deep;
pub mod discover;
pub mod expected;
pub mod inventory;
mod json;
pub mod load;
pub mod meta;
pub mod problem;
pub mod read;
pub mod schema;
pub mod thrift;
pub mod validate;

use serde::Serialize;

pub use deep::DeepSummary;
pub use discover::{discover, BackupRef, Discovery};
pub use inventory::{CollectionSummary, Inventory};
pub use load::{load_backup, LoadedBackup, TreeSource};
pub use problem::{Problem, ProblemCode, Severity};

use crate::error::Result;
use crate::source::Source;

/// A backup examined: loaded, validated, inventoried and (with `deep`) binlogs checked.
#[derive(Debug, Clone)]
pub struct ExaminedBackup {
    /// The loaded backup, with every problem found.
    pub backup: LoadedBackup,
    /// Its inventory.
    pub inventory: Inventory,
    /// Deep-check totals, when asked for.
    pub deep: Option<DeepSummary>,
}

/// A serialisable report of an examined backup.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// Where the backup is.
    pub location: String,
    /// What it holds.
    pub inventory: Inventory,
    /// Deep-check totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<DeepSummary>,
    /// Problems, errors first.
    pub problems: Vec<Problem>,
    /// Whether the backup can be migrated (no error-level problem).
    pub valid: bool,
}

impl ExaminedBackup {
    /// Whether any error-level problem was found.
    pub fn has_errors(&self) -> bool {
        self.backup.has_errors()
    }

    /// The report for output, given the location of the backup folder.
    pub fn report(&self, location: String) -> BackupReport {
        let mut problems = self.backup.problems.clone();
        problems.sort_by_key(|p| p.severity);
        BackupReport {
            location,
            inventory: self.inventory.clone(),
            deep: self.deep.clone(),
            valid: !self.has_errors(),
            problems,
        }
    }
}

/// Loads, validates and inventories one backup; with `deep`, also reads every binlog.
pub async fn examine(
    source: &dyn Source,
    reference: &BackupRef,
    deep: bool,
) -> Result<ExaminedBackup> {
    let mut backup = load_backup(source, reference).await?;
    validate::validate(&mut backup);
    let mut inventory = Inventory::of(&backup);
    let deep = if deep {
        Some(deep::deep_check(source, &mut backup, &mut inventory).await?)
    } else {
        None
    };
    Ok(ExaminedBackup {
        backup,
        inventory,
        deep,
    })
}

/// Backups examined at once by [`examine_all`]: each is a listing and a few meta reads, bound by
/// round trips; a root holding many backups is examined in a fraction of the time.
const BACKUPS_EXAMINED_AT_ONCE: usize = 4;

/// [`examine`]s every backup of `references`, a few at once, in their order. The first
/// failure is returned.
pub async fn examine_all(
    source: &dyn Source,
    references: &[BackupRef],
    deep: bool,
) -> Result<Vec<ExaminedBackup>> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(references)
        .map(|reference| examine(source, reference, deep))
        .buffered(BACKUPS_EXAMINED_AT_ONCE)
        .try_collect()
        .await
}
