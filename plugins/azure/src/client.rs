//! Building the Azure client for a location: settings → object_store's `MicrosoftAzure` → a
//! Ferry backend with Azure's limits and error mapping.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Location, Result};
use ferry_objectstore::{BackendConfig, CopyPolicy, ObjectStoreBackend, UploadPolicy};
use object_store::azure::{AzureCredentialProvider, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::{ClientOptions, RetryConfig};

use crate::config::AzureSettings;
use crate::credentials::credentials_for;
use crate::errors::map_error;
use crate::CAPABILITIES;

/// Largest blob one Put Blob From URL copies.
pub const MAX_SINGLE_COPY: u64 = 5000 * 1024 * 1024;

fn client_options(settings: &AzureSettings) -> Result<ClientOptions> {
    ferry_objectstore::client::client_options(
        settings.request_timeout,
        settings.allow_http,
        settings.ca_cert.as_deref(),
    )
}

fn build(
    settings: &AzureSettings,
    credentials: AzureCredentialProvider,
    location: &Location,
) -> Result<MicrosoftAzure> {
    MicrosoftAzureBuilder::new()
        .with_account(settings.account.clone())
        .with_container_name(settings.container.clone())
        .with_endpoint(settings.endpoint.clone())
        .with_allow_http(settings.allow_http)
        .with_client_options(client_options(settings)?)
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        })
        .with_credentials(credentials)
        .build()
        .map_err(|e| map_error(e, location, None))
}

/// Opens the container prefix of `location`.
pub async fn open(location: Location) -> Result<ObjectStoreBackend> {
    let settings = AzureSettings::from_location(&location)?;
    let credentials = credentials_for(&settings)
        .await
        .map_err(|e| e.with_location(&location))?;
    let store = build(&settings, credentials.main, &location)?;
    let copy_store = credentials
        .copy
        .map(|c| build(&settings, c, &location))
        .transpose()?;
    Ok(ObjectStoreBackend::new(BackendConfig {
        prefix: settings.prefix.clone(),
        copy_domain: copy_store.as_ref().map(|_| settings.copy_domain()),
        copy_store: copy_store.map(|s| Arc::new(s) as Arc<dyn object_store::ObjectStore>),
        store: Arc::new(store),
        location,
        map_error,
        capabilities: CAPABILITIES,
        upload: UploadPolicy::AZURE,
        copy: CopyPolicy {
            max_single_copy: Some(MAX_SINGLE_COPY),
            confirm_after_copy: true,
        },
        container_word: "container",
        container: settings.container.clone(),
        container_copy: None,
    }))
}
