//! The inventory of a backup: what it holds, per collection, as the meta and listing say.

use serde::Serialize;

use super::expected::{segment_files, LogKind};
use super::load::{LoadedBackup, TreeSource};

/// What one collection holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionSummary {
    /// Database (`default` when the meta leaves it empty).
    pub db: String,
    /// Collection name.
    pub name: String,
    /// Collection id.
    pub id: i64,
    /// Partition names, in meta order.
    pub partitions: Vec<String>,
    /// Non-L0 segments.
    pub segments: usize,
    /// L0 (delete-only) segments, partition- and collection-level.
    pub l0_segments: usize,
    /// Insert log files referenced.
    pub insert_files: usize,
    /// Delta log files referenced.
    pub delta_files: usize,
    /// Entities: Σ `num_of_rows` of non-L0 segments (inserted rows, before deletes).
    pub entities: i64,
    /// Σ `log_size` of the collection's files.
    pub bytes: i64,
    /// Delete records counted in the delta logs (only with `--deep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_rows: Option<i64>,
}

/// What one backup holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Backup (folder) name.
    pub name: String,
    /// Backup id from the meta.
    pub backup_id: String,
    /// Milvus version at backup time.
    pub milvus_version: String,
    /// `binlog` or `snapshot`.
    pub format: String,
    /// Where the collection tree came from.
    pub tree_source: TreeSource,
    /// Objects in the backup folder.
    pub objects: usize,
    /// Bytes in the backup folder.
    pub bytes: u64,
    /// Size recorded in backup_meta.json.
    pub recorded_size: i64,
    /// Collections, in meta order.
    pub collections: Vec<CollectionSummary>,
    /// Σ entities over collections.
    pub total_entities: i64,
}

impl Inventory {
    /// Builds the inventory of a loaded backup.
    pub fn of(backup: &LoadedBackup) -> Inventory {
        let collections: Vec<CollectionSummary> = backup
            .collections
            .iter()
            .map(|c| {
                let mut s = CollectionSummary {
                    db: if c.db_name.is_empty() {
                        "default".to_string()
                    } else {
                        c.db_name.clone()
                    },
                    name: c.collection_name.clone(),
                    id: c.collection_id,
                    partitions: c
                        .partition_backups
                        .iter()
                        .map(|p| p.partition_name.clone())
                        .collect(),
                    segments: 0,
                    l0_segments: 0,
                    insert_files: 0,
                    delta_files: 0,
                    entities: 0,
                    bytes: 0,
                    deleted_rows: None,
                };
                for seg in LoadedBackup::segments_of(c) {
                    if seg.is_l0 {
                        s.l0_segments += 1;
                    } else {
                        s.segments += 1;
                        s.entities += seg.num_of_rows;
                    }
                    for f in segment_files(c, seg) {
                        match f.kind {
                            LogKind::Insert => s.insert_files += 1,
                            LogKind::Delta => s.delta_files += 1,
                        }
                        s.bytes += f.log_size;
                    }
                }
                s
            })
            .collect();
        Inventory {
            name: backup.reference.name.clone(),
            backup_id: backup.info.id.clone(),
            milvus_version: backup.info.milvus_version.clone(),
            format: if backup.info.format.is_empty() {
                "binlog".to_string()
            } else {
                backup.info.format.clone()
            },
            tree_source: backup.tree_source,
            objects: backup.objects.len(),
            bytes: backup.total_bytes(),
            recorded_size: backup.info.size,
            total_entities: collections.iter().map(|c| c.entities).sum(),
            collections,
        }
    }
}
