//! Planning a backup's transfer: every object of the source folder, copied verbatim under
//! `<destination>/<name>/`, in phases (binlogs, then meta, then `backup_meta.json`, then
//! `full_meta.json` last of all); objects already at the destination with equal size and
//! checksum are skipped; different bytes under the same key are a conflict.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;

use crate::backup::discover::BACKUP_META;
use crate::backup::load::FULL_META;
use crate::backup::LoadedBackup;
use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::object::ObjectMeta;
use crate::sink::Sink;
use crate::source::Source;

use super::checksum::digest_object;

/// Copy order. Everything of one phase completes before the next starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Binlogs and any other data objects.
    Data,
    /// Meta files other than backup_meta.json and full_meta.json.
    Meta,
    /// `meta/backup_meta.json`: without it milvus-backup sees no backup.
    BackupMeta,
    /// `meta/full_meta.json`, last of all: present means complete.
    FullMeta,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 4] = [Phase::Data, Phase::Meta, Phase::BackupMeta, Phase::FullMeta];

    /// The phase of a key relative to the backup folder.
    pub fn of(relative: &str) -> Phase {
        match relative {
            FULL_META => Phase::FullMeta,
            BACKUP_META => Phase::BackupMeta,
            k if k.starts_with("meta/") => Phase::Meta,
            _ => Phase::Data,
        }
    }
}

/// What to do with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Not at the destination: copy.
    Copy,
    /// Already at the destination with equal size and checksum.
    Skip,
    /// At the destination with different bytes; replaced because `--overwrite` was given.
    Replace,
}

/// One object of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedObject {
    /// Key relative to the backup folder (identical on both sides).
    pub relative: ObjectKey,
    /// Key in the source.
    pub source_key: ObjectKey,
    /// Key in the destination.
    pub dest_key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Copy phase.
    pub phase: Phase,
    /// What to do.
    pub action: Action,
}

/// A destination object holding other bytes than the source's.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// Key relative to the backup folder.
    pub key: String,
    /// Why it conflicts.
    pub reason: String,
}

/// The plan of one backup.
#[derive(Debug, Clone, Serialize)]
pub struct TransferPlan {
    /// Backup name.
    pub backup: String,
    /// Destination folder prefix (`<name>/`).
    pub dest_prefix: String,
    /// Every source object, in copy order.
    pub objects: Vec<PlannedObject>,
    /// Destination objects the source does not have (deleted first with `--overwrite`).
    pub extra_at_destination: Vec<String>,
    /// Objects that differ (replaced with `--overwrite`).
    pub conflicts: Vec<Conflict>,
}

impl TransferPlan {
    /// (objects, bytes) with the given action.
    pub fn count(&self, action: Action) -> (u64, u64) {
        self.objects
            .iter()
            .filter(|o| o.action == action)
            .fold((0, 0), |(n, b), o| (n + 1, b + o.size))
    }
}

/// Inputs to planning.
pub struct PlanInputs<'a> {
    /// Where the backup is read.
    pub source: &'a dyn Source,
    /// Where it is written (and, through [`Sink::reader`], read back for the checksums of
    /// objects already there).
    pub sink: &'a dyn Sink,
    /// The backup.
    pub backup: &'a LoadedBackup,
    /// Replace differing objects and delete extras instead of refusing.
    pub overwrite: bool,
}

/// Plans the transfer of one backup. Without `overwrite`, any conflict is an error before
/// anything is written.
pub async fn plan_backup(inputs: PlanInputs<'_>) -> Result<TransferPlan> {
    let backup = inputs.backup;
    let name = &backup.reference.name;
    let dest_prefix = format!("{name}/");
    let policy = crate::retry::RetryPolicy::default();
    let existing = crate::retry::retry(&policy, "listing the destination", || {
        list_destination(inputs.sink, &dest_prefix)
    })
    .await?;
    let mut plan = TransferPlan {
        backup: name.clone(),
        dest_prefix: dest_prefix.clone(),
        objects: Vec::with_capacity(backup.objects.len()),
        extra_at_destination: Vec::new(),
        conflicts: Vec::new(),
    };
    for object in &backup.objects {
        let relative = object.key.clone();
        let source_key = relative.under(&backup.reference.prefix)?;
        let dest_key = relative.under(&dest_prefix)?;
        let action = match existing.get(relative.as_str()) {
            None => Action::Copy,
            Some(found) => {
                match same_content(&inputs, object, &source_key, found, &dest_key).await? {
                    Ok(()) => Action::Skip,
                    Err(reason) => {
                        plan.conflicts.push(Conflict {
                            key: relative.to_string(),
                            reason,
                        });
                        Action::Replace
                    }
                }
            }
        };
        plan.objects.push(PlannedObject {
            phase: Phase::of(relative.as_str()),
            relative,
            source_key,
            dest_key,
            size: object.size,
            action,
        });
    }
    let source_keys: std::collections::BTreeSet<&str> =
        backup.objects.iter().map(|o| o.key.as_str()).collect();
    plan.extra_at_destination = existing
        .keys()
        .filter(|k| !source_keys.contains(k.as_str()))
        .cloned()
        .collect();
    plan.objects
        .sort_by(|a, b| (a.phase, &a.relative).cmp(&(b.phase, &b.relative)));
    if !inputs.overwrite && (!plan.conflicts.is_empty() || !plan.extra_at_destination.is_empty()) {
        return Err(conflict_error(inputs.sink, &plan));
    }
    Ok(plan)
}

async fn list_destination(sink: &dyn Sink, prefix: &str) -> Result<BTreeMap<String, ObjectMeta>> {
    let mut stream = sink.list(prefix).await?;
    let mut map = BTreeMap::new();
    while let Some(object) = stream.next().await {
        let object = object?;
        if let Some(relative) = object.key.strip_prefix(prefix) {
            if !relative.is_dir_marker() {
                map.insert(relative.to_string(), object);
            }
        }
    }
    Ok(map)
}

/// `Ok(())` when the destination object holds the same bytes, else the reason it does not.
async fn same_content(
    inputs: &PlanInputs<'_>,
    source_object: &ObjectMeta,
    source_key: &ObjectKey,
    dest_object: &ObjectMeta,
    dest_key: &ObjectKey,
) -> Result<std::result::Result<(), String>> {
    if source_object.size != dest_object.size {
        return Ok(Err(format!(
            "the destination holds {} bytes, the source {} bytes",
            dest_object.size, source_object.size
        )));
    }
    match source_object.checksums.agree(&dest_object.checksums) {
        Some(true) => return Ok(Ok(())),
        Some(false) => return Ok(Err("same size but different checksums".to_string())),
        None => {}
    }
    let Some(reader) = inputs.sink.reader() else {
        return Ok(Err(
            "same size, and the destination cannot be read to compare the bytes".to_string(),
        ));
    };
    let (a, b) = futures::try_join!(
        digest_object(inputs.source, source_key),
        digest_object(reader, dest_key)
    )?;
    if a == b {
        Ok(Ok(()))
    } else {
        Ok(Err(
            "same size but different bytes (CRC32C differs)".to_string()
        ))
    }
}

fn conflict_error(sink: &dyn Sink, plan: &TransferPlan) -> Error {
    let mut lines: Vec<String> = plan
        .conflicts
        .iter()
        .take(10)
        .map(|c| format!("{}{} ({})", plan.dest_prefix, c.key, c.reason))
        .collect();
    lines.extend(
        plan.extra_at_destination
            .iter()
            .take(10)
            .map(|k| format!("{}{k} (not in the source backup)", plan.dest_prefix)),
    );
    let total = plan.conflicts.len() + plan.extra_at_destination.len();
    if total > lines.len() {
        lines.push(format!("… {} more", total - lines.len()));
    }
    Error::conflict(format!(
        "the destination already holds a different backup {:?}: {}",
        plan.backup,
        lines.join("; ")
    ))
    .with_location(sink.location())
    .with_hint("nothing was written; choose another destination, or pass --overwrite to replace what differs and delete what the source does not have")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_order_meta_last() {
        assert_eq!(Phase::of("binlogs/insert_log/1/2/3/3/100/4"), Phase::Data);
        assert_eq!(Phase::of("bundle/x"), Phase::Data);
        assert_eq!(Phase::of("meta/segment_meta.json"), Phase::Meta);
        assert_eq!(Phase::of("meta/backup_meta.json"), Phase::BackupMeta);
        assert_eq!(Phase::of("meta/full_meta.json"), Phase::FullMeta);
        assert!(Phase::Data < Phase::Meta && Phase::BackupMeta < Phase::FullMeta);
    }
}
