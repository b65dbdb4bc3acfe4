//! A GCS bucket prefix as a Ferry Source and Sink.

use std::any::Any;

use async_trait::async_trait;
use ferry_core::key::validate_prefix;
use ferry_core::{
    same_plugin_source, ByteRange, ByteStream, Capabilities, Children, Error, ErrorKind, Location,
    ObjectKey, ObjectMeta, ObjectStream, Result, Sink, Source,
};
use futures::StreamExt;

use crate::api::GcsApi;
use crate::auth::resolve;
use crate::config::GcsSettings;
use crate::CAPABILITIES;

/// A bucket (and prefix) on a GCS endpoint.
#[derive(Debug)]
pub struct GcsStore {
    api: GcsApi,
    settings: GcsSettings,
    /// This store's upload buffer budget and pending cancellations.
    uploads: crate::upload::Uploads,
}

impl GcsStore {
    /// Resolves credentials and builds the client for `location`.
    pub async fn open(location: Location) -> Result<Self> {
        let settings = GcsSettings::from_location(&location)?;
        let credentials = resolve(&settings.auth)
            .await
            .map_err(|e| e.with_location(&location))?;
        // Fail now, with a clear message, rather than on the first request.
        credentials
            .header()
            .await
            .map_err(|e| e.with_location(&location))?;
        let api = GcsApi::new(
            settings.endpoint.clone(),
            settings.bucket.clone(),
            credentials,
            location,
            settings.request_timeout,
        )?;
        Ok(GcsStore {
            api,
            settings,
            uploads: crate::upload::Uploads::default(),
        })
    }

    /// Checks the bucket exists and is readable.
    pub async fn check_bucket(&self) -> Result<()> {
        self.api.check_bucket().await
    }

    fn name_of(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.settings.prefix, key.as_str())
    }

    async fn list_impl(&self, prefix: &str) -> Result<ObjectStream> {
        validate_prefix(prefix)?;
        let full = format!("{}{}", self.settings.prefix, prefix);
        let api = self.api.clone();
        let own = self.settings.prefix.clone();
        // One page at a time: memory stays bounded by the page size.
        let pages = futures::stream::unfold(Some(None::<String>), move |state| {
            let api = api.clone();
            let full = full.clone();
            async move {
                let token = state?;
                match api.list_page(&full, false, token.as_deref()).await {
                    Ok(page) => {
                        let next = page.next.clone().map(Some);
                        Some((Ok(page.objects), next))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            }
        });
        let location = self.api.location.clone();
        Ok(pages
            .flat_map(move |page| {
                let items: Vec<Result<ObjectMeta>> = match page {
                    Err(e) => vec![Err(e)],
                    Ok(objects) => objects
                        .iter()
                        .filter_map(|o| GcsApi::meta_of(&own, o))
                        .map(|r| r.map_err(|e| e.with_location(&location)))
                        .collect(),
                };
                futures::stream::iter(items)
            })
            .boxed())
    }
}

#[async_trait]
impl Source for GcsStore {
    fn location(&self) -> &Location {
        &self.api.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix).await
    }
    async fn list_children(&self, prefix: &str) -> Result<Children> {
        validate_prefix(prefix)?;
        let full = format!("{}{}", self.settings.prefix, prefix);
        let mut children = Children::default();
        let mut token = None;
        loop {
            let page = self.api.list_page(&full, true, token.as_deref()).await?;
            for p in &page.prefixes {
                if let Some(name) = p.strip_prefix(&full).map(|r| r.trim_end_matches('/')) {
                    if !name.is_empty() {
                        children.folders.push(name.to_string());
                    }
                }
            }
            for o in &page.objects {
                if let Some(m) = GcsApi::meta_of(&self.settings.prefix, o).transpose()? {
                    children.objects.push(m);
                }
            }
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        children.folders.sort();
        children.folders.dedup();
        Ok(children)
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        match self.api.get_object(&self.name_of(key)).await? {
            None => Ok(None),
            Some(o) => GcsApi::meta_of(&self.settings.prefix, &o).transpose(),
        }
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        if let Some(r) = &range {
            if r.end < r.start {
                return Err(Error::invalid_input(format!(
                    "invalid byte range {}..{}",
                    r.start, r.end
                )));
            }
            if r.start == r.end {
                return Ok(futures::stream::empty().boxed());
            }
        }
        self.api.download(&self.name_of(key), range).await
    }
    fn copy_domain(&self) -> Option<String> {
        Some(self.settings.copy_domain())
    }
    fn split_read_chunk(&self) -> Option<u64> {
        Some(ferry_core::transfer::split_read::DEFAULT_SPLIT_READ_CHUNK)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for GcsStore {
    fn reader(&self) -> Option<&dyn Source> {
        Some(self)
    }
    fn location(&self) -> &Location {
        &self.api.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn prepare(&self) -> Result<()> {
        self.api.check_bucket().await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                e.with_hint(format!(
                    "the destination bucket {:?} does not exist: create it first (Ferry never creates buckets)",
                    self.settings.bucket
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
        Source::stat(self, key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        crate::upload::upload(
            &self.api,
            &self.uploads,
            &self.name_of(key),
            key,
            size,
            data,
        )
        .await
        .map(|_| ())
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.api.delete(&self.name_of(key)).await
    }
    async fn flush(&self) -> Result<()> {
        self.uploads.wait_for_cancels().await;
        Ok(())
    }
    fn copy_domain(&self) -> Option<String> {
        Some(self.settings.copy_domain())
    }
    async fn server_side_copy(
        &self,
        source: &dyn Source,
        source_key: &ObjectKey,
        key: &ObjectKey,
        _size: u64,
    ) -> Result<()> {
        let from = same_plugin_source::<GcsStore>(source, "a GCS source")?;
        self.api
            .rewrite(
                &from.settings.bucket,
                &from.name_of(source_key),
                &self.name_of(key),
            )
            .await
    }
}
