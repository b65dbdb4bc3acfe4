//! Credentials for the S3 client: static keys (with an optional session token), or aws-config's
//! providers (profiles, SSO, credential_process, web identity, ECS, IMDS; AssumeRole on top),
//! bridged into object_store's `CredentialProvider` with a cache that refreshes before expiry.
//!
//! object_store asks for a credential before every request and does not cache custom
//! providers, so [`RefreshingCredentials`] keeps the current credential and fetches a new one
//! behind an async mutex (one fetch however many requests wait) once the current one is close
//! to expiry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::sts::AssumeRoleProvider;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use ferry_core::{Error, ErrorKind, Result};
use object_store::aws::{AwsCredential, AwsCredentialProvider};
use object_store::{CredentialProvider, StaticCredentialProvider};

use crate::config::{CredentialSource, S3Settings};

/// Refresh when less than this is left, or a quarter of the lifetime, whichever is smaller.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

struct Cached {
    credential: Arc<AwsCredential>,
    expiry: Option<SystemTime>,
    refresh_at: Option<SystemTime>,
}

/// aws-config credentials, cached and refreshed before they expire (single flight).
pub struct RefreshingCredentials {
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for RefreshingCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingCredentials")
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RefreshingCredentials {
    /// Wraps an aws-config provider.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        RefreshingCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times credentials were fetched from the provider.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The current credential, fetching a new one when none is cached or it is about to expire.
    pub async fn current(&self) -> Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some(c) = cached.as_ref() {
            if c.refresh_at.is_none_or(|at| now < at) {
                return Ok(c.credential.clone());
            }
        }
        let fetched = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| credential_error(&e));
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                // A credential that has not expired yet still works: keep using it.
                if let Some(c) = cached.as_ref() {
                    if c.expiry.is_some_and(|exp| now < exp) {
                        tracing::warn!(error = %e, "refreshing S3 credentials failed; using the current ones until they expire");
                        return Ok(c.credential.clone());
                    }
                }
                return Err(e);
            }
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let expiry = fetched.expiry();
        let refresh_at = expiry.map(|exp| {
            let life = exp.duration_since(now).unwrap_or_default();
            exp - REFRESH_BEFORE.min(life / 4)
        });
        let credential = Arc::new(AwsCredential {
            key_id: fetched.access_key_id().to_string(),
            secret_key: fetched.secret_access_key().to_string(),
            token: fetched.session_token().map(str::to_string),
        });
        tracing::debug!(expires = ?expiry, "fetched S3 credentials");
        *cached = Some(Cached {
            credential: credential.clone(),
            expiry,
            refresh_at,
        });
        Ok(credential)
    }
}

#[async_trait::async_trait]
impl CredentialProvider for RefreshingCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.current()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
    }
}

/// Turns an aws-config failure into a clear error listing what was tried.
fn credential_error(e: &aws_credential_types::provider::error::CredentialsError) -> Error {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let kind = match e {
        aws_credential_types::provider::error::CredentialsError::ProviderTimedOut(_) => {
            ErrorKind::Transient
        }
        _ => ErrorKind::PermissionDenied,
    };
    Error::new(kind, format!("no usable S3 credentials: {text}"))
        .with_hint("give keys with --s3-access-key-id/--s3-secret-access-key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (per side: --src-…/--dst-…, FERRY_SRC_…/FERRY_DST_…), a profile with --s3-profile, or a role with --s3-role-arn; see docs/storage.md for the order Ferry tries them")
}

/// The credential provider for `settings`, and the refreshing bridge when aws-config is used.
pub async fn provider_for(
    settings: &S3Settings,
) -> Result<(
    Option<AwsCredentialProvider>,
    Option<Arc<RefreshingCredentials>>,
)> {
    let base: Option<SharedCredentialsProvider> = match &settings.credentials {
        CredentialSource::Anonymous => return Ok((None, None)),
        CredentialSource::Static {
            key_id,
            secret,
            token,
        } => {
            if settings.role.is_none() {
                let credential = AwsCredential {
                    key_id: key_id.expose().to_string(),
                    secret_key: secret.expose().to_string(),
                    token: token.as_ref().map(|t| t.expose().to_string()),
                };
                let provider: AwsCredentialProvider =
                    Arc::new(StaticCredentialProvider::new(credential));
                return Ok((Some(provider), None));
            }
            Some(SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    key_id.expose(),
                    secret.expose(),
                    token.as_ref().map(|t| t.expose().to_string()),
                    None,
                    "ferry-static",
                ),
            ))
        }
        CredentialSource::Chain => None,
    };
    let sdk = sdk_config(settings).await;
    let provider: SharedCredentialsProvider = match (&settings.role, base) {
        (Some(role), _) if role.web_identity_token_file.is_some() => {
            let conf = aws_config::provider_config::ProviderConfig::default()
                .with_region(sdk.region().cloned());
            let web = WebIdentityTokenCredentialsProvider::builder()
                .static_configuration(StaticConfiguration {
                    web_identity_token_file: role
                        .web_identity_token_file
                        .clone()
                        .unwrap_or_default()
                        .into(),
                    role_arn: role.arn.clone(),
                    session_name: role.session_name.clone(),
                })
                .configure(&conf)
                .build();
            SharedCredentialsProvider::new(web)
        }
        (Some(role), base) => {
            let mut builder = AssumeRoleProvider::builder(role.arn.clone())
                .session_name(role.session_name.clone())
                .configure(&sdk);
            if let Some(id) = &role.external_id {
                builder = builder.external_id(id.clone());
            }
            if let Some(d) = role.duration {
                builder = builder.session_length(d);
            }
            if let Some(region) = sdk.region() {
                builder = builder.region(region.clone());
            }
            let base = match base.or_else(|| sdk.credentials_provider()) {
                Some(b) => b,
                None => return Err(no_chain()),
            };
            SharedCredentialsProvider::new(builder.build_from_provider(base).await)
        }
        (None, Some(base)) => base,
        (None, None) => sdk.credentials_provider().ok_or_else(no_chain)?,
    };
    let bridge = Arc::new(RefreshingCredentials::new(provider));
    // Fail now, with a clear message, rather than on the first request.
    bridge.current().await?;
    Ok((Some(bridge.clone() as AwsCredentialProvider), Some(bridge)))
}

fn no_chain() -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        "no S3 credential provider is configured",
    )
    .with_hint("give keys, a profile or a role (docs/storage.md)")
}

/// S3 requests are signed with keys, never with bearer tokens: given to aws-config in place of
/// its default token chain, whose region lookup would otherwise ask the instance metadata
/// service when no region is configured.
#[derive(Debug)]
struct NoBearerToken;

impl aws_credential_types::provider::token::ProvideToken for NoBearerToken {
    fn provide_token<'a>(&'a self) -> aws_credential_types::provider::future::ProvideToken<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideToken::ready(Err(
            aws_credential_types::provider::error::TokenError::not_loaded(
                "S3 signs requests with keys, not bearer tokens",
            ),
        ))
    }
}

/// Whether aws-config may ask the EC2 instance metadata service (169.254.169.254) for
/// credentials and the region: only when asked (`--s3-imds`) or on an EC2 instance, as the
/// GCS and Azure plugins contact their metadata servers only on their clouds. Elsewhere (a
/// laptop, another cloud) the request would wait for a timeout and end in a warning.
fn imds_allowed(settings: &S3Settings) -> bool {
    settings.imds || on_ec2()
}

/// An EC2 instance says so in its DMI data (Nitro: vendor "Amazon EC2", asset tag `i-…`) or,
/// on Xen instances, in its hypervisor UUID (`ec2…`).
fn on_ec2() -> bool {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    read("/sys/devices/virtual/dmi/id/sys_vendor").trim() == "Amazon EC2"
        || read("/sys/devices/virtual/dmi/id/board_asset_tag")
            .trim()
            .starts_with("i-")
        || read("/sys/hypervisor/uuid").trim().starts_with("ec2")
}

async fn sdk_config(settings: &S3Settings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if !imds_allowed(settings) {
        // aws-config's default chains without their last link, the instance metadata service.
        let mut profile_region = aws_config::profile::region::ProfileFileRegionProvider::builder();
        if let Some(profile) = &settings.profile {
            profile_region = profile_region.profile_name(profile);
        }
        let region = aws_config::meta::region::RegionProviderChain::first_try(
            settings.region.clone().map(Region::new),
        )
        .or_else(aws_config::environment::region::EnvironmentVariableRegionProvider::new())
        .or_else(profile_region.build());
        // The credential providers sign their own requests (STS for roles): they need the region.
        let conf = aws_config::provider_config::ProviderConfig::default()
            .with_region(aws_config::meta::region::ProvideRegion::region(&region).await);
        let mut profile_credentials =
            aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&conf);
        if let Some(profile) = &settings.profile {
            profile_credentials = profile_credentials.profile_name(profile);
        }
        let credentials = aws_config::meta::credentials::CredentialsProviderChain::first_try(
            "Environment",
            aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else("Profile", profile_credentials.build())
        .or_else(
            "WebIdentityToken",
            WebIdentityTokenCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        )
        .or_else(
            "EcsContainer",
            aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        );
        loader = loader
            .credentials_provider(credentials)
            .region(region)
            .token_provider(NoBearerToken);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(sts) = &settings.sts_endpoint {
        loader = loader.endpoint_url(sts.clone());
    }
    loader.load().await
}

/// The region from aws-config's chain (profile, environment), for AWS locations that name none.
pub async fn chain_region(settings: &S3Settings) -> Option<String> {
    sdk_config(settings).await.region().map(|r| r.to_string())
}
