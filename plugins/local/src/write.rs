//! Atomic writes: stage under `.ferry-partial/`, rename into place; make a batch durable once
//! per flush (Linux: one `syncfs`; elsewhere: each file, then the touched folders); clean up
//! after interrupted runs.
//!
//! Durability per batch is safe because the engine flushes after every phase and writes a
//! backup's meta files only after its data phase was flushed: a crash before a flush can lose
//! recent data files, never leave meta that points at missing data, and a re-run compares
//! sizes and checksums instead of trusting what was recorded.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ferry_core::{ByteStream, Error, ObjectKey, Result};
use futures::StreamExt;

use crate::paths::{ensure_inside, key_path};
use crate::store::LocalStore;
use crate::writeback::{copy_file, start_writeback, WRITEBACK_STEP};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Largest single `write` call: chunks from ranged reads arrive as 8 MiB buffers, and page-cache
/// writes of that size cost several times the kernel CPU of 1 MiB writes here
/// (docs/performance.md).
const WRITE_PIECE: usize = 128 * 1024;

/// Writes one staged file on a blocking thread: prepares the folder (once per folder), then
/// chunks from a channel, then — only when the sender set `commit` before closing the channel —
/// renames it into place. Anything else (an error, the sender dropped early) removes the staged
/// file. All filesystem work of one object happens on this one thread.
struct StagedWriter {
    temp: PathBuf,
    final_path: PathBuf,
    parent: PathBuf,
    staging: PathBuf,
    canonical_root: PathBuf,
    known_dirs: Arc<Mutex<HashSet<PathBuf>>>,
    size: u64,
    key: ObjectKey,
    commit: Arc<AtomicBool>,
}

impl StagedWriter {
    fn run(self, mut rx: tokio::sync::mpsc::Receiver<Bytes>) -> Result<()> {
        self.prepare()?;
        let result = self.write_all(&mut rx);
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }

    /// Creates the object's folder and the staging folder, and refuses a folder that a symlink
    /// leads outside the root or a folder where the object must go.
    fn prepare(&self) -> Result<()> {
        let key = &self.key;
        let known = self
            .known_dirs
            .lock()
            .expect("known dirs")
            .contains(&self.parent);
        if !known {
            std::fs::create_dir_all(&self.parent)
                .map_err(|e| io_err(e, "creating folder", &self.parent, key))?;
            ensure_inside(&self.canonical_root, &self.parent, key.as_str())?;
            std::fs::create_dir_all(&self.staging)
                .map_err(|e| io_err(e, "creating folder", &self.staging, key))?;
            self.known_dirs
                .lock()
                .expect("known dirs")
                .insert(self.parent.clone());
        }
        if let Ok(m) = std::fs::symlink_metadata(&self.final_path) {
            if m.is_dir() {
                return Err(Error::conflict(format!(
                    "a folder sits where the object {} must go",
                    self.final_path.display()
                ))
                .with_key(key));
            }
            if m.file_type().is_symlink() {
                ensure_inside(&self.canonical_root, &self.final_path, key.as_str())?;
            }
        }
        Ok(())
    }

    fn write_all(&self, rx: &mut tokio::sync::mpsc::Receiver<Bytes>) -> Result<()> {
        use std::io::Write;
        let key = &self.key;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.temp)
            .map_err(|e| io_err(e, "creating", &self.temp, key))?;
        let mut written = 0u64;
        let mut written_back = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            written += chunk.len() as u64;
            for piece in chunk.chunks(WRITE_PIECE) {
                file.write_all(piece)
                    .map_err(|e| io_err(e, "writing", &self.temp, key))?;
            }
            if written - written_back >= WRITEBACK_STEP {
                start_writeback(&file, written_back, written - written_back);
                written_back = written;
            }
        }
        if !self.commit.load(Ordering::SeqCst) || written != self.size {
            return Err(Error::interrupted(format!(
                "the write of {key} was abandoned"
            )));
        }
        if cfg!(target_os = "linux") {
            start_writeback(&file, written_back, 0);
        } else {
            // No syncfs here: each file is made durable before its rename.
            file.sync_all()
                .map_err(|e| io_err(e, "syncing", &self.temp, key))?;
        }
        drop(file);
        self.rename_into_place()
    }

    /// Renames the staged file onto its key (again after re-creating a folder that went away).
    fn rename_into_place(&self) -> Result<()> {
        let key = &self.key;
        match std::fs::rename(&self.temp, &self.final_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.temp.exists() => {
                // The folder went away since it was checked (emptied and removed): again.
                self.known_dirs
                    .lock()
                    .expect("known dirs")
                    .remove(&self.parent);
                std::fs::create_dir_all(&self.parent)
                    .map_err(|e| io_err(e, "creating folder", &self.parent, key))?;
                ensure_inside(&self.canonical_root, &self.parent, key.as_str())?;
                std::fs::rename(&self.temp, &self.final_path)
            }
            other => other,
        }
        .map_err(|e| io_err(e, "renaming into place", &self.final_path, key))
    }

    /// Copies the file `source` in the kernel (`copy_file_range` where the system has it) to
    /// the staged file, checks its size, and renames it into place.
    fn copy_from(self, source: &Path) -> Result<()> {
        self.prepare()?;
        let result = (|| {
            let copied = copy_file(source, &self.temp)
                .map_err(|e| io_err(e, "copying", source, &self.key))?;
            if copied != self.size {
                return Err(Error::integrity(format!(
                    "{} has {copied} bytes, the listing said {}: it changed during the copy",
                    source.display(),
                    self.size
                ))
                .with_key(&self.key)
                .with_retryable(true));
            }
            if !cfg!(target_os = "linux") {
                let file = std::fs::File::open(&self.temp)
                    .map_err(|e| io_err(e, "opening", &self.temp, &self.key))?;
                file.sync_all()
                    .map_err(|e| io_err(e, "syncing", &self.temp, &self.key))?;
            }
            self.rename_into_place()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }
}

/// Makes everything written on the filesystem of `root` durable (Linux `syncfs`).
#[cfg(target_os = "linux")]
fn sync_filesystem(root: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(root)
        .map_err(|e| Error::from_io(e, format!("opening {}", root.display())))?;
    // SAFETY: syncfs takes a valid open descriptor, which `dir` holds for the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(Error::from_io(
            std::io::Error::last_os_error(),
            format!("syncing the filesystem of {}", root.display()),
        ));
    }
    Ok(())
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

    /// The staged writer of `key`: its final path, folder, and a fresh staging file name.
    fn staged_writer(
        &self,
        key: &ObjectKey,
        size: u64,
        commit: Arc<AtomicBool>,
    ) -> Result<StagedWriter> {
        let final_path = key_path(self.root(), key);
        let parent = final_path
            .parent()
            .ok_or_else(|| Error::invalid_input("a key must name a file"))?
            .to_path_buf();
        let staging = self.staging_dir();
        let temp = staging.join(format!(
            "{}-{}-{}.part",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed),
            key.file_name()
        ));
        Ok(StagedWriter {
            temp,
            final_path,
            parent,
            staging,
            canonical_root: self.canonical_root()?.to_path_buf(),
            known_dirs: self.known_dirs.clone(),
            size,
            key: key.clone(),
            commit,
        })
    }

    pub(crate) async fn write_impl(
        &self,
        key: &ObjectKey,
        size: u64,
        mut data: ByteStream,
    ) -> Result<()> {
        // One blocking thread owns the staged file from creation to rename or removal, so a
        // cancelled copy (this future dropped) can never leave a stray file behind.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<()>>();
        let commit = Arc::new(AtomicBool::new(false));
        let writer = self.staged_writer(key, size, commit.clone())?;
        let parent = writer.parent.clone();
        let active = self.active_writers.clone();
        active.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            let result = writer.run(rx);
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = done_tx.send(result);
        });
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
            if tx.send(chunk).await.is_err() {
                break; // The writer stopped: its error follows.
            }
        }
        if tx.is_closed() {
            drop(tx);
            return done_rx
                .await
                .map_err(|_| Error::internal("the file writer stopped unexpectedly"))?
                .and(Err(Error::internal("the file writer stopped early")));
        }
        if written != size {
            return Err(Error::integrity(format!(
                "the stream for {key} ended after {written} of {size} bytes"
            ))
            .with_key(key)
            .with_retryable(true));
        }
        commit.store(true, Ordering::SeqCst);
        drop(tx);
        done_rx
            .await
            .map_err(|_| Error::internal("the file writer stopped unexpectedly"))??;
        self.dirty_dirs.lock().expect("dirty dirs").insert(parent);
        Ok(())
    }

    /// Copies `source_key` of another local store to `key` without passing the bytes through
    /// Ferry: staged, size-checked and renamed like a write.
    pub(crate) async fn copy_impl(
        &self,
        source: &LocalStore,
        source_key: &ObjectKey,
        key: &ObjectKey,
        size: u64,
    ) -> Result<()> {
        let source_path = key_path(source.root(), source_key);
        ensure_inside(source.canonical_root()?, &source_path, source_key.as_str())?;
        let writer = self.staged_writer(key, size, Arc::new(AtomicBool::new(true)))?;
        let parent = writer.parent.clone();
        let active = self.active_writers.clone();
        active.fetch_add(1, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(move || {
            let result = writer.copy_from(&source_path);
            active.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(|e| Error::internal(format!("the copy task failed: {e}")))?;
        if result.is_ok() {
            self.dirty_dirs.lock().expect("dirty dirs").insert(parent);
        }
        result
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
            self.known_dirs.lock().expect("known dirs").remove(&d);
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(())
    }

    pub(crate) async fn flush_impl(&self) -> Result<()> {
        // Writers of cancelled copies are still removing their staged files: wait for them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.active_writers.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let dirs: Vec<PathBuf> = std::mem::take(&mut *self.dirty_dirs.lock().expect("dirty dirs"))
            .into_iter()
            .collect();
        let root = self.root().to_path_buf();
        tokio::task::spawn_blocking(move || {
            #[cfg(target_os = "linux")]
            {
                let _ = dirs;
                if root.exists() {
                    sync_filesystem(&root)?;
                }
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = root;
                for dir in dirs {
                    if let Ok(f) = std::fs::File::open(&dir) {
                        f.sync_all().map_err(|e| {
                            Error::from_io(e, format!("syncing folder {}", dir.display()))
                        })?;
                    }
                }
            }
            Ok::<_, Error>(())
        })
        .await
        .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        // The staging folder goes away below: folders are checked (and it is made) again.
        self.known_dirs.lock().expect("known dirs").clear();
        // Leave no empty staging folder behind.
        let _ = tokio::fs::remove_dir(self.staging_dir()).await;
        Ok(())
    }
}
