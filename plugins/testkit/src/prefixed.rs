//! A view of a store under a sub-folder, so checks that work on whole locations (a migration)
//! stay inside the kit's own folder.

use std::any::Any;
use std::sync::Arc;

use ferry_core::{
    async_trait, ByteRange, ByteStream, Capabilities, Location, ObjectKey, ObjectMeta,
    ObjectStream, Result, Sink, Source,
};
use futures::StreamExt;

/// The objects of `inner` under `prefix`, with keys relative to it.
#[derive(Debug)]
pub struct Prefixed {
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    prefix: String,
    location: Location,
}

impl Prefixed {
    /// The view of `prefix` (ending with `/`) of a source/sink pair.
    pub fn new(source: Arc<dyn Source>, sink: Arc<dyn Sink>, prefix: &str) -> Result<Prefixed> {
        let mut location = sink.location().clone();
        for segment in prefix.split('/').filter(|s| !s.is_empty()) {
            location = location.child(segment)?;
        }
        Ok(Prefixed {
            source,
            sink,
            prefix: prefix.to_string(),
            location,
        })
    }

    fn inner(&self, key: &ObjectKey) -> Result<ObjectKey> {
        ObjectKey::new(format!("{}{}", self.prefix, key.as_str()))
    }

    fn strip(&self, stream: ObjectStream) -> ObjectStream {
        let prefix = self.prefix.clone();
        stream
            .filter_map(move |item| {
                let prefix = prefix.clone();
                async move {
                    match item {
                        Ok(mut meta) => {
                            let rest = meta.key.as_str().strip_prefix(&prefix)?.to_string();
                            meta.key = ObjectKey::new(rest).ok()?;
                            Some(Ok(meta))
                        }
                        Err(e) => Some(Err(e)),
                    }
                }
            })
            .boxed()
    }

    fn with_inner_meta(&self, meta: Option<ObjectMeta>, key: &ObjectKey) -> Option<ObjectMeta> {
        meta.map(|mut m| {
            m.key = key.clone();
            m
        })
    }
}

#[async_trait]
impl Source for Prefixed {
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            server_side_copy: false,
            ..self.source.capabilities()
        }
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        let stream = self
            .source
            .list(&format!("{}{prefix}", self.prefix))
            .await?;
        Ok(self.strip(stream))
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let meta = self.source.stat(&self.inner(key)?).await?;
        Ok(self.with_inner_meta(meta, key))
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        self.source.read(&self.inner(key)?, range).await
    }
    fn split_read_chunk(&self) -> Option<u64> {
        self.source.split_read_chunk()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for Prefixed {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            server_side_copy: false,
            ..self.sink.capabilities()
        }
    }
    async fn prepare(&self) -> Result<()> {
        self.sink.prepare().await
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        let stream = self.sink.list(&format!("{}{prefix}", self.prefix)).await?;
        Ok(self.strip(stream))
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let meta = self.sink.stat(&self.inner(key)?).await?;
        Ok(self.with_inner_meta(meta, key))
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        self.sink.write(&self.inner(key)?, size, data).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.sink.delete(&self.inner(key)?).await
    }
    async fn flush(&self) -> Result<()> {
        self.sink.flush().await
    }
}
