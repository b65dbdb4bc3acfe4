//! The parts of milvus-backup's meta files Ferry needs, parsed tolerantly: every key optional,
//! unknown keys ignored, `null` read as the default, ids as 64-bit integers (never floats).
//! Schemas and index definitions are read into [`super::schema`]'s types (a restore recreates
//! collections from them); RBAC is skipped without being held in memory.

use serde::Deserialize;

use super::json::{int, int32, null_as_default};
use super::schema::{CollectionSchema, ConsistencyLevel, IndexInfo, KeyValue};

/// `BackupInfo`: the root of `backup_meta.json` and `full_meta.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BackupInfo {
    /// Backup task id (UUID).
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Backup name (= folder name).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Total bytes as recorded by milvus-backup.
    #[serde(deserialize_with = "int")]
    pub size: i64,
    /// Milvus server version at backup time.
    #[serde(alias = "milvusVersion", deserialize_with = "null_as_default")]
    pub milvus_version: String,
    /// `""` (binlog format) or `"snapshot"`.
    #[serde(deserialize_with = "null_as_default")]
    pub format: String,
    /// Creation start, Unix ms (≤ v0.5.9 only).
    #[serde(alias = "startTime", deserialize_with = "int")]
    pub start_time: i64,
    /// Collections (full_meta only).
    #[serde(alias = "collectionBackups", deserialize_with = "null_as_default")]
    pub collection_backups: Vec<CollectionInfo>,
    /// Databases (full_meta only, v0.5.5+).
    #[serde(alias = "databaseBackups", deserialize_with = "null_as_default")]
    pub database_backups: Vec<DatabaseInfo>,
}

/// `DatabaseBackupInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DatabaseInfo {
    /// Database name.
    #[serde(alias = "dbName", deserialize_with = "null_as_default")]
    pub db_name: String,
    /// Database id.
    #[serde(alias = "dbId", deserialize_with = "int")]
    pub db_id: i64,
}

/// `CollectionBackupInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CollectionInfo {
    /// Collection id.
    #[serde(alias = "collectionId", deserialize_with = "int")]
    pub collection_id: i64,
    /// Database name (empty in very old backups = `default`).
    #[serde(alias = "dbName", deserialize_with = "null_as_default")]
    pub db_name: String,
    /// Collection name.
    #[serde(alias = "collectionName", deserialize_with = "null_as_default")]
    pub collection_name: String,
    /// Partitions (with or without segments, by writer version).
    #[serde(alias = "partitionBackups", deserialize_with = "null_as_default")]
    pub partition_backups: Vec<PartitionInfo>,
    /// Collection-level L0 segments (partition −1).
    #[serde(alias = "l0Segments", deserialize_with = "null_as_default")]
    pub l0_segments: Vec<SegmentInfo>,
    /// Bytes as recorded.
    #[serde(deserialize_with = "int")]
    pub size: i64,
    /// Snapshot-format payload description (HEAD only).
    #[serde(alias = "snapshotBackup", deserialize_with = "null_as_default")]
    pub snapshot_backup: Option<SnapshotInfo>,
    /// The collection's schema.
    #[serde(deserialize_with = "null_as_default")]
    pub schema: Option<CollectionSchema>,
    /// Shards (virtual channels).
    #[serde(alias = "shardsNum", deserialize_with = "int32")]
    pub shards_num: i32,
    /// Consistency level.
    #[serde(alias = "consistencyLevel")]
    pub consistency_level: ConsistencyLevel,
    /// Collection properties (TTL, mmap, …).
    #[serde(deserialize_with = "null_as_default")]
    pub properties: Vec<KeyValue>,
    /// Indexes at backup time.
    #[serde(alias = "indexInfos", deserialize_with = "null_as_default")]
    pub index_infos: Vec<IndexInfo>,
    /// `Loaded`, `NotLoad`, … at backup time.
    #[serde(alias = "loadState", deserialize_with = "null_as_default")]
    pub load_state: String,
    /// Partitions a partition-key collection was created with.
    #[serde(alias = "numPartitions", deserialize_with = "int")]
    pub num_partitions: i64,
}

/// `SnapshotBackupInfo` (snapshot format).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SnapshotInfo {
    /// Path of the snapshot metadata, relative to the backup folder.
    #[serde(alias = "metadataPath", deserialize_with = "null_as_default")]
    pub metadata_path: String,
    /// Files in the bundle.
    #[serde(alias = "totalFiles", deserialize_with = "int")]
    pub total_files: i64,
    /// Bytes in the bundle.
    #[serde(alias = "totalBytes", deserialize_with = "int")]
    pub total_bytes: i64,
}

/// `PartitionBackupInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PartitionInfo {
    /// Partition id.
    #[serde(alias = "partitionId", deserialize_with = "int")]
    pub partition_id: i64,
    /// Partition name.
    #[serde(alias = "partitionName", deserialize_with = "null_as_default")]
    pub partition_name: String,
    /// Owning collection id.
    #[serde(alias = "collectionId", deserialize_with = "int")]
    pub collection_id: i64,
    /// Segments (absent in some level files).
    #[serde(alias = "segmentBackups", deserialize_with = "null_as_default")]
    pub segment_backups: Vec<SegmentInfo>,
    /// Bytes as recorded.
    #[serde(deserialize_with = "int")]
    pub size: i64,
}

/// `SegmentBackupInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SegmentInfo {
    /// Segment id.
    #[serde(alias = "segmentId", deserialize_with = "int")]
    pub segment_id: i64,
    /// Collection id.
    #[serde(alias = "collectionId", deserialize_with = "int")]
    pub collection_id: i64,
    /// Partition id (−1 for collection-level L0 segments).
    #[serde(alias = "partitionId", deserialize_with = "int")]
    pub partition_id: i64,
    /// Rows inserted (for L0 segments: deletes).
    #[serde(alias = "numOfRows", deserialize_with = "int")]
    pub num_of_rows: i64,
    /// Insert logs, one entry per field (or column group).
    #[serde(deserialize_with = "null_as_default")]
    pub binlogs: Vec<FieldBinlog>,
    /// Delta logs.
    #[serde(deserialize_with = "null_as_default")]
    pub deltalogs: Vec<FieldBinlog>,
    /// Σ log_size of insert and delta files.
    #[serde(deserialize_with = "int")]
    pub size: i64,
    /// Group id (the optional directory level, see the format notes §1.3).
    #[serde(alias = "groupId", deserialize_with = "int")]
    pub group_id: i64,
    /// Delete-only segment.
    #[serde(alias = "isL0", deserialize_with = "null_as_default")]
    pub is_l0: bool,
    /// 0/1 = v1 binlogs, 2/3 = Parquet column groups.
    #[serde(alias = "storageVersion", deserialize_with = "int")]
    pub storage_version: i64,
}

/// `FieldBinlog`: the files of one field (or column group).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldBinlog {
    /// Field id (omitted = 0, the RowID field).
    #[serde(rename = "fieldID", deserialize_with = "int")]
    pub field_id: i64,
    /// The files.
    #[serde(deserialize_with = "null_as_default")]
    pub binlogs: Vec<Binlog>,
}

/// `Binlog`: one file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Binlog {
    /// Source key in the Milvus bucket at backup time (not the backup key).
    #[serde(alias = "logPath", deserialize_with = "null_as_default")]
    pub log_path: String,
    /// Object size in bytes.
    #[serde(alias = "logSize", deserialize_with = "int")]
    pub log_size: i64,
    /// Log id (v0.5.4+; else the last element of `log_path`).
    #[serde(alias = "logId", deserialize_with = "int")]
    pub log_id: i64,
}

impl Binlog {
    /// The log id, from `log_id` or the last element of `log_path`.
    pub fn effective_log_id(&self) -> Option<i64> {
        if self.log_id != 0 {
            return Some(self.log_id);
        }
        self.log_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok())
    }

    /// The field id from `log_path` (the element before the log id), for old writers that
    /// put junk in `fieldID`.
    pub fn field_id_from_path(&self) -> Option<i64> {
        let mut parts = self.log_path.trim_end_matches('/').rsplit('/');
        parts.next()?;
        parts.next()?.parse().ok()
    }
}

/// The `{"infos":[…]}` wrapper of the level files.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: Deserialize<'de> + Default")]
pub struct LevelFile<T> {
    /// The entries.
    #[serde(default, deserialize_with = "null_as_default")]
    pub infos: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_style_full_meta() {
        let json = r#"{"id":"x","state_code":0,"name":"nightly","collection_backups":[{
          "collection_id":456100000000000101,"db_name":"default","collection_name":"docs",
          "schema":{"name":"docs","fields":[{"fieldID":100,"name":"pk","is_primary_key":true,"data_type":5}]},
          "partition_backups":[{"partition_id":456100000000000102,"partition_name":"_default",
            "collection_id":456100000000000101,"size":10,"segment_backups":[{"segment_id":456100000000000230,
            "collection_id":456100000000000101,"partition_id":456100000000000102,"num_of_rows":3000,"size":10,
            "group_id":456100000000000230,"storage_version":1,
            "binlogs":[{"fieldID":100,"binlogs":[{"log_path":"files/insert_log/1/2/3/100/456100000000000241","log_size":10,"log_id":456100000000000241}]}],
            "deltalogs":[{}]}]}],
          "index_infos":[{"field_name":"vec","params":{"M":"8"}}],
          "channel_checkpoints":{"ch":"Ci9i"},"future_key":{"nested":[1,2,3]}}],
          "size":10,"milvus_version":"v2.5.10","rbac_meta":{"users":[]}}"#;
        let info: BackupInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.name, "nightly");
        let c = &info.collection_backups[0];
        assert_eq!(c.collection_id, 456100000000000101);
        let s = &c.partition_backups[0].segment_backups[0];
        assert_eq!(s.segment_id, 456100000000000230);
        assert_eq!(s.binlogs[0].binlogs[0].log_id, 456100000000000241);
        assert_eq!(s.deltalogs.len(), 1);
        assert!(s.deltalogs[0].binlogs.is_empty());
    }

    #[test]
    fn old_style_without_log_id_and_field_id() {
        let json = r#"{"binlogs":[{"binlogs":[{"log_path":"files/insert_log/1/2/3/0/449","log_size":5}]}],
                       "deltalogs":null,"num_of_rows":null,"is_l0":false}"#;
        let s: SegmentInfo = serde_json::from_str(json).unwrap();
        let b = &s.binlogs[0].binlogs[0];
        assert_eq!(s.binlogs[0].field_id, 0);
        assert_eq!(b.effective_log_id(), Some(449));
        assert_eq!(b.field_id_from_path(), Some(0));
        assert!(s.deltalogs.is_empty());
        assert_eq!(s.num_of_rows, 0);
    }

    #[test]
    fn ids_beyond_2_pow_53_are_exact() {
        let s: SegmentInfo = serde_json::from_str(r#"{"segment_id":9007199254740993}"#).unwrap();
        assert_eq!(s.segment_id, 9_007_199_254_740_993);
    }

    #[test]
    fn wrong_types_and_overflow_are_errors() {
        assert!(serde_json::from_str::<SegmentInfo>(r#"{"segment_id":"12x"}"#).is_err());
        assert!(serde_json::from_str::<SegmentInfo>(r#"{"segment_id":1.5}"#).is_err());
        assert!(serde_json::from_str::<SegmentInfo>(r#"{"segment_id":true}"#).is_err());
        assert!(serde_json::from_str::<SegmentInfo>(r#"{"segment_id":1e400}"#).is_err());
        assert!(
            serde_json::from_str::<SegmentInfo>(r#"{"segment_id":99999999999999999999}"#).is_err()
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let json = format!(r#"{{"binlogs":{deep}}}"#);
        assert!(serde_json::from_str::<SegmentInfo>(&json).is_err());
    }

    #[test]
    fn protobuf_json_ids_as_strings_and_camel_case_keys_read_the_same() {
        let go = r#"{"segment_id":470745661787278682,"collection_id":1,"partition_id":2,
            "num_of_rows":2200,"group_id":470745661787278682,"is_l0":false,"storage_version":1,
            "binlogs":[{"fieldID":100,"binlogs":[{"log_path":"a/100/9","log_size":10,"log_id":9}]}]}"#;
        let pb = r#"{"segmentId":"470745661787278682","collectionId":"1","partitionId":"2",
            "numOfRows":"2200","groupId":"470745661787278682","isL0":false,"storageVersion":"1",
            "binlogs":[{"fieldID":"100","binlogs":[{"logPath":"a/100/9","logSize":"10","logId":"9"}]}]}"#;
        let a: SegmentInfo = serde_json::from_str(go).unwrap();
        let b: SegmentInfo = serde_json::from_str(pb).unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(b.segment_id, 470_745_661_787_278_682);
    }

    #[test]
    fn level_files() {
        let f: LevelFile<PartitionInfo> =
            serde_json::from_str(r#"{"infos":[{"partition_id":5,"partition_name":"p"}]}"#).unwrap();
        assert_eq!(f.infos[0].partition_id, 5);
        let f: LevelFile<PartitionInfo> = serde_json::from_str(r#"{"infos":null}"#).unwrap();
        assert!(f.infos.is_empty());
    }
}
