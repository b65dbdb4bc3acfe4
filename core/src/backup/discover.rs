//! Finding backups at a location: the location is one backup folder (it has
//! `meta/backup_meta.json`) or a root holding several; half-written backups and stray objects
//! are reported, never taken for backups.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::key::{validate_segment, ObjectKey};
use crate::source::Source;

/// The file whose presence makes a folder a backup.
pub const BACKUP_META: &str = "meta/backup_meta.json";

/// One backup found at a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRef {
    /// Backup (folder) name.
    pub name: String,
    /// Key prefix of the backup folder in the source: empty when the source is the folder
    /// itself, else `<name>/`.
    pub prefix: String,
}

/// What a location holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Complete-looking backups (they have `meta/backup_meta.json`), sorted by name.
    pub backups: Vec<BackupRef>,
    /// Folders with `binlogs/` or `meta/` but no `meta/backup_meta.json`: half-written backups.
    pub incomplete: Vec<String>,
    /// Objects and folders at the root that are not backups (e.g. `milvus_backup_check_*`).
    pub stray: Vec<String>,
}

/// Finds the backups at `source`'s location.
pub async fn discover(source: &dyn Source) -> Result<Discovery> {
    let location = source.location().to_string();
    if source.stat(&key(BACKUP_META)).await?.is_some() {
        let name = single_backup_name(source).await?;
        return Ok(Discovery {
            backups: vec![BackupRef {
                name,
                prefix: String::new(),
            }],
            ..Discovery::default()
        });
    }
    let children = source.list_children("").await?;
    let mut found = Discovery::default();
    for object in &children.objects {
        found.stray.push(object.key.to_string());
    }
    for folder in &children.folders {
        if validate_segment(folder).is_err() {
            found.stray.push(format!("{folder}/"));
            continue;
        }
        let meta = ObjectKey::new(format!("{folder}/{BACKUP_META}"))?;
        if source.stat(&meta).await?.is_some() {
            found.backups.push(BackupRef {
                name: folder.clone(),
                prefix: format!("{folder}/"),
            });
            continue;
        }
        let inner = source.list_children(&format!("{folder}/")).await?;
        let looks_like_backup = inner.folders.iter().any(|f| f == "binlogs" || f == "meta");
        if looks_like_backup {
            found.incomplete.push(folder.clone());
        } else {
            found.stray.push(format!("{folder}/"));
        }
    }
    if found.backups.is_empty() {
        return Err(no_backup_error(&location, &children.folders, &found));
    }
    Ok(found)
}

async fn single_backup_name(source: &dyn Source) -> Result<String> {
    if let Some(name) = source.location().last_segment() {
        if validate_segment(&name).is_ok() {
            return Ok(name);
        }
    }
    // The location is a bucket root: take the name from backup_meta.json.
    let info: super::meta::BackupInfo = super::read::read_json(source, &key(BACKUP_META)).await?;
    validate_segment(&info.name).map_err(|e| {
        Error::invalid_backup(format!(
            "the backup at {} names itself {:?}, which cannot be a folder name: {}",
            source.location(),
            info.name,
            e.message()
        ))
    })?;
    Ok(info.name)
}

fn key(k: &str) -> ObjectKey {
    ObjectKey::new(k).expect("constant keys are valid")
}

fn no_backup_error(location: &str, folders: &[String], found: &Discovery) -> Error {
    let mut hint = format!(
        "point at a backup folder (one holding {BACKUP_META}) or at the root that holds backup folders"
    );
    if folders.iter().any(|f| f == "meta" || f == "binlogs") {
        hint = format!(
            "{location} has binlogs/ or meta/ but no {BACKUP_META}: the backup is incomplete (milvus-backup writes meta last), or meta/ was not copied"
        );
    } else if let Some(root) = folders
        .iter()
        .find(|f| matches!(f.as_str(), "backup" | "files"))
    {
        hint = format!(
            "milvus-backup keeps backups under its root path; try {}/{root}/",
            location.trim_end_matches('/')
        );
    } else if location.trim_end_matches('/').ends_with("/meta")
        || location.trim_end_matches('/').ends_with("/binlogs")
    {
        hint = "this looks like a folder inside a backup; point at its parent folder".to_string();
    }
    if !found.incomplete.is_empty() {
        hint = format!(
            "only incomplete backups (no {BACKUP_META}) were found: {}; they cannot be migrated",
            found.incomplete.join(", ")
        );
    }
    Error::invalid_backup(format!("no Milvus backup found at {location}")).with_hint(hint)
}
