//! Loading one backup: list its folder, read its meta files (full_meta.json, or the level files of
//! old backups), and assemble the collection tree. Damage is recorded as problems, not raised, so
//! that `inspect` can show everything at once; storage failures are raised.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;

use super::discover::{BackupRef, BACKUP_META};
use super::meta::{BackupInfo, CollectionInfo, LevelFile, PartitionInfo, SegmentInfo};
use super::problem::{Problem, ProblemCode};
use super::read::read_json;
use crate::error::{ErrorKind, Result};
use crate::key::ObjectKey;
use crate::object::ObjectMeta;
use crate::retry::{retry, RetryPolicy};
use crate::source::Source;

/// `meta/full_meta.json`.
pub const FULL_META: &str = "meta/full_meta.json";
/// `meta/collection_meta.json`.
pub const COLLECTION_META: &str = "meta/collection_meta.json";
/// `meta/partition_meta.json`.
pub const PARTITION_META: &str = "meta/partition_meta.json";
/// `meta/segment_meta.json`.
pub const SEGMENT_META: &str = "meta/segment_meta.json";
/// `meta/channel_cp_meta.json` (v0.4.13 – v0.5.9).
pub const CHANNEL_CP_META: &str = "meta/channel_cp_meta.json";

/// Every meta file name milvus-backup has written.
pub const KNOWN_META_FILES: &[&str] = &[
    BACKUP_META,
    COLLECTION_META,
    PARTITION_META,
    SEGMENT_META,
    FULL_META,
    CHANNEL_CP_META,
];

/// Where the collection tree came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeSource {
    /// `full_meta.json` (milvus-backup ≥ 0.3.1).
    FullMeta,
    /// Rebuilt from collection/partition/segment level files (older backups).
    LevelFiles,
    /// No usable meta.
    #[default]
    None,
}

/// A backup read from a source: its objects, meta and the problems found while reading.
#[derive(Debug, Clone)]
pub struct LoadedBackup {
    /// Where it was found.
    pub reference: BackupRef,
    /// Every object of the backup folder (keys relative to the folder), sorted, markers removed.
    pub objects: Vec<ObjectMeta>,
    /// Directory markers (`…/` keys) seen and skipped.
    pub dir_markers: Vec<ObjectKey>,
    /// `backup_meta.json` scalars (default when unreadable).
    pub info: BackupInfo,
    /// The collection tree, partitions holding their segments.
    pub collections: Vec<CollectionInfo>,
    /// Where the tree came from.
    pub tree_source: TreeSource,
    /// Problems found while loading.
    pub problems: Vec<Problem>,
}

impl LoadedBackup {
    /// Objects by relative key.
    pub fn object_map(&self) -> BTreeMap<&str, &ObjectMeta> {
        self.objects.iter().map(|o| (o.key.as_str(), o)).collect()
    }

    /// Total bytes of all objects.
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }

    /// Whether any problem is an error (the backup cannot be migrated as is).
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// The segments of a collection: partition segments then collection-level L0 segments.
    pub fn segments_of(collection: &CollectionInfo) -> impl Iterator<Item = &SegmentInfo> {
        collection
            .partition_backups
            .iter()
            .flat_map(|p| p.segment_backups.iter())
            .chain(collection.l0_segments.iter())
    }
}

/// Lists and reads the backup `reference` of `source`.
///
/// The meta files are read while the folder is listed (each read is a round trip on an object
/// store; reading them only after the listing said they exist would add one more); the listing
/// stays the judge of what exists, and a file it lists that was not found early is read again.
pub async fn load_backup(source: &dyn Source, reference: &BackupRef) -> Result<LoadedBackup> {
    let policy = RetryPolicy::default();
    let listing = retry(&policy, "listing the backup", || {
        list_backup(source, &reference.prefix)
    });
    let early_backup_meta = read_early::<BackupInfo>(source, reference, BACKUP_META);
    let early_full_meta = read_early::<BackupInfo>(source, reference, FULL_META);
    let early_levels = futures::future::join_all(
        [COLLECTION_META, PARTITION_META, SEGMENT_META]
            .map(|file| check_level_early(source, reference, file)),
    );
    let (listing, early_backup_meta, early_full_meta, early_levels) =
        futures::join!(listing, early_backup_meta, early_full_meta, early_levels);
    let (objects, dir_markers) = listing?;
    let mut loaded = LoadedBackup {
        reference: reference.clone(),
        objects,
        dir_markers,
        info: BackupInfo::default(),
        collections: Vec::new(),
        tree_source: TreeSource::None,
        problems: Vec::new(),
    };
    let present: Vec<&str> = loaded.objects.iter().map(|o| o.key.as_str()).collect();
    let has = |k: &str| present.binary_search(&k).is_ok();
    let has_backup_meta = has(BACKUP_META);
    let has_full = has(FULL_META);
    let level_present = [COLLECTION_META, PARTITION_META, SEGMENT_META].map(has);

    // What the listing says exists and was not read early is read now, concurrently.
    let read_backup_meta = read_if_listed(
        source,
        reference,
        BACKUP_META,
        has_backup_meta,
        early_backup_meta,
    );
    let read_full_meta = read_if_listed(source, reference, FULL_META, has_full, early_full_meta);
    let check_levels = async {
        let mut found = Vec::new();
        if has_full {
            let checks = [COLLECTION_META, PARTITION_META, SEGMENT_META]
                .into_iter()
                .zip(level_present)
                .zip(early_levels)
                .filter(|((_, present), _)| *present)
                .map(|((file, _), early)| async move {
                    match early {
                        Early::Read(_, p) => Ok(p),
                        Early::NotRead => {
                            let mut p = Vec::new();
                            check_level_file(source, reference, file, &mut p)
                                .await
                                .map(|()| p)
                        }
                    }
                });
            for p in futures::future::try_join_all(checks).await? {
                found.extend(p);
            }
        }
        Ok::<_, crate::error::Error>(found)
    };
    let ((backup_info, mut problems), (full, full_problems), level_problems) =
        futures::try_join!(read_backup_meta, read_full_meta, check_levels)?;
    problems.extend(full_problems);
    if let Some(info) = backup_info {
        loaded.info = info;
    }
    if !has_backup_meta {
        problems.push(Problem::error(
            ProblemCode::MetaMissing,
            format!("{BACKUP_META} is missing: milvus-backup will not recognise this folder as a backup"),
            Some(BACKUP_META),
        ));
    }

    if has_full {
        if let Some(full) = full {
            loaded.collections = full.collection_backups;
            loaded.tree_source = TreeSource::FullMeta;
            if loaded.info.name.is_empty() {
                loaded.info.name = full.name;
            }
        }
        for (file, present) in [COLLECTION_META, PARTITION_META, SEGMENT_META]
            .iter()
            .zip(level_present)
        {
            if !present {
                problems.push(Problem::warning(
                    ProblemCode::MetaMissing,
                    format!("{file} is missing (milvus-backup writes it; restore only needs full_meta.json)"),
                    Some(file),
                ));
            }
        }
        problems.extend(level_problems);
    } else if level_present.iter().all(|p| *p) {
        problems.push(Problem::warning(
            ProblemCode::NoFullMeta,
            format!("{FULL_META} is missing: the tree is rebuilt from the level files (backups older than milvus-backup 0.3.1 have none)"),
            Some(FULL_META),
        ));
        if let Some(tree) = rebuild_from_levels(source, reference, &mut problems).await? {
            loaded.collections = tree;
            loaded.tree_source = TreeSource::LevelFiles;
        }
    } else {
        problems.push(Problem::error(
            ProblemCode::MetaMissing,
            format!(
                "{FULL_META} is missing and so is at least one level file: the meta is incomplete"
            ),
            Some(FULL_META),
        ));
    }
    loaded.problems = problems;
    Ok(loaded)
}

async fn list_backup(
    source: &dyn Source,
    prefix: &str,
) -> Result<(Vec<ObjectMeta>, Vec<ObjectKey>)> {
    let mut stream = source.list(prefix).await?;
    let mut objects = Vec::new();
    let mut markers = Vec::new();
    while let Some(object) = stream.next().await {
        let object = object?;
        let Some(relative) = object.key.strip_prefix(prefix) else {
            continue;
        };
        if relative.is_dir_marker() {
            markers.push(relative);
            continue;
        }
        objects.push(ObjectMeta {
            key: relative,
            ..object
        });
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    objects.dedup_by(|a, b| a.key == b.key);
    Ok((objects, markers))
}

async fn read_meta<T>(
    source: &dyn Source,
    reference: &BackupRef,
    file: &str,
    problems: &mut Vec<Problem>,
) -> Result<Option<T>>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let key = ObjectKey::new(format!("{}{file}", reference.prefix))?;
    match read_json::<T>(source, &key).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::InvalidBackup => {
            problems.push(Problem::error(
                ProblemCode::MetaUnparseable,
                e.message().to_string(),
                Some(file),
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A meta file read before the listing said whether it exists.
enum Early<T> {
    /// Read: the value (`None` when unparseable) and the problems found.
    Read(Option<T>, Vec<Problem>),
    /// Not found, or failed: read again if the listing has it (and fail then, if it still fails).
    NotRead,
}

/// The meta file `file` as the listing has it: nothing when not listed, the early read when
/// there was one, else read now.
async fn read_if_listed<T>(
    source: &dyn Source,
    reference: &BackupRef,
    file: &str,
    listed: bool,
    early: Early<T>,
) -> Result<(Option<T>, Vec<Problem>)>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    match (listed, early) {
        (false, _) => Ok((None, Vec::new())),
        (true, Early::Read(value, problems)) => Ok((value, problems)),
        (true, Early::NotRead) => {
            let mut problems = Vec::new();
            let value = read_meta::<T>(source, reference, file, &mut problems).await?;
            Ok((value, problems))
        }
    }
}

async fn read_early<T>(source: &dyn Source, reference: &BackupRef, file: &str) -> Early<T>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let mut problems = Vec::new();
    match read_meta::<T>(source, reference, file, &mut problems).await {
        Ok(value) => Early::Read(value, problems),
        Err(_) => Early::NotRead,
    }
}

async fn check_level_early(source: &dyn Source, reference: &BackupRef, file: &str) -> Early<()> {
    let mut problems = Vec::new();
    match check_level_file(source, reference, file, &mut problems).await {
        Ok(()) => Early::Read(Some(()), problems),
        Err(_) => Early::NotRead,
    }
}

/// Parses a level file only to check it is readable.
async fn check_level_file(
    source: &dyn Source,
    reference: &BackupRef,
    file: &str,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    match file {
        COLLECTION_META => {
            read_meta::<LevelFile<CollectionInfo>>(source, reference, file, problems)
                .await
                .map(|_| ())
        }
        PARTITION_META => read_meta::<LevelFile<PartitionInfo>>(source, reference, file, problems)
            .await
            .map(|_| ()),
        _ => read_meta::<LevelFile<SegmentInfo>>(source, reference, file, problems)
            .await
            .map(|_| ()),
    }
}

/// Rebuilds the tree the way milvus-backup does without full_meta.json: partitions from
/// partition_meta.json, segments from segment_meta.json grouped by collection and partition,
/// collection-level L0 segments from collection_meta.json.
async fn rebuild_from_levels(
    source: &dyn Source,
    reference: &BackupRef,
    problems: &mut Vec<Problem>,
) -> Result<Option<Vec<CollectionInfo>>> {
    let collections =
        read_meta::<LevelFile<CollectionInfo>>(source, reference, COLLECTION_META, problems)
            .await?;
    let partitions =
        read_meta::<LevelFile<PartitionInfo>>(source, reference, PARTITION_META, problems).await?;
    let segments =
        read_meta::<LevelFile<SegmentInfo>>(source, reference, SEGMENT_META, problems).await?;
    let (Some(collections), Some(partitions), Some(segments)) = (collections, partitions, segments)
    else {
        return Ok(None);
    };
    Ok(Some(assemble_tree(
        collections.infos,
        partitions.infos,
        segments.infos,
    )))
}

/// Assembles collections, partitions and segments from the level files.
pub fn assemble_tree(
    collections: Vec<CollectionInfo>,
    partitions: Vec<PartitionInfo>,
    segments: Vec<SegmentInfo>,
) -> Vec<CollectionInfo> {
    let mut by_partition: BTreeMap<(i64, i64), Vec<SegmentInfo>> = BTreeMap::new();
    for s in segments {
        by_partition
            .entry((s.collection_id, s.partition_id))
            .or_default()
            .push(s);
    }
    collections
        .into_iter()
        .map(|mut c| {
            let mut parts: Vec<PartitionInfo> = partitions
                .iter()
                .filter(|p| p.collection_id == c.collection_id)
                .cloned()
                .collect();
            if parts.is_empty() {
                parts = std::mem::take(&mut c.partition_backups);
            }
            for p in &mut parts {
                if let Some(segs) = by_partition.remove(&(c.collection_id, p.partition_id)) {
                    p.segment_backups = segs;
                }
            }
            c.partition_backups = parts;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assemble_groups_segments_by_partition() {
        let c = CollectionInfo {
            collection_id: 1,
            collection_name: "c".into(),
            l0_segments: vec![SegmentInfo {
                segment_id: 9,
                partition_id: -1,
                is_l0: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let parts = vec![
            PartitionInfo {
                partition_id: 10,
                collection_id: 1,
                ..Default::default()
            },
            PartitionInfo {
                partition_id: 11,
                collection_id: 1,
                ..Default::default()
            },
            PartitionInfo {
                partition_id: 20,
                collection_id: 2,
                ..Default::default()
            },
        ];
        let segs = vec![
            SegmentInfo {
                segment_id: 100,
                collection_id: 1,
                partition_id: 10,
                num_of_rows: 5,
                ..Default::default()
            },
            SegmentInfo {
                segment_id: 101,
                collection_id: 1,
                partition_id: 10,
                num_of_rows: 6,
                ..Default::default()
            },
            SegmentInfo {
                segment_id: 102,
                collection_id: 1,
                partition_id: 11,
                num_of_rows: 7,
                ..Default::default()
            },
        ];
        let tree = assemble_tree(vec![c], parts, segs);
        assert_eq!(tree.len(), 1);
        assert_eq!(tree[0].partition_backups.len(), 2);
        assert_eq!(tree[0].partition_backups[0].segment_backups.len(), 2);
        assert_eq!(tree[0].partition_backups[1].segment_backups.len(), 1);
        assert_eq!(LoadedBackup::segments_of(&tree[0]).count(), 4);
    }
}
