//! An S3 bucket prefix as a Ferry Source and Sink.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::key::validate_prefix;
use ferry_core::{
    ByteRange, ByteStream, Capabilities, Children, Error, Location, ObjectKey, ObjectMeta,
    ObjectStream, Result, Sink, Source,
};
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig};

use crate::config::{Flavor, S3Settings, UploadChecksum};
use crate::credentials::{provider_for, RefreshingCredentials};
use crate::errors::map_error;
use crate::CAPABILITIES;

/// Largest object S3 copies in one CopyObject request.
pub const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// A bucket (and prefix) on an S3 endpoint.
pub struct S3Store {
    location: Location,
    settings: S3Settings,
    store: Arc<AmazonS3>,
    credentials: Option<Arc<RefreshingCredentials>>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location.to_string())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Builds the client for `location` (no request is sent but the credential check).
    pub async fn open(location: Location, flavor: Flavor) -> Result<Self> {
        let mut settings = S3Settings::from_location(&location, flavor)?;
        if settings.region.is_none() {
            settings.region = crate::credentials::chain_region(&settings).await;
        }
        let region = settings.region.clone().ok_or_else(|| {
            Error::invalid_input(format!("the region of {location} is unknown"))
                .with_hint("pass --s3-region (or AWS_REGION), or use the https://<bucket>.s3.<region>.amazonaws.com/ form")
        })?;
        let mut options = ClientOptions::new()
            .with_timeout(settings.request_timeout)
            .with_connect_timeout(Duration::from_secs(10))
            .with_allow_http(settings.allow_http);
        if !settings.resolve.is_empty() {
            options = options.with_dns_resolver(Arc::new(settings.resolve.clone()));
        }
        if let Some(path) = &settings.ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| Error::from_io(e, format!("reading the CA certificate {path}")))?;
            let certs = object_store::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::invalid_input(format!("{path} is not a PEM certificate bundle: {e}"))
            })?;
            for cert in certs {
                options = options.with_root_certificate(cert);
            }
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(settings.bucket.clone())
            .with_region(region)
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_client_options(options)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(60),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            let endpoint = if settings.path_style {
                endpoint.clone()
            } else {
                virtual_hosted_endpoint(endpoint, &settings.bucket)?
            };
            builder = builder.with_endpoint(endpoint);
        }
        builder = match settings.checksum {
            UploadChecksum::None => builder,
            UploadChecksum::Sha256 => builder.with_checksum_algorithm(Checksum::SHA256),
            UploadChecksum::Crc64Nvme => builder.with_checksum_algorithm(Checksum::CRC64NVME),
        };
        let (provider, credentials) = provider_for(&settings)
            .await
            .map_err(|e| e.with_location(&location))?;
        builder = match provider {
            Some(p) => builder.with_credentials(p),
            None => builder.with_skip_signature(true),
        };
        let store = builder.build().map_err(|e| map_error(e, &location, None))?;
        Ok(S3Store {
            location,
            settings,
            store: Arc::new(store),
            credentials,
        })
    }

    /// How often credentials were fetched (refreshes); 0 for static keys.
    pub fn credential_fetches(&self) -> u64 {
        self.credentials.as_ref().map(|c| c.fetches()).unwrap_or(0)
    }

    /// Checks that the bucket exists and is readable (one small listing), so a bad source fails
    /// before anything else happens.
    pub async fn check_bucket(&self) -> Result<()> {
        let prefix = self.path_of_prefix("");
        let mut stream = self.store.list(prefix.as_ref());
        match stream.next().await {
            Some(Err(e)) => Err(map_error(e, &self.location, None)),
            _ => Ok(()),
        }
    }

    fn full_key(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.settings.prefix, key.as_str())
    }

    fn path_of(&self, key: &ObjectKey) -> Result<Path> {
        let full = self.full_key(key);
        Path::parse(&full).map_err(|e| {
            Error::invalid_input(format!("key {full:?} cannot be addressed: {e}")).with_key(key)
        })
    }

    /// The object_store path of a listing prefix (`None` = the whole bucket).
    fn path_of_prefix(&self, prefix: &str) -> Option<Path> {
        let full = format!("{}{}", self.settings.prefix, prefix);
        let trimmed = full.trim_end_matches('/');
        (!trimmed.is_empty()).then(|| Path::from(trimmed))
    }

    /// The key of an object_store path relative to this store's prefix.
    fn relative_key(&self, path: &Path) -> Result<Option<ObjectKey>> {
        let full = path.as_ref();
        let Some(rest) = full.strip_prefix(self.settings.prefix.as_str()) else {
            return Ok(None);
        };
        if rest.is_empty() {
            return Ok(None);
        }
        ObjectKey::new(rest).map(Some)
    }

    fn meta_of(&self, meta: object_store::ObjectMeta) -> Result<Option<ObjectMeta>> {
        let Some(key) = self.relative_key(&meta.location)? else {
            return Ok(None);
        };
        let mut out = ObjectMeta::new(key, meta.size);
        out.last_modified = Some(meta.last_modified.into());
        out.etag = meta.e_tag;
        Ok(Some(out))
    }

    pub(crate) fn object_store(&self) -> &Arc<AmazonS3> {
        &self.store
    }

    pub(crate) fn location_ref(&self) -> &Location {
        &self.location
    }

    async fn list_impl(&self, prefix: &str) -> Result<ObjectStream> {
        validate_prefix(prefix)?;
        let path = self.path_of_prefix(prefix);
        let store = self.store.clone();
        let location = self.location.clone();
        let this_prefix = self.settings.prefix.clone();
        let wanted = format!("{}{}", self.settings.prefix, prefix);
        let stream = store.list(path.as_ref()).filter_map(move |item| {
            let location = location.clone();
            let this_prefix = this_prefix.clone();
            let wanted = wanted.clone();
            async move {
                match item {
                    Err(e) => Some(Err(map_error(e, &location, None))),
                    Ok(meta) => {
                        let full = meta.location.as_ref();
                        if !full.starts_with(&wanted) {
                            return None;
                        }
                        let rest = &full[this_prefix.len()..];
                        match ObjectKey::new(rest) {
                            Ok(key) => {
                                let mut out = ObjectMeta::new(key, meta.size);
                                out.last_modified = Some(meta.last_modified.into());
                                out.etag = meta.e_tag;
                                Some(Ok(out))
                            }
                            Err(e) => Some(Err(e.with_location(&location))),
                        }
                    }
                }
            }
        });
        Ok(stream.boxed())
    }

    async fn stat_impl(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let path = self.path_of(key)?;
        match self.store.head(&path).await {
            Ok(meta) => self.meta_of(meta),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(map_error(e, &self.location, Some(key.as_str()))),
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
            .store
            .get_opts(&path, options)
            .await
            .map_err(|e| map_error(e, &self.location, Some(key.as_str())))?;
        let location = self.location.clone();
        let key_text = key.to_string();
        Ok(result
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| map_error(e, &location, Some(&key_text))))
            .boxed())
    }
}

/// `http://host:port` → `http://bucket.host:port` for virtual-hosted requests.
fn virtual_hosted_endpoint(endpoint: &str, bucket: &str) -> Result<String> {
    let (scheme, host) = endpoint
        .split_once("://")
        .ok_or_else(|| Error::invalid_input(format!("S3 endpoint {endpoint:?} has no scheme")))?;
    if host.starts_with(&format!("{bucket}.")) {
        return Ok(endpoint.to_string());
    }
    Ok(format!("{scheme}://{bucket}.{host}"))
}

#[async_trait]
impl Source for S3Store {
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        self.list_impl(prefix).await
    }
    async fn list_children(&self, prefix: &str) -> Result<Children> {
        validate_prefix(prefix)?;
        let path = self.path_of_prefix(prefix);
        let listing = self
            .store
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|e| map_error(e, &self.location, None))?;
        let mut children = Children::default();
        for common in listing.common_prefixes {
            if let Some(name) = common.as_ref().rsplit('/').next() {
                children.folders.push(name.to_string());
            }
        }
        children.folders.sort();
        for meta in listing.objects {
            if let Some(m) = self.meta_of(meta)? {
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
        Some(self.settings.copy_domain())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl Sink for S3Store {
    fn location(&self) -> &Location {
        &self.location
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    async fn prepare(&self) -> Result<()> {
        self.check_bucket().await.map_err(|e| {
            if e.kind() == ferry_core::ErrorKind::NotFound {
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
        self.stat_impl(key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        let path = self.path_of(key)?;
        crate::upload::upload(self, &path, key, size, data).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let path = self.path_of(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_error(e, &self.location, Some(key.as_str()))),
        }
    }
    async fn flush(&self) -> Result<()> {
        crate::upload::wait_for_aborts().await;
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
    ) -> Result<()> {
        let Some(from_store) = source.as_any().downcast_ref::<S3Store>() else {
            return Err(Error::unsupported("server-side copy needs an S3 source"));
        };
        let from = from_store.path_of(source_key)?;
        let to = self.path_of(key)?;
        let size = match from_store.stat_impl(source_key).await? {
            Some(m) => m.size,
            None => {
                return Err(
                    Error::not_found(format!("{source_key} vanished from the source"))
                        .with_key(source_key),
                )
            }
        };
        if size > MAX_SINGLE_COPY {
            // One CopyObject is limited to 5 GiB: stream larger objects through Ferry.
            let body = from_store.read_impl(source_key, None).await?;
            return crate::upload::upload(self, &to, key, size, body).await;
        }
        self.store
            .copy(&from, &to)
            .await
            .map_err(|e| map_error(e, &self.location, Some(key.as_str())))
    }
}
