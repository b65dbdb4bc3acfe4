//! `--deep`: open every binlog the meta references, count rows from Parquet footers, and check
//! them against the meta's `num_of_rows`; count delete records in delta logs.

use std::collections::BTreeMap;

use futures::{stream, StreamExt};

use super::binlog::{read_binlog, BinlogFacts};
use super::expected::{segment_files, ExpectedFile, LogKind};
use super::inventory::Inventory;
use super::load::LoadedBackup;
use super::problem::{Problem, ProblemCode};
use crate::error::{ErrorKind, Result};
use crate::key::ObjectKey;
use crate::retry::{retry, RetryPolicy};
use crate::source::Source;

/// Binlogs opened at once.
const DEEP_CONCURRENCY: usize = 16;

/// Totals from a deep check.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeepSummary {
    /// Binlog files opened.
    pub files_read: usize,
    /// Rows counted per collection id (one field per segment).
    pub rows_by_collection: BTreeMap<i64, i64>,
    /// Delete records per collection id.
    pub deletes_by_collection: BTreeMap<i64, i64>,
}

/// Opens every referenced binlog present in the listing, appends problems to `backup`, fills
/// `deleted_rows` in `inventory`, and returns the totals.
pub async fn deep_check(
    source: &dyn Source,
    backup: &mut LoadedBackup,
    inventory: &mut Inventory,
) -> Result<DeepSummary> {
    let objects = backup.object_map();
    let mut jobs: Vec<(usize, ExpectedFile, ObjectKey, u64)> = Vec::new();
    let mut segments = Vec::new();
    for collection in &backup.collections {
        for segment in LoadedBackup::segments_of(collection) {
            let index = segments.len();
            segments.push((
                collection.collection_id,
                collection.collection_name.clone(),
                segment.clone(),
            ));
            for file in segment_files(collection, segment) {
                if let Some(object) = file.find(&objects) {
                    let key = object.key.under(&backup.reference.prefix)?;
                    let size = object.size;
                    jobs.push((index, file, key, size));
                }
            }
        }
    }
    drop(objects);
    let results: Vec<(usize, ExpectedFile, ObjectKey, Result<BinlogFacts>)> = stream::iter(jobs)
        .map(|(index, file, key, size)| async move {
            let policy = RetryPolicy::default();
            let facts = retry(&policy, &format!("reading {key}"), || {
                read_binlog(source, &key, size)
            })
            .await;
            (index, file, key, facts)
        })
        .buffer_unordered(DEEP_CONCURRENCY)
        .collect()
        .await;

    let mut summary = DeepSummary::default();
    // rows[segment][field] = Σ insert rows
    let mut rows: BTreeMap<usize, BTreeMap<i64, i64>> = BTreeMap::new();
    let mut problems = Vec::new();
    let prefix = backup.reference.prefix.clone();
    for (index, file, key, facts) in results {
        let relative = key.strip_prefix(&prefix).unwrap_or(key.clone());
        summary.files_read += 1;
        let facts = match facts {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::InvalidBackup => {
                problems.push(Problem::error(
                    ProblemCode::BinlogCorrupt,
                    format!("binlog cannot be read: {}", e.message()),
                    Some(relative.as_str()),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        let (collection_id, _, segment) = &segments[index];
        if let Some(d) = facts.descriptor {
            if d.segment_id != file.segment_id || d.collection_id != *collection_id {
                problems.push(Problem::error(
                    ProblemCode::BinlogIdMismatch,
                    format!(
                        "the binlog's descriptor names collection {} segment {}, but the meta places it in collection {} segment {}",
                        d.collection_id, d.segment_id, collection_id, segment.segment_id
                    ),
                    Some(relative.as_str()),
                ));
            }
        }
        match file.kind {
            LogKind::Insert => {
                *rows
                    .entry(index)
                    .or_default()
                    .entry(file.field_id)
                    .or_default() += facts.insert_rows;
            }
            LogKind::Delta => {
                *summary
                    .deletes_by_collection
                    .entry(*collection_id)
                    .or_default() += facts.delete_rows;
            }
        }
    }
    for (index, (collection_id, collection_name, segment)) in segments.iter().enumerate() {
        if segment.is_l0 {
            continue;
        }
        let Some(fields) = rows.get(&index) else {
            continue;
        };
        for (field, counted) in fields {
            if *counted != segment.num_of_rows {
                problems.push(Problem::error(
                    ProblemCode::RowCountMismatch,
                    format!(
                        "collection {collection_name:?} segment {} field {field}: binlogs hold {counted} rows, the meta says num_of_rows {}",
                        segment.segment_id, segment.num_of_rows
                    ),
                    None,
                ));
            }
        }
        if let Some(first) = fields.values().next() {
            *summary
                .rows_by_collection
                .entry(*collection_id)
                .or_default() += first;
        }
    }
    for c in &mut inventory.collections {
        c.deleted_rows = Some(
            summary
                .deletes_by_collection
                .get(&c.id)
                .copied()
                .unwrap_or(0),
        );
    }
    backup.problems.extend(problems);
    Ok(summary)
}
