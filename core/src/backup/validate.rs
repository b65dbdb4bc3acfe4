//! Checks a loaded backup against its own meta, using only the listing: every referenced binlog
//! present with its `log_size`, segments well-formed, no stray objects, sizes consistent.

use std::collections::{BTreeMap, BTreeSet};

use super::expected::{segment_files, LogKind};
use super::load::{LoadedBackup, TreeSource, KNOWN_META_FILES};
use super::problem::{Problem, ProblemCode};

/// Most problems of one kind listed individually; the rest are summarised.
const MAX_LISTED: usize = 50;

/// Runs every listing-based check and appends the problems to `backup.problems`.
pub fn validate(backup: &mut LoadedBackup) {
    let mut problems = Vec::new();
    check_minio_data_dir(backup, &mut problems);
    check_name(backup, &mut problems);
    if backup.tree_source != TreeSource::None {
        problems.extend(super::contradictions::contradictions(&backup.collections));
        check_binlogs(backup, &mut problems);
        check_snapshot(backup, &mut problems);
        if backup.collections.is_empty() {
            problems.push(Problem::warning(
                ProblemCode::NoCollections,
                "the meta lists no collection",
                None,
            ));
        }
    }
    check_strays(backup, &mut problems);
    backup.problems.extend(cap(problems));
}

/// Keeps at most [`MAX_LISTED`] problems per code and summarises the rest.
fn cap(problems: Vec<Problem>) -> Vec<Problem> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut dropped: BTreeMap<String, (Problem, usize)> = BTreeMap::new();
    for p in problems {
        let code = format!("{:?}", p.code);
        let n = counts.entry(code.clone()).or_default();
        *n += 1;
        if *n <= MAX_LISTED {
            out.push(p);
        } else {
            dropped.entry(code).or_insert_with(|| (p.clone(), 0)).1 += 1;
        }
    }
    for (_, (p, n)) in dropped {
        out.push(Problem {
            message: format!("… and {n} more problems like this one"),
            key: None,
            ..p
        });
    }
    out
}

fn check_minio_data_dir(backup: &LoadedBackup, problems: &mut Vec<Problem>) {
    if let Some(o) = backup
        .objects
        .iter()
        .find(|o| o.key.as_str().ends_with(".json/xl.meta") || o.key.as_str().ends_with("/xl.meta"))
    {
        problems.push(Problem::error(
            ProblemCode::MinioDataDirectory,
            "this folder is a MinIO server's on-disk data (xl.meta files), not the backup's objects; copy the objects out through MinIO's S3 API (or point Ferry at the MinIO server with minio://host:port/bucket/)",
            Some(o.key.as_str()),
        ));
    }
}

fn check_name(backup: &LoadedBackup, problems: &mut Vec<Problem>) {
    let info = &backup.info;
    if !info.name.is_empty() && info.name != backup.reference.name {
        problems.push(Problem::warning(
            ProblemCode::NameMismatch,
            format!(
                "backup_meta.json names the backup {:?} but its folder is {:?}; milvus-backup looks backups up by folder",
                info.name, backup.reference.name
            ),
            Some(super::discover::BACKUP_META),
        ));
    }
}

fn check_binlogs(backup: &LoadedBackup, problems: &mut Vec<Problem>) {
    let objects = backup.object_map();
    let mut referenced: BTreeSet<&str> = BTreeSet::new();
    let mut meta_total: i64 = 0;
    for collection in &backup.collections {
        for segment in LoadedBackup::segments_of(collection) {
            let files = segment_files(collection, segment);
            let inserts: Vec<_> = files.iter().filter(|f| f.kind == LogKind::Insert).collect();
            if !segment.is_l0 && inserts.is_empty() {
                problems.push(Problem::error(
                    ProblemCode::SegmentWithoutInsertLogs,
                    format!(
                        "segment {} of collection {:?} is not L0 but has no insert logs",
                        segment.segment_id, collection.collection_name
                    ),
                    None,
                ));
            }
            check_aligned(collection, segment, problems);
            let mut segment_sum = 0i64;
            for file in &files {
                segment_sum += file.log_size;
                match file.find(&objects) {
                    None => problems.push(Problem::error(
                        ProblemCode::BinlogMissing,
                        format!(
                            "referenced binlog is missing (collection {:?}, segment {}, log {})",
                            collection.collection_name, file.segment_id, file.log_id
                        ),
                        Some(&file.candidates[0]),
                    )),
                    Some(object) => {
                        referenced.insert(object.key.as_str());
                        if object.size as i64 != file.log_size {
                            problems.push(Problem::error(
                                ProblemCode::SizeMismatch,
                                format!(
                                    "size mismatch: the meta says {} bytes, the storage holds {} bytes",
                                    file.log_size, object.size
                                ),
                                Some(object.key.as_str()),
                            ));
                        }
                    }
                }
            }
            if segment.size != 0 && segment.size != segment_sum {
                problems.push(Problem::warning(
                    ProblemCode::SizeInconsistent,
                    format!(
                        "segment {} records size {} but its files' log_size add up to {}",
                        segment.segment_id, segment.size, segment_sum
                    ),
                    None,
                ));
            }
            meta_total += segment_sum;
        }
    }
    if backup.info.size != 0 && backup.info.size != meta_total && backup.info.format.is_empty() {
        problems.push(Problem::warning(
            ProblemCode::SizeInconsistent,
            format!(
                "backup_meta.json records size {} but the referenced binlogs add up to {}",
                backup.info.size, meta_total
            ),
            Some(super::discover::BACKUP_META),
        ));
    }
    for object in &backup.objects {
        let key = object.key.as_str();
        if key.starts_with("binlogs/") && !referenced.contains(key) {
            problems.push(Problem::warning(
                ProblemCode::UnreferencedObject,
                "object under binlogs/ that the meta does not reference (orphans can make restore fail with \"misaligned binlog count\")",
                Some(key),
            ));
        }
    }
}

fn check_aligned(
    collection: &super::meta::CollectionInfo,
    segment: &super::meta::SegmentInfo,
    problems: &mut Vec<Problem>,
) {
    let counts: BTreeSet<usize> = segment.binlogs.iter().map(|f| f.binlogs.len()).collect();
    if counts.len() > 1 {
        problems.push(Problem::error(
            ProblemCode::MisalignedBinlogCount,
            format!(
                "segment {} of collection {:?}: its fields have different numbers of binlog files ({:?}); restore fails with \"misaligned binlog count\"",
                segment.segment_id, collection.collection_name, counts
            ),
            None,
        ));
    }
}

fn check_snapshot(backup: &LoadedBackup, problems: &mut Vec<Problem>) {
    if backup.info.format != "snapshot" {
        return;
    }
    let (files, bytes) = backup
        .collections
        .iter()
        .filter_map(|c| c.snapshot_backup.as_ref())
        .fold((0i64, 0i64), |(f, b), s| {
            (f + s.total_files, b + s.total_bytes)
        });
    let bundle: Vec<_> = backup
        .objects
        .iter()
        .filter(|o| o.key.as_str().starts_with("bundle/"))
        .collect();
    let bundle_bytes: u64 = bundle.iter().map(|o| o.size).sum();
    if files != 0 && (files as usize != bundle.len() || bytes as u64 != bundle_bytes) {
        problems.push(Problem::error(
            ProblemCode::SnapshotMismatch,
            format!(
                "the meta records {files} bundle files ({bytes} bytes) but bundle/ holds {} files ({bundle_bytes} bytes)",
                bundle.len()
            ),
            Some("bundle/"),
        ));
    }
}

fn check_strays(backup: &LoadedBackup, problems: &mut Vec<Problem>) {
    for object in &backup.objects {
        let key = object.key.as_str();
        if key.starts_with("meta/") {
            if !KNOWN_META_FILES.contains(&key) {
                problems.push(Problem::warning(
                    ProblemCode::StrayObject,
                    "unknown file in meta/ (milvus-backup checks meta files by prefix, so sidecars such as full_meta.json.sha256 can fool it)",
                    Some(key),
                ));
            }
        } else if !key.starts_with("binlogs/") && !key.starts_with("bundle/") {
            problems.push(Problem::warning(
                ProblemCode::StrayObject,
                "object outside meta/, binlogs/ and bundle/ (not part of a milvus-backup backup)",
                Some(key),
            ));
        }
    }
}
