//! The `Source` trait: where backups are read from.

use std::any::Any;
use std::fmt::Debug;

use async_trait::async_trait;
use futures::StreamExt;

use crate::capabilities::Capabilities;
use crate::error::Result;
use crate::key::ObjectKey;
use crate::location::Location;
use crate::object::ObjectMeta;
use crate::stream::{ByteRange, ByteStream, ObjectStream};

/// The immediate children of a prefix: sub-folders (names without `/`) and objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Children {
    /// Names of the child folders (common prefixes), sorted.
    pub folders: Vec<String>,
    /// Objects directly under the prefix.
    pub objects: Vec<ObjectMeta>,
}

/// A readable store opened at a [`Location`]. Every key is relative to that location's root.
#[async_trait]
pub trait Source: Send + Sync + Debug {
    /// The (redactable) location this source was opened at.
    fn location(&self) -> &Location;

    /// What this store can do.
    fn capabilities(&self) -> Capabilities;

    /// Lists every object under `prefix` (empty, or ending with `/`), recursively, as a stream.
    /// Directory markers (keys ending with `/`) may appear; callers skip them.
    async fn list(&self, prefix: &str) -> Result<ObjectStream>;

    /// Lists the immediate children of `prefix`. The default walks the recursive listing;
    /// stores with delimiter listings should override it.
    async fn list_children(&self, prefix: &str) -> Result<Children> {
        let mut stream = self.list(prefix).await?;
        let mut folders = std::collections::BTreeSet::new();
        let mut objects = Vec::new();
        while let Some(object) = stream.next().await {
            let object = object?;
            let Some(rest) = object.key.as_str().strip_prefix(prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((folder, _)) => {
                    if !folders.contains(folder) {
                        folders.insert(folder.to_string());
                    }
                }
                None => objects.push(object),
            }
        }
        Ok(Children {
            folders: folders.into_iter().collect(),
            objects,
        })
    }

    /// Metadata of one object, or `None` when it does not exist.
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>>;

    /// Reads an object, or the byte `range` of it, as a stream of chunks.
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream>;

    /// An identifier of the store and credentials behind this source; a sink with the same
    /// domain and the `server_side_copy` capability can copy from it without streaming.
    fn copy_domain(&self) -> Option<String> {
        None
    }

    /// The size of the ranged reads in which this store reads large objects fastest, several in
    /// flight at once (remote object stores, where one stream is bound by round trips and by
    /// what one connection carries); `None` (the default) reads every object as one stream.
    fn split_read_chunk(&self) -> Option<u64> {
        None
    }

    /// For plugins that downcast a source of their own kind (server-side copy).
    fn as_any(&self) -> &dyn Any;
}
