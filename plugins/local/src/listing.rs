//! Recursive listing on a blocking thread, streamed through a bounded channel so memory stays
//! bounded whatever the number of files.

use std::path::PathBuf;

use ferry_core::{Error, ObjectMeta, ObjectStream, Result};
use futures::StreamExt;
use tokio::sync::mpsc;
use walkdir::WalkDir;

use crate::paths::{relative_key, STAGING_DIR};

/// Entries buffered between the walker thread and the consumer.
const LISTING_BUFFER: usize = 512;

/// Lists every file under `start` (inside `root`), recursively.
pub fn list_files(root: PathBuf, canonical_root: PathBuf, start: PathBuf) -> ObjectStream {
    let (tx, rx) = mpsc::channel::<Result<ObjectMeta>>(LISTING_BUFFER);
    tokio::task::spawn_blocking(move || walk(&root, &canonical_root, &start, &tx));
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

fn walk(
    root: &std::path::Path,
    canonical_root: &std::path::Path,
    start: &std::path::Path,
    tx: &mpsc::Sender<Result<ObjectMeta>>,
) {
    if !start.exists() {
        return;
    }
    let staging = root.join(STAGING_DIR);
    let walker = WalkDir::new(start)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.path() != staging);
    for entry in walker {
        let item = entry_to_meta(root, canonical_root, entry);
        let stop = item.is_err();
        match item {
            Ok(None) => continue,
            Ok(Some(meta)) => {
                if tx.blocking_send(Ok(meta)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        }
        if stop {
            return;
        }
    }
}

fn entry_to_meta(
    root: &std::path::Path,
    canonical_root: &std::path::Path,
    entry: walkdir::Result<walkdir::DirEntry>,
) -> Result<Option<ObjectMeta>> {
    let entry = entry.map_err(|e| {
        let path = e
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if e.loop_ancestor().is_some() {
            return Error::invalid_input(format!("symbolic link loop at {path}"));
        }
        match e.into_io_error() {
            Some(io) => Error::from_io(io, format!("listing {path}")),
            None => Error::internal(format!("listing {path} failed")),
        }
    })?;
    if entry.path_is_symlink() {
        let key = entry.path().display().to_string();
        crate::paths::ensure_inside(canonical_root, entry.path(), &key)?;
    }
    if entry.file_type().is_dir() {
        return Ok(None);
    }
    if !entry.file_type().is_file() {
        tracing::warn!(path = %entry.path().display(), "skipping a special file (not a regular file)");
        return Ok(None);
    }
    let metadata = entry.metadata().map_err(|e| {
        Error::internal(format!(
            "reading metadata of {}: {e}",
            entry.path().display()
        ))
    })?;
    let key = relative_key(root, entry.path())?;
    let mut meta = ObjectMeta::new(key, metadata.len());
    meta.last_modified = metadata.modified().ok();
    Ok(Some(meta))
}
