//! Atomic writes: stage under `.ferry-partial/`, fsync, rename; fsync touched directories once
//! per batch; clean up after interrupted runs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_core::{ByteStream, Error, ObjectKey, Result};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::paths::{ensure_inside, key_path};
use crate::store::LocalStore;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Deletes the staged file when dropped before it was renamed (error, cancellation).
struct StagedFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn io_err(e: std::io::Error, what: &str, path: &Path, key: &ObjectKey) -> Error {
    Error::from_io(e, format!("{what} {}", path.display())).with_key(key)
}

/// Whether a process with this id is running (Linux `/proc`; elsewhere assume it is).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl LocalStore {
    pub(crate) async fn prepare_impl(&self) -> Result<()> {
        let root = self.root().to_path_buf();
        match tokio::fs::metadata(&root).await {
            Ok(m) if !m.is_dir() => {
                return Err(Error::invalid_input(format!(
                    "the destination {} is a file, not a folder",
                    root.display()
                )))
            }
            _ => {}
        }
        let staging = self.staging_dir();
        tokio::fs::create_dir_all(&staging).await.map_err(|e| {
            Error::from_io(
                e,
                format!(
                    "the destination {} is not writable: creating {}",
                    root.display(),
                    staging.display()
                ),
            )
            .with_hint("choose a destination folder you can write to, or fix its permissions")
        })?;
        self.canonical_root()?;
        self.remove_stale_staged_files(&staging).await;
        Ok(())
    }

    /// Removes staged files left by processes that no longer run (killed mid-write).
    async fn remove_stale_staged_files(&self, staging: &Path) {
        let Ok(mut dir) = tokio::fs::read_dir(staging).await else {
            return;
        };
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if pid != std::process::id() && !process_alive(pid) {
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
            }
        }
    }

    pub(crate) async fn write_impl(
        &self,
        key: &ObjectKey,
        size: u64,
        mut data: ByteStream,
    ) -> Result<()> {
        let final_path = key_path(self.root(), key);
        let parent = final_path
            .parent()
            .ok_or_else(|| Error::invalid_input("a key must name a file"))?
            .to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| io_err(e, "creating folder", &parent, key))?;
        ensure_inside(self.canonical_root()?, &parent, key.as_str())?;
        if let Ok(m) = tokio::fs::symlink_metadata(&final_path).await {
            if m.is_dir() {
                return Err(Error::conflict(format!(
                    "a folder sits where the object {} must go",
                    final_path.display()
                ))
                .with_key(key));
            }
            if m.file_type().is_symlink() {
                ensure_inside(self.canonical_root()?, &final_path, key.as_str())?;
            }
        }
        let staging = self.staging_dir();
        tokio::fs::create_dir_all(&staging)
            .await
            .map_err(|e| io_err(e, "creating folder", &staging, key))?;
        let temp = staging.join(format!(
            "{}-{}-{}.part",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed),
            key.file_name()
        ));
        let mut staged = StagedFile {
            path: temp.clone(),
            armed: true,
        };
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(|e| io_err(e, "creating", &temp, key))?;
        let mut written: u64 = 0;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if written > size {
                return Err(Error::integrity(format!(
                    "the stream for {key} yields more than the announced {size} bytes"
                ))
                .with_key(key));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err(e, "writing", &temp, key))?;
        }
        if written != size {
            return Err(Error::integrity(format!(
                "the stream for {key} ended after {written} of {size} bytes"
            ))
            .with_key(key)
            .with_retryable(true));
        }
        file.flush()
            .await
            .map_err(|e| io_err(e, "writing", &temp, key))?;
        file.sync_all()
            .await
            .map_err(|e| io_err(e, "syncing", &temp, key))?;
        drop(file);
        tokio::fs::rename(&temp, &final_path)
            .await
            .map_err(|e| io_err(e, "renaming into place", &final_path, key))?;
        staged.armed = false;
        self.dirty_dirs.lock().expect("dirty dirs").insert(parent);
        Ok(())
    }

    pub(crate) async fn delete_impl(&self, key: &ObjectKey) -> Result<()> {
        let path = key_path(self.root(), key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(e, "deleting", &path, key)),
        }
        // Remove folders the deletion left empty, up to (not including) the root.
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == self.root() || !d.starts_with(self.root()) {
                break;
            }
            if tokio::fs::remove_dir(&d).await.is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(())
    }

    pub(crate) async fn flush_impl(&self) -> Result<()> {
        let dirs: Vec<PathBuf> = std::mem::take(&mut *self.dirty_dirs.lock().expect("dirty dirs"))
            .into_iter()
            .collect();
        tokio::task::spawn_blocking(move || {
            for dir in dirs {
                if let Ok(f) = std::fs::File::open(&dir) {
                    f.sync_all().map_err(|e| {
                        Error::from_io(e, format!("syncing folder {}", dir.display()))
                    })?;
                }
            }
            Ok::<_, Error>(())
        })
        .await
        .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        // Leave no empty staging folder behind.
        let _ = tokio::fs::remove_dir(self.staging_dir()).await;
        Ok(())
    }
}
