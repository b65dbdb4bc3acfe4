//! The local store: Source and Sink over one directory.

use std::any::Any;
use std::collections::BTreeSet;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use ferry_core::key::validate_prefix;
use ferry_core::{
    same_plugin_source, ByteRange, ByteStream, Capabilities, Error, Location, ObjectKey,
    ObjectMeta, ObjectStream, Result, Sink, Source,
};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::listing::list_files;
use crate::paths::{ensure_inside, key_path, STAGING_DIR};
use crate::CAPABILITIES;

/// Bytes per chunk when reading files.
pub(crate) const READ_CHUNK: usize = 1024 * 1024;

/// A directory used as a store.
#[derive(Debug)]
pub struct LocalStore {
    location: Location,
    root: PathBuf,
    canonical_root: OnceLock<PathBuf>,
    /// Directories that received renames since the last flush (fsynced by `flush` where the
    /// system has no `syncfs`; on Linux one `syncfs` covers them).
    pub(crate) dirty_dirs: Mutex<BTreeSet<PathBuf>>,
    /// Folders known to exist inside the root (created and checked once per run).
    pub(crate) known_dirs: std::sync::Arc<Mutex<std::collections::HashSet<PathBuf>>>,
    /// Writer threads still running.
    pub(crate) active_writers: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LocalStore {
    fn new(location: Location) -> Result<Self> {
        if !location.is_local() {
            return Err(Error::internal(format!(
                "the local plugin was given {location}"
            )));
        }
        let root = PathBuf::from(&location.path);
        Ok(LocalStore {
            location,
            root,
            canonical_root: OnceLock::new(),
            dirty_dirs: Mutex::new(BTreeSet::new()),
            known_dirs: Default::default(),
            active_writers: Default::default(),
        })
    }

    /// Opens an existing directory for reading.
    pub async fn open_existing(location: Location) -> Result<Self> {
        let store = LocalStore::new(location)?;
        match tokio::fs::metadata(&store.root).await {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid_input(format!(
                    "{} is a file, not a folder",
                    store.location
                ))
                .with_hint("point at the backup folder or the folder that holds backups"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found(format!(
                    "the folder {} does not exist",
                    store.location
                ))
                .with_hint("check the path; relative paths are relative to the current directory"))
            }
            Err(e) => return Err(Error::from_io(e, format!("opening {}", store.location))),
        }
        store.canonical_root()?;
        Ok(store)
    }

    /// A store for writing; the directory is created by [`Sink::prepare`].
    pub fn open_for_writing(location: Location) -> Result<Self> {
        LocalStore::new(location)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn canonical_root(&self) -> Result<&Path> {
        if let Some(p) = self.canonical_root.get() {
            return Ok(p);
        }
        let canonical = std::fs::canonicalize(&self.root)
            .map_err(|e| Error::from_io(e, format!("resolving {}", self.location)))?;
        Ok(self.canonical_root.get_or_init(|| canonical))
    }

    pub(crate) fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING_DIR)
    }

    fn list_impl(&self, prefix: &str) -> Result<ObjectStream> {
        validate_prefix(prefix)?;
        if !self.root.exists() {
            return Ok(futures::stream::empty().boxed());
        }
        let canonical = self.canonical_root()?.to_path_buf();
        let start = if prefix.is_empty() {
            self.root.clone()
        } else {
            key_path(&self.root, &ObjectKey::new(prefix)?)
        };
        Ok(list_files(self.root.clone(), canonical, start))
    }

    async fn stat_impl(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let path = key_path(&self.root, key);
        let link = match tokio::fs::symlink_metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
            Err(e) => {
                return Err(Error::from_io(e, format!("reading {}", path.display())).with_key(key))
            }
        };
        if link.file_type().is_symlink() {
            ensure_inside(self.canonical_root()?, &path, key.as_str())?;
        }
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| Error::from_io(e, format!("reading {}", path.display())).with_key(key))?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mut object = ObjectMeta::new(key.clone(), meta.len());
        object.last_modified = meta.modified().ok();
        Ok(Some(object))
    }

    async fn read_impl(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let path = key_path(&self.root, key);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| Error::from_io(e, format!("opening {}", path.display())).with_key(key))?;
        ensure_inside(self.canonical_root()?, &path, key.as_str())?;
        let stream = match range {
            None => ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
            Some(r) => {
                if r.end < r.start {
                    return Err(Error::invalid_input(format!(
                        "invalid byte range {}..{}",
                        r.start, r.end
                    )));
                }
                file.seek(SeekFrom::Start(r.start)).await.map_err(|e| {
                    Error::from_io(e, format!("seeking in {}", path.display())).with_key(key)
                })?;
                ReaderStream::with_capacity(file.take(r.end - r.start), READ_CHUNK).boxed()
            }
        };
        let shown = path.display().to_string();
        Ok(stream
            .map(move |chunk| chunk.map_err(|e| Error::from_io(e, format!("reading {shown}"))))
            .boxed())
    }
}

#[async_trait]
impl Source for LocalStore {
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix)
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_impl(key).await
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        self.read_impl(key, range).await
    }
    fn copy_domain(&self) -> Option<String> {
        Some(LOCAL_COPY_DOMAIN.to_string())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for LocalStore {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn prepare(&self) -> Result<()> {
        self.prepare_impl().await
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix)
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_impl(key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        self.write_impl(key, size, data).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.delete_impl(key).await
    }
    async fn flush(&self) -> Result<()> {
        self.flush_impl().await
    }
    fn copy_domain(&self) -> Option<String> {
        Some(LOCAL_COPY_DOMAIN.to_string())
    }
    async fn server_side_copy(
        &self,
        source: &dyn Source,
        source_key: &ObjectKey,
        key: &ObjectKey,
        size: u64,
    ) -> Result<()> {
        let from = same_plugin_source::<LocalStore>(source, "a local source")?;
        self.copy_impl(from, source_key, key, size).await
    }
}

/// Every local store of this host shares one copy domain: the kernel copies between them.
const LOCAL_COPY_DOMAIN: &str = "file";
