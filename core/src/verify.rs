//! Verification: compare a source backup with its copy by listing both sides (same keys, same
//! sizes, equal checksums wherever both sides can give them) and by comparing both inventories.
//! `deep` re-reads the objects and compares CRC32C of their bytes.

use std::collections::BTreeMap;

use futures::{stream, StreamExt};
use serde::Serialize;

use crate::backup::{examine, BackupRef, ExaminedBackup, Inventory};
use crate::error::Result;
use crate::key::ObjectKey;
use crate::object::ObjectMeta;
use crate::sink::Sink;
use crate::source::Source;
use crate::transfer::checksum::digest_object;

/// Objects hashed at once in a deep verify.
const DEEP_VERIFY_CONCURRENCY: usize = 8;

/// Kinds of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// In the source, not at the target.
    MissingAtTarget,
    /// At the target, not in the source.
    ExtraAtTarget,
    /// Sizes differ.
    SizeMismatch,
    /// Checksums differ.
    ChecksumMismatch,
    /// Inventories differ (collections, partitions, segments, entities…).
    InventoryMismatch,
    /// The target copy has error-level problems of its own.
    TargetInvalid,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What kind.
    pub kind: DifferenceKind,
    /// The key (relative to the backup folder), when it is about one object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Details.
    pub message: String,
}

/// The result of verifying one backup.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Backup name.
    pub backup: String,
    /// Source backup folder.
    pub source_location: String,
    /// Target backup folder.
    pub target_location: String,
    /// Objects compared by key and size.
    pub objects_compared: usize,
    /// Bytes compared.
    pub bytes_compared: u64,
    /// Objects whose checksums were compared.
    pub checksums_compared: usize,
    /// Objects whose content is proven equal on both sides: by a checksum recorded while
    /// copying or reported by both stores, or by re-reading and hashing them.
    #[serde(default)]
    pub contents_proven: usize,
    /// Of those, objects re-read and hashed because no checksum could prove them.
    #[serde(default)]
    pub rehashed: usize,
    /// Whether object bytes were re-read and hashed.
    pub deep: bool,
    /// The source's inventory.
    pub source: Inventory,
    /// The target's inventory.
    pub target: Inventory,
    /// Every difference found.
    pub differences: Vec<Difference>,
    /// What this verification could not compare, and why (for example a destination that grants
    /// list and write but no read: its meta, inventory and contents cannot be read back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
    /// True when no difference was found and nothing was left uncompared.
    pub identical: bool,
}

/// Where a copy is verified.
#[derive(Clone, Copy)]
pub enum VerifyTarget<'a> {
    /// A store Ferry can read: listed, examined like the source (meta, inventory) and, with
    /// `deep`, re-read and hashed.
    Readable(&'a dyn Source),
    /// A destination that grants list and write but no read (some cloud upload volumes): keys,
    /// sizes and store-reported checksums are compared from its listing; its meta, inventory
    /// and contents cannot be, and the report says so.
    ListOnly(&'a dyn Sink),
}

impl<'a> VerifyTarget<'a> {
    /// The sink's own reader when its store allows reads, else its listing alone.
    pub fn of_sink(sink: &'a dyn Sink) -> Self {
        match sink.reader() {
            Some(reader) => VerifyTarget::Readable(reader),
            None => VerifyTarget::ListOnly(sink),
        }
    }
}

/// The target's side of a verification: its objects by key relative to the backup folder, and
/// its examination when it could be read.
struct TargetSide {
    objects: BTreeMap<String, ObjectMeta>,
    examined: Option<ExaminedBackup>,
}

async fn target_side(target: VerifyTarget<'_>, reference: &BackupRef) -> Result<TargetSide> {
    match target {
        VerifyTarget::Readable(source) => {
            let examined = examine(source, reference, false).await?;
            let objects = examined
                .backup
                .objects
                .iter()
                .map(|o| (o.key.as_str().to_string(), o.clone()))
                .collect();
            Ok(TargetSide {
                objects,
                examined: Some(examined),
            })
        }
        VerifyTarget::ListOnly(sink) => {
            let mut listing = sink.list(&reference.prefix).await?;
            let mut objects = BTreeMap::new();
            while let Some(object) = listing.next().await {
                let object = object?;
                let relative = object
                    .key
                    .as_str()
                    .strip_prefix(reference.prefix.as_str())
                    .unwrap_or(object.key.as_str())
                    .to_string();
                if !relative.is_empty() && !relative.ends_with('/') {
                    objects.insert(relative, object);
                }
            }
            Ok(TargetSide {
                objects,
                examined: None,
            })
        }
    }
}

/// Inputs to one verification.
pub struct VerifyInputs<'a> {
    /// Source store.
    pub source: &'a dyn Source,
    /// The source backup, already examined.
    pub source_backup: &'a ExaminedBackup,
    /// Where the copy is.
    pub target: VerifyTarget<'a>,
    /// Where the copy sits in the target.
    pub target_ref: &'a BackupRef,
    /// Re-read and hash both sides, every object.
    pub deep: bool,
    /// Compare keys and sizes only (`--verify sizes`): objects no checksum proves are not
    /// re-read, and the report says their contents were not compared. Otherwise (the default)
    /// every such object is re-read and hashed on both sides.
    pub sizes_only: bool,
    /// CRC32C of each object computed while it was copied, by relative key.
    pub copied_checksums: Option<&'a BTreeMap<String, u32>>,
}

/// Compares a source backup with its copy.
pub async fn verify_backup(inputs: VerifyInputs<'_>) -> Result<VerifyReport> {
    let source = &inputs.source_backup.backup;
    let target = target_side(inputs.target, inputs.target_ref).await?;
    let mut differences = Vec::new();
    let mut not_compared = Vec::new();

    let src_objects = source.object_map();
    let dst_objects = &target.objects;
    let mut both: Vec<(&str, u64)> = Vec::new();
    // Objects on both sides that no checksum proved (yet).
    let mut unproven: Vec<(&str, u64)> = Vec::new();
    let mut checksums_compared = 0;
    for (key, object) in &src_objects {
        match dst_objects.get(*key) {
            None => differences.push(Difference {
                kind: DifferenceKind::MissingAtTarget,
                key: Some(key.to_string()),
                message: format!(
                    "missing at the target ({} bytes in the source)",
                    object.size
                ),
            }),
            Some(copy) if copy.size != object.size => differences.push(Difference {
                kind: DifferenceKind::SizeMismatch,
                key: Some(key.to_string()),
                message: format!("source {} bytes, target {} bytes", object.size, copy.size),
            }),
            Some(copy) => {
                // What the source store reports, or else the CRC32C Ferry computed while copying.
                let mut reference = object.checksums;
                if reference.crc32c.is_none() {
                    reference.crc32c = inputs.copied_checksums.and_then(|m| m.get(*key)).copied();
                }
                match reference.agree(&copy.checksums) {
                    Some(false) => differences.push(Difference {
                        kind: DifferenceKind::ChecksumMismatch,
                        key: Some(key.to_string()),
                        message: "the target store reports another checksum than the source's"
                            .to_string(),
                    }),
                    Some(true) => checksums_compared += 1,
                    None => unproven.push((key, object.size)),
                }
                both.push((key, object.size));
            }
        }
    }
    for (key, object) in dst_objects {
        if !src_objects.contains_key(key.as_str()) {
            differences.push(Difference {
                kind: DifferenceKind::ExtraAtTarget,
                key: Some(key.to_string()),
                message: format!("at the target only ({} bytes)", object.size),
            });
        }
    }
    let mut rehashed = 0;
    let target_inventory = match (&target.examined, inputs.target) {
        (Some(examined), VerifyTarget::Readable(reader)) => {
            if inputs.deep {
                let (compared, diffs) = deep_compare(&inputs, reader, &both, examined).await?;
                checksums_compared = compared;
                rehashed = compared;
                differences.extend(diffs);
            } else if !inputs.sizes_only && !unproven.is_empty() {
                let (compared, diffs) = deep_compare(&inputs, reader, &unproven, examined).await?;
                rehashed = compared;
                differences.extend(diffs);
            } else if !unproven.is_empty() {
                not_compared.push(format!(
                    "the contents of {} objects: sizes equal; contents not compared (--verify sizes)",
                    unproven.len()
                ));
            }
            differences.extend(compare_inventories(
                &inputs.source_backup.inventory,
                &examined.inventory,
            ));
            for p in examined.backup.problems.iter().filter(|p| p.is_error()) {
                differences.push(Difference {
                    kind: DifferenceKind::TargetInvalid,
                    key: p.key.clone(),
                    message: p.message.clone(),
                });
            }
            examined.inventory.clone()
        }
        _ => {
            not_compared.push(
                "the target's meta, inventory and contents: the destination grants no reads, so \
                 only keys, sizes and the checksums it lists were compared"
                    .to_string(),
            );
            Inventory::default()
        }
    };
    let bytes_compared = both.iter().map(|(_, s)| s).sum();
    let contents_proven = if inputs.deep {
        rehashed
    } else {
        checksums_compared + rehashed
    };
    Ok(VerifyReport {
        backup: source.reference.name.clone(),
        source_location: String::new(),
        target_location: String::new(),
        objects_compared: src_objects.len().max(dst_objects.len()),
        bytes_compared,
        checksums_compared,
        contents_proven,
        rehashed,
        deep: inputs.deep,
        source: inputs.source_backup.inventory.clone(),
        target: target_inventory,
        identical: differences.is_empty() && not_compared.is_empty(),
        differences,
        not_compared,
    })
}

/// Hashes every object present on both sides (the source side is skipped when its CRC32C was
/// recorded during the copy).
async fn deep_compare(
    inputs: &VerifyInputs<'_>,
    reader: &dyn Source,
    both: &[(&str, u64)],
    target: &ExaminedBackup,
) -> Result<(usize, Vec<Difference>)> {
    let src_prefix = &inputs.source_backup.backup.reference.prefix;
    let dst_prefix = &target.backup.reference.prefix;
    let results: Vec<Result<Option<Difference>>> = stream::iter(both.iter())
        .map(|(key, _)| async move {
            let target_key = ObjectKey::new(format!("{dst_prefix}{key}"))?;
            let target_digest = digest_object(reader, &target_key).await?;
            let source_crc = match inputs.copied_checksums.and_then(|m| m.get(*key)) {
                Some(crc) => *crc,
                None => {
                    let source_key = ObjectKey::new(format!("{src_prefix}{key}"))?;
                    digest_object(inputs.source, &source_key).await?.crc32c
                }
            };
            Ok((source_crc != target_digest.crc32c).then(|| Difference {
                kind: DifferenceKind::ChecksumMismatch,
                key: Some(key.to_string()),
                message: format!(
                    "CRC32C differs: source {source_crc:08x}, target {:08x}",
                    target_digest.crc32c
                ),
            }))
        })
        .buffer_unordered(DEEP_VERIFY_CONCURRENCY)
        .collect()
        .await;
    let mut diffs = Vec::new();
    for r in results {
        if let Some(d) = r? {
            diffs.push(d);
        }
    }
    Ok((both.len(), diffs))
}

fn inventory_diff<T: std::fmt::Debug + PartialEq>(
    what: String,
    source: T,
    target: T,
) -> Option<Difference> {
    (source != target).then(|| Difference {
        kind: DifferenceKind::InventoryMismatch,
        key: None,
        message: format!("{what}: source {source:?}, target {target:?}"),
    })
}

/// Compares two inventories: collections (by database and name) and what each holds.
pub fn compare_inventories(source: &Inventory, target: &Inventory) -> Vec<Difference> {
    let mut out: Vec<Difference> = [
        inventory_diff("objects".into(), source.objects, target.objects),
        inventory_diff("bytes".into(), source.bytes, target.bytes),
        inventory_diff("format".into(), &source.format, &target.format),
        inventory_diff(
            "total entities".into(),
            source.total_entities,
            target.total_entities,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let index = |inv: &Inventory| -> BTreeMap<(String, String), crate::backup::CollectionSummary> {
        inv.collections
            .iter()
            .map(|c| ((c.db.clone(), c.name.clone()), c.clone()))
            .collect()
    };
    let (src, dst) = (index(source), index(target));
    for ((db, name), s) in &src {
        let Some(t) = dst.get(&(db.clone(), name.clone())) else {
            out.push(Difference {
                kind: DifferenceKind::InventoryMismatch,
                key: None,
                message: format!("collection {db}.{name} is missing at the target"),
            });
            continue;
        };
        let c = format!("collection {db}.{name}");
        out.extend(
            [
                inventory_diff(format!("{c} partitions"), &s.partitions, &t.partitions),
                inventory_diff(format!("{c} segments"), s.segments, t.segments),
                inventory_diff(format!("{c} L0 segments"), s.l0_segments, t.l0_segments),
                inventory_diff(format!("{c} insert files"), s.insert_files, t.insert_files),
                inventory_diff(format!("{c} delta files"), s.delta_files, t.delta_files),
                inventory_diff(format!("{c} entities"), s.entities, t.entities),
                inventory_diff(format!("{c} bytes"), s.bytes, t.bytes),
            ]
            .into_iter()
            .flatten(),
        );
    }
    for (db, name) in dst.keys() {
        if !src.contains_key(&(db.clone(), name.clone())) {
            out.push(Difference {
                kind: DifferenceKind::InventoryMismatch,
                key: None,
                message: format!("collection {db}.{name} is at the target only"),
            });
        }
    }
    out
}
