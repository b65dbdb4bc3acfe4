//! What a restore will do, decided before anything is created: which collections go where
//! (selection, renames, target database), and for each the import requests — one per segment
//! group, or one per partition for old backups whose binlog folders have no group level — with
//! the rows each must bring and the delete records that apply to them.

use std::collections::{BTreeMap, BTreeSet};

use ferry_core::backup::binlog::read_binlog;
use ferry_core::backup::meta::{CollectionInfo, SegmentInfo};
use ferry_core::backup::LoadedBackup;
use ferry_core::source::Source;
use serde::Serialize;

use crate::error::{MilvusError, Result};

/// Which collections to restore and under which names.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `db.name` or `name` (= `default.name`); empty: every collection of the backup.
    pub collections: Vec<String>,
    /// `from:to` renames (`db.a:db.b`, or `a:b` within the database).
    pub renames: Vec<String>,
    /// Database every collection goes to (the URL's), else each keeps its own.
    pub database: Option<String>,
}

/// One import request: the binlog folders of one segment group (or of a whole partition).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportGroup {
    /// A stable name of the group inside its collection: `<partition id>/<group id>`, or
    /// `<partition id>` for a per-partition import. The journal records tasks under it.
    pub key: String,
    /// Partition name.
    pub partition: String,
    /// Insert-log folder, relative to the backup folder, ending with `/`.
    pub insert_dir: String,
    /// Delta-log folder, relative to the backup folder, ending with `/`; `None` when the group
    /// has no delete data (the request then carries `""`).
    pub delta_dir: Option<String>,
    /// Rows its segments hold (`num_of_rows`).
    pub rows: u64,
    /// Delete records in its delta logs.
    pub delete_records: u64,
}

/// What one partition must hold after the restore.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PartitionExpectation {
    /// Rows inserted (Σ `num_of_rows` of its segments).
    pub inserted: u64,
    /// Delete records in its delta logs.
    pub delete_records: u64,
}

impl PartitionExpectation {
    /// Rows the partition must hold: inserted minus deleted. Exact when every delete record
    /// removes one row of its own segment, which is how Milvus writes them for a backup it
    /// flushed (each segment's delta log holds the deletes of rows in that segment).
    pub fn expected(&self) -> u64 {
        self.inserted.saturating_sub(self.delete_records)
    }
}

/// One collection's restore.
#[derive(Debug, Clone)]
pub struct CollectionPlan {
    /// Database and name in the backup.
    pub source: (String, String),
    /// Database and name in the cluster.
    pub target: (String, String),
    /// The backed-up collection.
    pub info: CollectionInfo,
    /// Import requests, in partition order.
    pub groups: Vec<ImportGroup>,
    /// Expectations by partition name.
    pub partitions: BTreeMap<String, PartitionExpectation>,
}

impl CollectionPlan {
    /// `db.name` in the cluster.
    pub fn target_name(&self) -> String {
        format!("{}.{}", self.target.0, self.target.1)
    }

    /// Rows the collection must hold.
    pub fn expected_rows(&self) -> u64 {
        self.partitions.values().map(|p| p.expected()).sum()
    }
}

fn db_of(info: &CollectionInfo) -> String {
    if info.db_name.is_empty() {
        "default".into()
    } else {
        info.db_name.clone()
    }
}

fn qualified(text: &str) -> (String, String) {
    match text.split_once('.') {
        Some((db, name)) if !db.is_empty() && !name.is_empty() => (db.into(), name.into()),
        _ => ("default".into(), text.into()),
    }
}

/// `(db, name)` of a collection.
type QualifiedName = (String, String);
/// A rename's target: a database (when the rename names one) and a name.
type RenameTarget = (Option<String>, String);

fn parse_renames(renames: &[String]) -> Result<BTreeMap<QualifiedName, RenameTarget>> {
    let mut out = BTreeMap::new();
    for rename in renames {
        let (from, to) = rename.split_once(':').ok_or_else(|| {
            MilvusError::InvalidInput(format!(
                "--rename {rename:?}: write FROM:TO, e.g. docs:docs_restored or db1.docs:db2.docs"
            ))
        })?;
        if from.is_empty() || to.is_empty() {
            return Err(MilvusError::InvalidInput(format!(
                "--rename {rename:?}: both names are needed"
            )));
        }
        let to = match to.split_once('.') {
            Some((db, name)) => (Some(db.to_string()), name.to_string()),
            None => (None, to.to_string()),
        };
        out.insert(qualified(from), to);
    }
    Ok(out)
}

/// The collections `selection` picks, with their target names; every name asked for must exist.
pub fn select(
    backup: &LoadedBackup,
    selection: &Selection,
) -> Result<Vec<(CollectionInfo, (String, String))>> {
    let wanted: BTreeSet<(String, String)> =
        selection.collections.iter().map(|c| qualified(c)).collect();
    let known: BTreeSet<(String, String)> = backup
        .collections
        .iter()
        .map(|c| (db_of(c), c.collection_name.clone()))
        .collect();
    let missing: Vec<String> = wanted
        .difference(&known)
        .map(|(db, n)| format!("{db}.{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(MilvusError::InvalidInput(format!(
            "--collection {}: not in backup {} (it holds {})",
            missing.join(", "),
            backup.reference.name,
            known
                .iter()
                .map(|(d, n)| format!("{d}.{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let renames = parse_renames(&selection.renames)?;
    for from in renames.keys() {
        if !known.contains(from) {
            return Err(MilvusError::InvalidInput(format!(
                "--rename: collection {}.{} is not in backup {}",
                from.0, from.1, backup.reference.name
            )));
        }
    }
    let mut out = Vec::new();
    let mut targets = BTreeSet::new();
    for info in &backup.collections {
        let source = (db_of(info), info.collection_name.clone());
        if !wanted.is_empty() && !wanted.contains(&source) {
            continue;
        }
        let default_db = selection
            .database
            .clone()
            .unwrap_or_else(|| source.0.clone());
        let target = match renames.get(&source) {
            Some((db, name)) => (db.clone().unwrap_or(default_db), name.clone()),
            None => (default_db, source.1.clone()),
        };
        if !targets.insert(target.clone()) {
            return Err(MilvusError::InvalidInput(format!(
                "two collections would be restored as {}.{}: rename one with --rename",
                target.0, target.1
            )));
        }
        out.push((info.clone(), target));
    }
    Ok(out)
}

/// Whether any object lies under `prefix`.
fn any_under(objects: &BTreeSet<&str>, prefix: &str) -> bool {
    objects
        .range(prefix..)
        .next()
        .is_some_and(|k| k.starts_with(prefix))
}

fn segments(
    partition: &ferry_core::backup::meta::PartitionInfo,
) -> impl Iterator<Item = &SegmentInfo> {
    partition.segment_backups.iter().filter(|s| !s.is_l0)
}

/// Builds the plan of one collection: its import groups, read from where the backup's binlogs
/// actually are, and the delete records of each group, read from the delta logs' footers.
pub async fn plan_collection(
    source: &dyn Source,
    backup: &LoadedBackup,
    info: CollectionInfo,
    target: (String, String),
) -> Result<CollectionPlan> {
    let objects: BTreeSet<&str> = backup.objects.iter().map(|o| o.key.as_str()).collect();
    let sizes: BTreeMap<&str, u64> = backup
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o.size))
        .collect();
    let c = info.collection_id;
    let mut groups = Vec::new();
    let mut partitions = BTreeMap::new();
    for partition in &info.partition_backups {
        let p = partition.partition_id;
        let mut expectation = PartitionExpectation::default();
        let mut by_group: BTreeMap<i64, ImportGroup> = BTreeMap::new();
        let mut flat = false;
        for segment in segments(partition) {
            let s = segment.segment_id;
            let g = if segment.group_id != 0 {
                segment.group_id
            } else {
                s
            };
            let grouped = any_under(&objects, &format!("binlogs/insert_log/{c}/{p}/{g}/{s}/"));
            if !grouped && !any_under(&objects, &format!("binlogs/insert_log/{c}/{p}/{s}/")) {
                if segment.num_of_rows == 0 {
                    continue;
                }
                return Err(MilvusError::InvalidBackup(format!(
                    "backup {}: segment {s} of {}.{} (partition {}) has {} rows in the meta but no insert logs under binlogs/insert_log/{c}/{p}/",
                    backup.reference.name, db_of(&info), info.collection_name, partition.partition_name, segment.num_of_rows
                )));
            }
            flat |= !grouped;
            let rows = u64::try_from(segment.num_of_rows).unwrap_or(0);
            expectation.inserted += rows;
            let mut deletes = 0u64;
            for field in &segment.deltalogs {
                for log in &field.binlogs {
                    let Some(log_id) = log.effective_log_id() else {
                        continue;
                    };
                    let candidates = [
                        format!("binlogs/delta_log/{c}/{p}/{g}/{s}/{log_id}"),
                        format!("binlogs/delta_log/{c}/{p}/{s}/{log_id}"),
                    ];
                    let Some((key, size)) = candidates
                        .iter()
                        .find_map(|k| sizes.get_key_value(k.as_str()))
                    else {
                        return Err(MilvusError::InvalidBackup(format!(
                            "backup {}: delta log {log_id} of segment {s} is in the meta but not in the backup",
                            backup.reference.name
                        )));
                    };
                    let object_key =
                        ferry_core::ObjectKey::new(format!("{}{}", backup.reference.prefix, key))?;
                    let facts = read_binlog(source, &object_key, *size).await?;
                    deletes += u64::try_from(facts.delete_rows).unwrap_or(0);
                }
            }
            expectation.delete_records += deletes;
            let group = by_group.entry(g).or_insert_with(|| ImportGroup {
                key: format!("{p}/{g}"),
                partition: partition.partition_name.clone(),
                insert_dir: format!("binlogs/insert_log/{c}/{p}/{g}/"),
                delta_dir: None,
                rows: 0,
                delete_records: 0,
            });
            group.rows += rows;
            group.delete_records += deletes;
            if any_under(&objects, &format!("binlogs/delta_log/{c}/{p}/{g}/")) {
                group.delta_dir = Some(format!("binlogs/delta_log/{c}/{p}/{g}/"));
            }
        }
        if flat {
            // Old layout (no group level): one import for the whole partition.
            let rows = by_group.values().map(|g| g.rows).sum();
            let delete_records = by_group.values().map(|g| g.delete_records).sum();
            let delta = format!("binlogs/delta_log/{c}/{p}/");
            groups.push(ImportGroup {
                key: format!("{p}"),
                partition: partition.partition_name.clone(),
                insert_dir: format!("binlogs/insert_log/{c}/{p}/"),
                delta_dir: any_under(&objects, &delta).then_some(delta),
                rows,
                delete_records,
            });
        } else {
            groups.extend(by_group.into_values());
        }
        partitions.insert(partition.partition_name.clone(), expectation);
    }
    Ok(CollectionPlan {
        source: (db_of(&info), info.collection_name.clone()),
        target,
        info,
        groups,
        partitions,
    })
}
