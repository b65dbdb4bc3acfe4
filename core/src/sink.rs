//! The `Sink` trait: where backups are written to.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::location::Location;
use crate::object::ObjectMeta;
use crate::source::Source;
use crate::stream::{ByteStream, ObjectStream};

/// A writable store opened at a [`Location`]. Every key is relative to that location's root.
#[async_trait]
pub trait Sink: Send + Sync + Debug {
    /// The location this sink was opened at.
    fn location(&self) -> &Location;

    /// What this store can do.
    fn capabilities(&self) -> Capabilities;

    /// Checks the destination is usable (exists or can be created, is writable) before any
    /// object is written, so that a bad destination fails with nothing written.
    async fn prepare(&self) -> Result<()> {
        Ok(())
    }

    /// Lists every object under `prefix` (empty, or ending with `/`), recursively.
    async fn list(&self, prefix: &str) -> Result<ObjectStream>;

    /// Metadata of one object, or `None` when it does not exist.
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>>;

    /// Writes `data` under `key`. `size` is the exact number of bytes the stream yields; the
    /// sink fails (and leaves nothing under `key`) when the stream yields more or fewer.
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()>;

    /// Deletes one object (no error when it is already gone).
    async fn delete(&self, key: &ObjectKey) -> Result<()>;

    /// Called once after a batch of writes so stores that defer durability can flush.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// See [`Source::copy_domain`].
    fn copy_domain(&self) -> Option<String> {
        None
    }

    /// The store's own reader, when the store allows reads: the planner reads objects already
    /// at the destination through it (to tell a resumed copy from a conflict) and the verifier
    /// examines and re-reads the copy through it. One opening serves both writing and reading.
    ///
    /// `None` (the default) for a store that grants list and write but no read, as some cloud
    /// upload volumes do: such a store still works as a destination; an object already there
    /// with the same size but no comparable checksum is then a conflict (its bytes cannot be
    /// compared), and verification compares keys, sizes and listed checksums and says that it
    /// could not compare the rest. Stores that implement [`Source`] too return `Some(self)`.
    fn reader(&self) -> Option<&dyn Source> {
        None
    }

    /// Copies `source_key` of `source` (same plugin and copy domain) to `key` inside the store.
    /// `size` is the object's size as listed (it saves a metadata request per object).
    async fn server_side_copy(
        &self,
        source: &dyn Source,
        source_key: &ObjectKey,
        key: &ObjectKey,
        size: u64,
    ) -> Result<()> {
        let _ = (source, source_key, key, size);
        Err(Error::unsupported("this store cannot copy server-side"))
    }
}

/// The source of a server-side copy as the plugin's own store type `T`, or an
/// [`crate::ErrorKind::Unsupported`] error saying the copy needs `what` (for
/// [`Sink::server_side_copy`]: the engine only asks when the copy domains agree, so this is a
/// guard, not a path taken in practice).
pub fn same_plugin_source<'a, T: 'static>(source: &'a dyn Source, what: &str) -> Result<&'a T> {
    source
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| Error::unsupported(format!("a server-side copy needs {what}")))
}
