//! An in-memory store: a real `Source` and `Sink` over a map, for fuzzing, examples and tests
//! that need a store without a filesystem or a server.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;

use crate::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::key::{validate_prefix, ObjectKey};
use crate::location::Location;
use crate::object::ObjectMeta;
use crate::sink::Sink;
use crate::source::Source;
use crate::stream::{ByteRange, ByteStream, ObjectStream};

/// Objects kept in memory, by key.
#[derive(Debug)]
pub struct MemoryStore {
    location: Location,
    objects: Mutex<BTreeMap<ObjectKey, Bytes>>,
}

/// What a memory store can do.
pub const MEMORY_CAPABILITIES: Capabilities = Capabilities {
    list: true,
    read: true,
    range_read: true,
    write: true,
    delete: true,
    atomic_write: true,
    ..Capabilities::NONE
};

impl MemoryStore {
    /// An empty store named `memory://<name>/`.
    pub fn new(name: &str) -> Self {
        let mut location = Location::new("memory", "memory");
        location.bucket = Some(name.to_string());
        MemoryStore {
            location,
            objects: Mutex::new(BTreeMap::new()),
        }
    }

    /// Puts an object directly.
    pub fn insert(&self, key: &str, bytes: impl Into<Bytes>) -> Result<()> {
        let key = ObjectKey::new(key)?;
        self.objects
            .lock()
            .expect("memory store")
            .insert(key, bytes.into());
        Ok(())
    }

    /// A store holding a copy of every file under `dir`, keyed by its path relative to `dir`
    /// (`/`-separated), and located at `dir` (so a backup folder is named after it): a backup
    /// folder on disk read into memory, for tests and examples. A snapshot: files written to
    /// `dir` later are not seen.
    /// Symbolic links and other non-regular files are skipped; a path that is not a valid
    /// [`ObjectKey`] is an error naming it.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self> {
        let store = MemoryStore {
            location: Location::local(dir.to_string_lossy()),
            objects: Mutex::new(BTreeMap::new()),
        };
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            let reading = || format!("reading the folder {}", folder.display());
            let entries = std::fs::read_dir(&folder).map_err(|e| Error::from_io(e, reading()))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::from_io(e, reading()))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| Error::from_io(e, reading()))?;
                let path = entry.path();
                if kind.is_dir() {
                    folders.push(path);
                } else if kind.is_file() {
                    let relative = path.strip_prefix(dir).unwrap_or(&path);
                    let key = relative.to_string_lossy().replace('\\', "/");
                    let bytes = std::fs::read(&path)
                        .map_err(|e| Error::from_io(e, format!("reading {}", path.display())))?;
                    store.insert(&key, bytes)?;
                }
            }
        }
        Ok(store)
    }

    /// Every object of the store, by key.
    pub fn contents(&self) -> BTreeMap<String, Bytes> {
        self.objects
            .lock()
            .expect("memory store")
            .iter()
            .map(|(key, bytes)| (key.as_str().to_string(), bytes.clone()))
            .collect()
    }

    fn get(&self, key: &ObjectKey) -> Option<Bytes> {
        self.objects.lock().expect("memory store").get(key).cloned()
    }
}

#[async_trait]
impl Source for MemoryStore {
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        MEMORY_CAPABILITIES
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        validate_prefix(prefix)?;
        let items: Vec<Result<ObjectMeta>> = self
            .objects
            .lock()
            .expect("memory store")
            .iter()
            .filter(|(k, _)| k.as_str().starts_with(prefix))
            .map(|(k, v)| Ok(ObjectMeta::new(k.clone(), v.len() as u64)))
            .collect();
        Ok(futures::stream::iter(items).boxed())
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        Ok(self
            .get(key)
            .map(|v| ObjectMeta::new(key.clone(), v.len() as u64)))
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let bytes = self
            .get(key)
            .ok_or_else(|| Error::not_found(format!("{key} does not exist")).with_key(key))?;
        let slice = match range {
            None => bytes,
            Some(r) => {
                let end = (r.end as usize).min(bytes.len());
                let start = (r.start as usize).min(end);
                bytes.slice(start..end)
            }
        };
        Ok(futures::stream::iter(vec![Ok(slice)]).boxed())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for MemoryStore {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        MEMORY_CAPABILITIES
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        Source::list(self, prefix).await
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        Source::stat(self, key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, mut data: ByteStream) -> Result<()> {
        let mut buf = Vec::new();
        while let Some(chunk) = data.next().await {
            buf.extend_from_slice(&chunk?);
            if buf.len() as u64 > size {
                return Err(Error::integrity(format!(
                    "more than {size} bytes for {key}"
                )));
            }
        }
        if buf.len() as u64 != size {
            return Err(Error::integrity(format!(
                "{} of {size} bytes for {key}",
                buf.len()
            )));
        }
        self.objects
            .lock()
            .expect("memory store")
            .insert(key.clone(), Bytes::from(buf));
        Ok(())
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.objects.lock().expect("memory store").remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_list_read_range_delete() {
        let m = MemoryStore::new("t");
        m.insert("a/b", &b"hello"[..]).unwrap();
        let k = ObjectKey::new("a/c").unwrap();
        Sink::write(
            &m,
            &k,
            3,
            futures::stream::iter(vec![Ok(Bytes::from_static(b"xyz"))]).boxed(),
        )
        .await
        .unwrap();
        assert!(Sink::write(
            &m,
            &k,
            4,
            futures::stream::iter(vec![Ok(Bytes::from_static(b"xyz"))]).boxed()
        )
        .await
        .is_err());
        let listed: Vec<_> = Source::list(&m, "a/").await.unwrap().collect().await;
        assert_eq!(listed.len(), 2);
        let part = crate::stream::collect_limited(
            m.read(&ObjectKey::new("a/b").unwrap(), Some(1..3))
                .await
                .unwrap(),
            10,
        )
        .await
        .unwrap();
        assert_eq!(&part[..], b"el");
        Sink::delete(&m, &k).await.unwrap();
        assert!(Source::stat(&m, &k).await.unwrap().is_none());
    }
}
