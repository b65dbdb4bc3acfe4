//! A container (bucket) prefix of any `object_store` backend as a Ferry Source and Sink.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::key::validate_prefix;
use ferry_core::{
    same_plugin_source, ByteRange, ByteStream, Capabilities, Children, Error, ErrorKind, Location,
    ObjectKey, ObjectMeta, ObjectStream, Result, Sink, Source,
};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::config::BackendConfig;
use crate::upload::{upload, Uploads};

/// A container prefix on an object store.
pub struct ObjectStoreBackend {
    config: BackendConfig,
    /// This backend's upload buffer budget and pending aborts.
    uploads: Uploads,
}

impl std::fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreBackend")
            .field("location", &self.config.location.to_string())
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

impl ObjectStoreBackend {
    /// Wraps a configured client.
    pub fn new(config: BackendConfig) -> Self {
        ObjectStoreBackend {
            config,
            uploads: Uploads::default(),
        }
    }

    /// The object_store client.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.config.store
    }

    pub(crate) fn map(&self, e: object_store::Error, key: Option<&str>) -> Error {
        self.config.map(e, key)
    }

    /// Checks that the container exists and is readable, retrying transient failures.
    ///
    /// One listing of the location's own level (with a delimiter): its answer holds a few
    /// folder names however large the backup below is, where a recursive listing would make
    /// the server gather a first page of up to 1,000 keys only to have them dropped.
    pub async fn check_container(&self) -> Result<()> {
        let policy = ferry_core::retry::RetryPolicy::default();
        ferry_core::retry::retry(&policy, "checking the container", || async {
            let prefix = self.path_of_prefix("");
            self.config
                .store
                .list_with_delimiter(prefix.as_ref())
                .await
                .map(|_| ())
                .map_err(|e| self.map(e, None))
        })
        .await
    }

    fn path_of(&self, key: &ObjectKey) -> Result<Path> {
        let full = format!("{}{}", self.config.prefix, key.as_str());
        Path::parse(&full).map_err(|e| {
            Error::invalid_input(format!("key {full:?} cannot be addressed: {e}")).with_key(key)
        })
    }

    /// The object_store path of a listing prefix (`None` = the whole container).
    fn path_of_prefix(&self, prefix: &str) -> Option<Path> {
        let full = format!("{}{}", self.config.prefix, prefix);
        let trimmed = full.trim_end_matches('/');
        (!trimmed.is_empty()).then(|| Path::from(trimmed))
    }

    fn to_meta(prefix: &str, meta: object_store::ObjectMeta) -> Option<Result<ObjectMeta>> {
        let rest = meta.location.as_ref().strip_prefix(prefix)?;
        if rest.is_empty() {
            return None;
        }
        Some(ObjectKey::new(rest).map(|key| {
            let mut out = ObjectMeta::new(key, meta.size);
            out.last_modified = Some(meta.last_modified.into());
            out.etag = meta.e_tag;
            out
        }))
    }

    async fn list_impl(&self, prefix: &str) -> Result<ObjectStream> {
        validate_prefix(prefix)?;
        let path = self.path_of_prefix(prefix);
        let location = self.config.location.clone();
        let map_error = self.config.map_error;
        let own_prefix = self.config.prefix.clone();
        let wanted = format!("{}{}", self.config.prefix, prefix);
        let stream = self
            .config
            .store
            .list(path.as_ref())
            .filter_map(move |item| {
                let out = match item {
                    Err(e) => Some(Err(map_error(e, &location, None))),
                    Ok(meta) if !meta.location.as_ref().starts_with(&wanted) => None,
                    Ok(meta) => Self::to_meta(&own_prefix, meta)
                        .map(|r| r.map_err(|e| e.with_location(&location))),
                };
                futures::future::ready(out)
            });
        Ok(stream.boxed())
    }

    async fn stat_impl(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let path = self.path_of(key)?;
        match self.config.store.head(&path).await {
            Ok(meta) => Self::to_meta(&self.config.prefix, meta).transpose(),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.map(e, Some(key.as_str()))),
        }
    }

    async fn read_impl(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let path = self.path_of(key)?;
        let mut options = GetOptions::new();
        if let Some(r) = range {
            if r.end < r.start {
                return Err(Error::invalid_input(format!(
                    "invalid byte range {}..{}",
                    r.start, r.end
                )));
            }
            if r.start == r.end {
                return Ok(futures::stream::empty().boxed());
            }
            options = options.with_range(Some(GetRange::Bounded(r)));
        }
        let result = self
            .config
            .store
            .get_opts(&path, options)
            .await
            .map_err(|e| self.map(e, Some(key.as_str())))?;
        let location = self.config.location.clone();
        let map_error = self.config.map_error;
        let key_text = key.to_string();
        Ok(result
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| map_error(e, &location, Some(&key_text))))
            .boxed())
    }

    /// After a server-side copy: the destination must hold `size` bytes; a copy the service
    /// still runs in the background is waited for (bounded).
    async fn confirm_copy(&self, key: &ObjectKey, size: u64) -> Result<()> {
        for attempt in 0..60u32 {
            if let Some(meta) = self.stat_impl(key).await? {
                if meta.size == size {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10) + 1))).await;
        }
        Err(Error::integrity(format!(
            "the server-side copy of {key} did not finish with {size} bytes"
        ))
        .with_key(key)
        .with_retryable(true))
    }
}

#[async_trait]
impl Source for ObjectStoreBackend {
    fn location(&self) -> &Location {
        &self.config.location
    }
    fn capabilities(&self) -> Capabilities {
        self.config.capabilities
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix).await
    }
    async fn list_children(&self, prefix: &str) -> Result<Children> {
        validate_prefix(prefix)?;
        let path = self.path_of_prefix(prefix);
        let listing = self
            .config
            .store
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|e| self.map(e, None))?;
        let mut children = Children::default();
        for common in listing.common_prefixes {
            if let Some(name) = common.as_ref().rsplit('/').next() {
                children.folders.push(name.to_string());
            }
        }
        children.folders.sort();
        for meta in listing.objects {
            if let Some(m) = Self::to_meta(&self.config.prefix, meta).transpose()? {
                children.objects.push(m);
            }
        }
        Ok(children)
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_impl(key).await
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        self.read_impl(key, range).await
    }
    fn copy_domain(&self) -> Option<String> {
        self.config.copy_domain.clone()
    }
    fn split_read_chunk(&self) -> Option<u64> {
        Some(ferry_core::transfer::split_read::DEFAULT_SPLIT_READ_CHUNK)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for ObjectStoreBackend {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.config.location
    }
    fn capabilities(&self) -> Capabilities {
        self.config.capabilities
    }
    async fn prepare(&self) -> Result<()> {
        self.check_container().await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                let name = self.config.location.bucket.clone().unwrap_or_default();
                e.with_hint(format!(
                    "the destination {} {name:?} does not exist: create it first (Ferry never creates {}s)",
                    self.config.container_word, self.config.container_word
                ))
            } else {
                e
            }
        })
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix).await
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        self.stat_impl(key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        let path = self.path_of(key)?;
        upload(
            &self.config,
            &self.uploads,
            &self.config.upload,
            &path,
            key,
            size,
            data,
        )
        .await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let path = self.path_of(key)?;
        match self.config.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.map(e, Some(key.as_str()))),
        }
    }
    async fn flush(&self) -> Result<()> {
        self.uploads.wait_for_aborts().await;
        Ok(())
    }
    fn copy_domain(&self) -> Option<String> {
        self.config.copy_domain.clone()
    }
    async fn server_side_copy(
        &self,
        source: &dyn Source,
        source_key: &ObjectKey,
        key: &ObjectKey,
        size: u64,
    ) -> Result<()> {
        let from_store =
            same_plugin_source::<ObjectStoreBackend>(source, "a source on the same store")?;
        let from = from_store.path_of(source_key)?;
        let to = self.path_of(key)?;
        if self
            .config
            .copy
            .max_single_copy
            .is_some_and(|max| size > max)
        {
            // Too large for one copy request: stream it through Ferry.
            let body = from_store.read_impl(source_key, None).await?;
            return upload(
                &self.config,
                &self.uploads,
                &self.config.upload,
                &to,
                key,
                size,
                body,
            )
            .await;
        }
        if from_store.config.container != self.config.container {
            let Some(copier) = &self.config.container_copy else {
                return Err(Error::unsupported(format!(
                    "server-side copies between {}s are not supported here",
                    self.config.container_word
                )));
            };
            copier
                .copy(&from_store.config.container, &from, &to)
                .await?;
        } else {
            self.config
                .copy_store
                .as_ref()
                .unwrap_or(&self.config.store)
                .copy(&from, &to)
                .await
                .map_err(|e| self.map(e, Some(key.as_str())))?;
        }
        if self.config.copy.confirm_after_copy {
            self.confirm_copy(key, size).await?;
        }
        Ok(())
    }
}
