//! A store opened through a loaded plugin, as a [`Source`] and a [`Sink`]. Every plugin call
//! runs on tokio's blocking pool; bodies and listings flow through bounded channels, so memory
//! stays bounded and the engine's concurrency applies unchanged.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::calls::Handle;
use crate::library::PluginLibrary;
use ferry_core::capabilities::Capabilities;
use ferry_core::error::{Error, Result};
use ferry_core::key::ObjectKey;
use ferry_core::location::Location;
use ferry_core::object::ObjectMeta;
use ferry_core::sink::Sink;
use ferry_core::source::Source;
use ferry_core::stream::{ByteRange, ByteStream, ObjectStream};

/// Bytes the host hands a plugin per `read_chunk`.
pub const READ_BUFFER: usize = 1024 * 1024;
/// Chunks in flight between the plugin thread and the engine, per stream.
const CHANNEL_DEPTH: usize = 2;
/// Listed objects buffered ahead of the consumer.
const LIST_DEPTH: usize = 256;

/// A store opened by a loaded plugin.
pub struct ExternalStore {
    library: Arc<PluginLibrary>,
    handle: Handle,
    location: Location,
}

impl std::fmt::Debug for ExternalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalStore")
            .field("plugin", &self.library.name())
            .field("location", &self.location)
            .finish()
    }
}

impl Drop for ExternalStore {
    fn drop(&mut self) {
        // Closing may block (a plugin joining its own threads): keep it off async threads.
        let (lib, handle) = (self.library.clone(), self.handle);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || lib.call_close(handle));
            }
            Err(_) => lib.call_close(handle),
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("a plugin call did not complete: {e}")))?
}

/// The `key = value` pairs a plugin's `open` receives for `location`.
pub fn open_config(location: &Location) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("scheme".to_string(), location.scheme.clone()),
        ("path".to_string(), location.path.clone()),
    ];
    let optional = [
        ("host", &location.bucket),
        ("endpoint", &location.endpoint),
        ("account", &location.account),
        ("region", &location.region),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            pairs.push((key.to_string(), v.clone()));
        }
    }
    let mut options = location.defaults.clone();
    options.extend(location.options.clone());
    for (k, v) in options {
        pairs.push((format!("option.{k}"), v));
    }
    for (k, v) in &location.secrets {
        pairs.push((format!("option.{k}"), v.expose().to_string()));
    }
    pairs
}

impl ExternalStore {
    /// Opens `location` with the plugin in `library`.
    pub async fn open(library: Arc<PluginLibrary>, location: Location) -> Result<ExternalStore> {
        let config = open_config(&location);
        let lib = library.clone();
        let handle = blocking(move || lib.call_open(&config))
            .await
            .map_err(|e| e.with_location(&location))?;
        Ok(ExternalStore {
            library,
            handle,
            location,
        })
    }

    fn with_location(&self, e: Error) -> Error {
        e.with_location(&self.location)
    }

    async fn list_objects(&self, prefix: &str) -> Result<ObjectStream> {
        let (tx, rx) = mpsc::channel::<Result<ObjectMeta>>(LIST_DEPTH);
        let lib = self.library.clone();
        let handle = self.handle;
        let owned_prefix = prefix.to_string();
        let location = self.location.clone();
        tokio::task::spawn_blocking(move || {
            let mut each = |item: Result<ObjectMeta>| match item {
                Ok(meta) if !meta.key.as_str().starts_with(&owned_prefix) => true,
                other => tx.blocking_send(other).is_ok(),
            };
            if let Err(e) = lib.call_list(handle, &owned_prefix, &mut each) {
                let _ = tx.blocking_send(Err(e.with_location(&location)));
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed())
    }

    async fn stat_object(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let (lib, handle, key_owned) = (self.library.clone(), self.handle, key.clone());
        blocking(move || lib.call_stat(handle, &key_owned))
            .await
            .map_err(|e| self.with_location(e))
    }
}

/// Streams a reader's chunks through a bounded channel, closing it at the end or when the
/// consumer goes away.
fn pump_reader(
    lib: Arc<PluginLibrary>,
    reader: Handle,
    key: ObjectKey,
    tx: mpsc::Sender<Result<Bytes>>,
) {
    let mut buffer = BytesMut::new();
    loop {
        if buffer.capacity() < READ_BUFFER / 4 {
            buffer = BytesMut::with_capacity(READ_BUFFER);
        }
        let spare = buffer.capacity() - buffer.len();
        buffer.resize(spare, 0);
        let outcome = lib.call_read_chunk(reader, &mut buffer, &key);
        match outcome {
            Ok(0) => break,
            Ok(n) => {
                let chunk = buffer.split_to(n).freeze();
                buffer.clear();
                if tx.blocking_send(Ok(chunk)).is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        }
    }
    lib.call_read_close(reader);
}

#[async_trait]
impl Source for ExternalStore {
    fn location(&self) -> &Location {
        &self.location
    }

    fn capabilities(&self) -> Capabilities {
        self.library.capabilities()
    }

    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_objects(prefix).await
    }

    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_object(key).await
    }

    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let (offset, length) = match &range {
            Some(r) => {
                if !self.library.capabilities().range_read {
                    return Err(Error::unsupported(format!(
                        "plugin {} cannot read byte ranges",
                        self.library.name()
                    )));
                }
                (r.start, Some(r.end.saturating_sub(r.start)))
            }
            None => (0, None),
        };
        let (lib, handle, key_owned) = (self.library.clone(), self.handle, key.clone());
        let reader = blocking(move || lib.call_read_open(handle, &key_owned, offset, length))
            .await
            .map_err(|e| self.with_location(e))?;
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let (lib, key_owned) = (self.library.clone(), key.clone());
        tokio::task::spawn_blocking(move || pump_reader(lib, reader, key_owned, tx));
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

enum WriteMessage {
    Data(Bytes),
    Commit,
}

#[async_trait]
impl Sink for ExternalStore {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.location
    }

    fn capabilities(&self) -> Capabilities {
        self.library.capabilities()
    }

    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_objects(prefix).await
    }

    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_object(key).await
    }

    async fn write(&self, key: &ObjectKey, size: u64, mut data: ByteStream) -> Result<()> {
        let (tx, mut rx) = mpsc::channel::<WriteMessage>(CHANNEL_DEPTH);
        let (lib, handle, key_owned) = (self.library.clone(), self.handle, key.clone());
        let worker = tokio::task::spawn_blocking(move || -> Result<()> {
            let writer = lib.call_write_open(handle, &key_owned, size)?;
            loop {
                match rx.blocking_recv() {
                    Some(WriteMessage::Data(chunk)) => {
                        if let Err(e) = lib.call_write_chunk(writer, &chunk, &key_owned) {
                            let _ = lib.call_write_finish(writer, false, &key_owned);
                            return Err(e);
                        }
                    }
                    Some(WriteMessage::Commit) => {
                        return lib.call_write_finish(writer, true, &key_owned);
                    }
                    None => {
                        lib.call_write_finish(writer, false, &key_owned)?;
                        return Err(Error::interrupted("the write was abandoned"));
                    }
                }
            }
        });
        let mut written = 0u64;
        let mut failure = None;
        while let Some(chunk) = data.next().await {
            match chunk {
                Ok(chunk) if chunk.is_empty() => {}
                Ok(chunk) => {
                    written += chunk.len() as u64;
                    if written > size {
                        failure = Some(Error::integrity(format!(
                            "the data is longer than the {size} bytes announced"
                        )));
                        break;
                    }
                    if tx.send(WriteMessage::Data(chunk)).await.is_err() {
                        break; // the worker stopped: its error is below
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() && written == size {
            let _ = tx.send(WriteMessage::Commit).await;
        } else if failure.is_none() && !tx.is_closed() {
            failure = Some(Error::integrity(format!(
                "the data ended after {written} of the {size} bytes announced"
            )));
        }
        drop(tx);
        let outcome = worker
            .await
            .map_err(|e| Error::internal(format!("a plugin write did not complete: {e}")))?;
        match (failure, outcome) {
            (Some(e), _) => Err(self.with_location(e.with_key(key))),
            (None, Err(e)) => Err(self.with_location(e)),
            (None, Ok(())) => Ok(()),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let (lib, handle, key_owned) = (self.library.clone(), self.handle, key.clone());
        blocking(move || lib.call_delete(handle, &key_owned))
            .await
            .map_err(|e| self.with_location(e))
    }
}
