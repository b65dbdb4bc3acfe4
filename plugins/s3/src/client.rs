//! Building the S3 client for a location: settings → object_store's `AmazonS3` → a Ferry
//! backend with S3's limits and error mapping.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Error, Location, Result};
use ferry_objectstore::{BackendConfig, CopyPolicy, ObjectStoreBackend, UploadPolicy};
use object_store::aws::{AmazonS3Builder, Checksum};
use object_store::{ClientOptions, RetryConfig};

use crate::config::{Flavor, S3Settings, UploadChecksum};
use crate::credentials::provider_for;
use crate::errors::map_error;
use crate::CAPABILITIES;

/// Largest object S3 copies in one CopyObject request.
pub const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;

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

fn client_options(settings: &S3Settings) -> Result<ClientOptions> {
    let mut options = ferry_objectstore::client::client_options(
        settings.request_timeout,
        settings.allow_http,
        settings.ca_cert.as_deref(),
    )?;
    if !settings.resolve.is_empty() {
        options = options.with_dns_resolver(Arc::new(settings.resolve.clone()));
    }
    Ok(options)
}

/// Opens the bucket prefix of `location` (no request is sent but the credential check).
pub async fn open(location: Location, flavor: Flavor) -> Result<ObjectStoreBackend> {
    let mut settings = S3Settings::from_location(&location, flavor)?;
    if settings.region.is_none() {
        settings.region = crate::credentials::chain_region(&settings).await;
    }
    let region = settings.region.clone().ok_or_else(|| {
        Error::invalid_input(format!("the region of {location} is unknown")).with_hint(
            "pass --s3-region (or AWS_REGION), or use the https://<bucket>.s3.<region>.amazonaws.com/ form",
        )
    })?;
    let region_name = region.clone();
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(settings.bucket.clone())
        .with_region(region)
        .with_allow_http(settings.allow_http)
        .with_virtual_hosted_style_request(!settings.path_style)
        .with_client_options(client_options(&settings)?)
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
    let (provider, _bridge) = provider_for(&settings)
        .await
        .map_err(|e| e.with_location(&location))?;
    let copier =
        crate::copy::CrossBucketCopy::new(&settings, &region_name, provider.clone(), &location)?;
    builder = match provider {
        Some(p) => builder.with_credentials(p),
        None => builder.with_skip_signature(true),
    };
    let store = builder.build().map_err(|e| map_error(e, &location, None))?;
    Ok(ObjectStoreBackend::new(BackendConfig {
        prefix: settings.prefix.clone(),
        copy_domain: Some(settings.copy_domain()),
        location,
        store: Arc::new(store),
        copy_store: None,
        map_error,
        capabilities: CAPABILITIES,
        upload: UploadPolicy::S3,
        copy: CopyPolicy {
            max_single_copy: Some(MAX_SINGLE_COPY),
            confirm_after_copy: false,
        },
        container_word: "bucket",
        container: settings.bucket.clone(),
        container_copy: Some(Arc::new(copier)),
    }))
}
