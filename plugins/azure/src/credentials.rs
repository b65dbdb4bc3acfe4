//! Credentials for the Azure client: static ones (account key, SAS, bearer token) and
//! `azure_identity` ones (service principal, workload identity, managed identity, Azure CLI)
//! bridged into object_store with a cache refreshed before expiry (single flight); plus a
//! provider of service SAS tokens signed with the account key, for authorised server-side copies.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::credentials::TokenCredential;
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use ferry_core::{Error, ErrorKind, Result, Secret};
use object_store::azure::{AzureAccessKey, AzureCredential, AzureCredentialProvider};
use object_store::{CredentialProvider, StaticCredentialProvider};

use crate::config::{AzureAuth, AzureSettings};
use crate::sas::sign_container_sas;

/// The OAuth scope of Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
/// Refresh when less than this is left, or a quarter of the lifetime, whichever is smaller.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// Lifetime of the SAS tokens Ferry signs for copies.
const SIGNED_SAS_LIFETIME: Duration = Duration::from_secs(2 * 3600);

fn as_store_error(e: Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "MicrosoftAzure",
        source: Box::new(e),
    }
}

struct CachedToken {
    credential: Arc<AzureCredential>,
    refresh_at: SystemTime,
}

/// An `azure_identity` credential, cached and refreshed before it expires.
pub struct TokenBridge {
    credential: Arc<dyn TokenCredential>,
    what: &'static str,
    cached: tokio::sync::Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for TokenBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBridge")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl TokenBridge {
    /// Wraps a token credential; `what` names it in errors.
    pub fn new(credential: Arc<dyn TokenCredential>, what: &'static str) -> Self {
        TokenBridge {
            credential,
            what,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The current token, fetching a new one when none is cached or it is about to expire.
    pub async fn current(&self) -> Result<Arc<AzureCredential>> {
        let mut cached = self.cached.lock().await;
        let now = SystemTime::now();
        if let Some(c) = cached.as_ref() {
            if now < c.refresh_at {
                return Ok(c.credential.clone());
            }
        }
        let token = self
            .credential
            .get_token(&[STORAGE_SCOPE], None)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::PermissionDenied,
                    format!("no Azure token from {}: {e}", self.what),
                )
                .with_hint("check the identity's configuration (docs/storage.md lists what Ferry tries and in which order)")
            })?;
        let expires = SystemTime::UNIX_EPOCH
            + Duration::from_secs(token.expires_on.unix_timestamp().max(0) as u64);
        let life = expires.duration_since(now).unwrap_or_default();
        let credential = Arc::new(AzureCredential::BearerToken(
            token.token.secret().to_string(),
        ));
        *cached = Some(CachedToken {
            credential: credential.clone(),
            refresh_at: expires - REFRESH_BEFORE.min(life / 4),
        });
        Ok(credential)
    }
}

#[async_trait::async_trait]
impl CredentialProvider for TokenBridge {
    type Credential = AzureCredential;
    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        self.current().await.map_err(as_store_error)
    }
}

/// Service SAS tokens for one container, signed with the account key and re-signed before
/// they expire: a copy request authorised by a SAS carries it to its source too.
pub struct SignedSas {
    account: String,
    container: String,
    key: Secret,
    cached: std::sync::Mutex<Option<(Arc<AzureCredential>, SystemTime)>>,
}

impl std::fmt::Debug for SignedSas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedSas")
            .field("account", &self.account)
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

impl SignedSas {
    /// A signer for `container` of `account`.
    pub fn new(account: &str, container: &str, key: Secret) -> Self {
        SignedSas {
            account: account.to_string(),
            container: container.to_string(),
            key,
            cached: std::sync::Mutex::new(None),
        }
    }

    fn current(&self) -> Result<Arc<AzureCredential>> {
        let mut cached = self.cached.lock().expect("sas cache");
        let now = SystemTime::now();
        if let Some((c, refresh_at)) = cached.as_ref() {
            if now < *refresh_at {
                return Ok(c.clone());
            }
        }
        // Start a little in the past: clocks drift.
        let start = now - Duration::from_secs(300);
        let expiry = now + SIGNED_SAS_LIFETIME;
        let pairs = sign_container_sas(
            &self.account,
            &self.container,
            &self.key,
            "racwdl",
            start,
            expiry,
        )?;
        let credential = Arc::new(AzureCredential::SASToken(pairs));
        *cached = Some((credential.clone(), now + SIGNED_SAS_LIFETIME / 2));
        Ok(credential)
    }
}

#[async_trait::async_trait]
impl CredentialProvider for SignedSas {
    type Credential = AzureCredential;
    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        self.current().map_err(as_store_error)
    }
}

fn identity_error(what: &str, e: azure_core::Error) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!("cannot set up {what}: {e}"),
    )
}

fn static_provider(credential: AzureCredential) -> AzureCredentialProvider {
    Arc::new(StaticCredentialProvider::new(credential))
}

/// The credentials of the main client, and, when the account key is known, a provider of
/// signed SAS tokens for server-side copies.
pub struct Credentials {
    /// For every request.
    pub main: AzureCredentialProvider,
    /// For copy requests (their source must be authorised too).
    pub copy: Option<AzureCredentialProvider>,
}

/// Builds the credentials for `settings`.
pub async fn credentials_for(settings: &AzureSettings) -> Result<Credentials> {
    let bridge = |cred: Arc<dyn TokenCredential>, what: &'static str| -> AzureCredentialProvider {
        Arc::new(TokenBridge::new(cred, what))
    };
    let main: AzureCredentialProvider = match &settings.auth {
        AzureAuth::Sas(sas) => {
            sas.check_lifetime(Duration::from_secs(3600))?;
            let provider = static_provider(AzureCredential::SASToken(sas.pairs.clone()));
            // A SAS travels with copy requests to their source: copies are authorised.
            return Ok(Credentials {
                main: provider.clone(),
                copy: Some(provider),
            });
        }
        AzureAuth::AccountKey(key) => {
            let access = AzureAccessKey::try_new(key.expose()).map_err(|_| {
                Error::invalid_input("the Azure account key is not valid base64")
                    .with_hint("copy the key from the storage account's access keys page")
            })?;
            return Ok(Credentials {
                main: static_provider(AzureCredential::AccessKey(access)),
                copy: Some(Arc::new(SignedSas::new(
                    &settings.account,
                    &settings.container,
                    key.clone(),
                ))),
            });
        }
        AzureAuth::BearerToken(token) => {
            static_provider(AzureCredential::BearerToken(token.expose().to_string()))
        }
        AzureAuth::ClientSecret {
            tenant_id,
            client_id,
            secret,
        } => {
            let cred = ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                azure_core::credentials::Secret::new(secret.expose().to_string()),
                None,
            )
            .map_err(|e| identity_error("the service principal", e))?;
            bridge(cred, "the service principal (client secret)")
        }
        AzureAuth::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file,
        } => {
            let cred = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                tenant_id: Some(tenant_id.clone()),
                client_id: Some(client_id.clone()),
                token_file_path: Some(token_file.into()),
                ..Default::default()
            }))
            .map_err(|e| identity_error("workload identity", e))?;
            bridge(cred, "workload identity")
        }
        AzureAuth::ManagedIdentity { client_id } => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                ..Default::default()
            };
            let cred = ManagedIdentityCredential::new(Some(options))
                .map_err(|e| identity_error("the managed identity", e))?;
            bridge(cred, "the managed identity")
        }
        AzureAuth::AzureCli => {
            let cred = AzureCliCredential::new(None)
                .map_err(|e| identity_error("the Azure CLI credential", e))?;
            bridge(cred, "the Azure CLI (`az login`)")
        }
    };
    // Tokens: object_store authorises a copy's source with them only for encrypted accounts,
    // so copies stream instead of risking CannotVerifyCopySource.
    Ok(Credentials { main, copy: None })
}
